#!/usr/bin/env bash
# Installs (if needed) and starts the web assistant on http://127.0.0.1:7860 (offline, embedded models).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m assistant serve "$@"
