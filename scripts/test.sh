#!/usr/bin/env bash
# Installs (if needed) and runs the whole test suite, real model, loopback server and browser tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
