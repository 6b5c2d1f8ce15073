"""Through the real embedded model (GGUF via llama-cpp-python): slow, run in CI on purpose."""

import json
import os
import subprocess
import sys

import pytest

from assistant.config import Settings
from assistant.core import Assistant

from .conftest import CORPUS, REPO

pytestmark = pytest.mark.real_model

PDF = CORPUS / "lassembleuse__dinan-pcaet" / "avis-codev_pcaet_dinan_2022.pdf"


@pytest.fixture(scope="module")
def real_assistant(tmp_path_factory):
    from assistant.llm import block_real_models

    block_real_models(False)
    try:
        assistant = Assistant(Settings(data_dir=tmp_path_factory.mktemp("data"), _env_file=None))
        reports = assistant.ingest([PDF], "Dinan")
        assert reports[0].status == "indexed"
        assistant.ensure_knowledge()
        yield assistant
    finally:
        block_real_models(True)


def test_french_answer_with_verified_page_citation(real_assistant, real_models):
    answer = real_assistant.ask("Quel avis le conseil de développement donne-t-il sur le plan climat (PCAET) ?",
                                "Dinan")
    print(answer.model_dump_json(indent=1))
    assert answer.covered
    assert answer.citations, answer.flags
    for c in answer.citations:
        assert c.file in {PDF.name} or c.project == "_methode"
        passage_texts = [p.chunk.text for p in answer.passages if p.chunk.file == c.file and p.chunk.page == c.page]
        assert any(" ".join(c.quote.split()) in " ".join(t.split()) for t in passage_texts)
    # French, not English: a few very common French words must appear.
    words = set(answer.answer.lower().replace("'", " ").split())
    assert words & {"le", "la", "les", "des", "du", "de", "est"}
    assert answer.timings.first_token_ms and answer.timings.total_ms >= answer.timings.first_token_ms


def test_uncovered_question_is_refused_honestly(real_assistant, real_models):
    answer = real_assistant.ask("Combien de nuitées touristiques Dinan Agglomération a-t-elle enregistrées en 2023 ?",
                                "Dinan")
    assert not answer.covered, answer.answer
    assert "ne couvrent pas" in answer.answer


def test_doctor_json_offline(tmp_path):
    """`python -m assistant doctor --json` in a fresh data dir: exit 1 until the method is indexed, then 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_DATA_DIR=str(tmp_path / "data"), ASSISTANT_MODELS_DIR=str(REPO / "data" / "models"),
               ASSISTANT_EMBEDDINGS__CACHE_PATH=os.environ["ASSISTANT_EMBEDDINGS__CACHE_PATH"])
    cmd = [sys.executable, "-m", "assistant"]
    first = subprocess.run(cmd + ["doctor", "--json"], env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(first.stdout)
    assert first.returncode == 1 and report["knowledge"]["chunks"] == 0 and "knowledge" in report["knowledge"]["error"]
    subprocess.run(cmd + ["knowledge"], env=env, check=True, capture_output=True, timeout=600)
    second = subprocess.run(cmd + ["doctor", "--json"], env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(second.stdout)
    assert second.returncode == 0, second.stdout + second.stderr
    assert report["llm"]["ok"] and report["llm"]["provider"] == "embedded"
    assert report["llm"]["model"] == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert report["llm"]["tokens_per_s"] > 0
    assert report["embeddings"]["ok"] and report["embeddings"]["dim"] == 384
    assert report["store"]["ok"] and report["knowledge"]["chunks"] > 10
