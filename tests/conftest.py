"""Shared fixtures. Real models are blocked unless a test asks for ``real_models``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
from assistant.config import shared_dir  # noqa: E402

SHARED = shared_dir()
CORPUS = SHARED / "corpus"
DEV_QUESTIONS = SHARED / "eval" / "dev.jsonl"
OUTPUT = REPO / "test-output"

# Offline and quiet, whatever the developer's environment says.
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
# Every test shares the assembled GGUF files (1.1 GB): assembling them per test would be wasteful.
os.environ.setdefault("ASSISTANT_MODELS_DIR", str(REPO / "data" / "models"))
for key in list(os.environ):
    if key.startswith("ASSISTANT_") and key != "ASSISTANT_MODELS_DIR":
        del os.environ[key]
# Passage vectors are shared by every test's fresh data dir: the method and the corpus files are embedded
# once per machine instead of once per test (the cache is keyed by model and exact text, so results are the same).
os.environ["ASSISTANT_EMBEDDINGS__CACHE_PATH"] = str(REPO / "data" / "test-embeddings-cache.sqlite3")

from assistant.llm import block_real_models  # noqa: E402

block_real_models(True)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    assert CORPUS.is_dir(), f"corpus introuvable : {CORPUS}"
    return CORPUS


@pytest.fixture
def real_models():
    """Allow real model loads/calls for the duration of one test."""
    block_real_models(False)
    try:
        yield
    finally:
        block_real_models(True)


@pytest.fixture
def settings(tmp_path):
    from assistant.config import Settings

    return Settings(data_dir=tmp_path / "data", _env_file=None)


@pytest.fixture(scope="session")
def e5():
    """The real embedded embedding model, loaded once (95 MB, fast, offline)."""
    from assistant.embeddings import E5Embedder

    return E5Embedder()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
