#!/usr/bin/env bash
# Installs Tempera and what it needs, then opens the editor (any arguments go to main.py).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e . -c constraints.txt
exec python3 main.py "$@"
