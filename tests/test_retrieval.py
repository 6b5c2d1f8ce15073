"""Hybrid retrieval: fusion of the two engines' scores, exact scores for the other engine's candidates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.core import Assistant
from assistant.dense import DenseCache, DenseMatrix
from assistant.embeddings import HashingEmbedder
from assistant.llm import FakeChat
from assistant.retrieve import fuse, is_table_of_contents, lexical_query, search_project

PROJECT = "Retrieval"

# Six short notes: each engine alone would rank them differently for the questions below.
NOTES = {
    "port.md": "# Port\n\nLe port de plaisance de Dinan accueille les bateaux de passage sur la Rance.",
    "remparts.md": "# Remparts\n\nLes remparts médiévaux entourent la vieille ville et attirent les visiteurs.",
    "velo.md": "# Vélo\n\nLa voie verte longe le canal : les cyclistes rejoignent la mer à vélo.",
    "budget.md": "# Budget\n\nLe budget du plan de déplacement atteint 12 534 200 euros sur six ans.",
    "zones.md": "# Zones d'activités\n\nLes entreprises installées sur la zone de Bel Air posent des panneaux "
                "photovoltaïques sur leurs toitures.",
    "foncier.md": "# Foncier\n\nL'observatoire du foncier mesure la consommation d'espace tous les trois ans.",
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Assistant:
    root = tmp_path_factory.mktemp("retrieval")
    docs = root / "docs"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text + "\n", encoding="utf-8")
    settings = Settings(data_dir=root / "data", knowledge_dir=root / "no-method", _env_file=None)
    a = Assistant(settings, chat=FakeChat([]), embedder=HashingEmbedder())
    reports = a.ingest([docs], PROJECT)
    assert all(r.status == "indexed" for r in reports), [r.message for r in reports]
    return a


def _search(a: Assistant, question: str, candidates: int, **options):
    return search_project(question, PROJECT, docstore=a.docstore, vectors=a.vectors, lexical=a._lexical,
                          embedder=a.embedder, candidates=candidates, dense_weight=0.35, lexical_weight=0.65,
                          **options)


def test_each_candidate_gets_the_exact_score_of_the_other_engine(indexed):
    a = indexed
    question = "entreprise photovoltaïque toiture"
    query = a.embedder.embed_query(question)
    chunks = a.docstore.chunks(PROJECT)
    files = {c.id: c.file for c in chunks}
    index = a._lexical.get(PROJECT, a.docstore.revision(PROJECT), lambda: chunks, lambda: a.docstore.titles(PROJECT))
    # The premise: each engine's own first candidate is a different note (stemming finds « entreprises »).
    [(dense_first, _)] = a.vectors.query(PROJECT, query, 1)
    [(lexical_first, _)] = index.search(question, 1)
    assert files[dense_first] != files[lexical_first] == "zones.md"
    # With one candidate per engine, the passage found by one engine only must still be scored by the other.
    result = _search(a, question, candidates=1)
    expected_cosine = {c.id: float(np.dot(a.embedder.embed_passages([_embedded_text(a, c)])[0], query))
                       for c in chunks}
    for cid, cosine in result.dense:
        assert cosine == pytest.approx(expected_cosine[cid], abs=1e-5)
    every = dict(index.search(question, len(chunks)))
    for cid, score in result.lexical:
        assert score == pytest.approx(every[cid], rel=1e-6)
    # Every candidate has both scores, so both ranks are known.
    found = {cid for cid, _ in result.dense} | {cid for cid, _ in result.lexical}
    assert {cid for cid, _ in result.dense} == found, "a lexical-only candidate has no cosine"
    assert all(p.dense_rank is not None for p in result.passages)
    assert result.passages[0].chunk.file == "zones.md"


def test_lexical_scores_of_given_chunks_match_a_full_search(indexed):
    a = indexed
    chunks = a.docstore.chunks(PROJECT)
    index = a._lexical.get(PROJECT, a.docstore.revision(PROJECT), lambda: chunks, lambda: a.docstore.titles(PROJECT))
    full = dict(index.search("budget du plan de déplacement", len(chunks)))
    some = index.scores("budget du plan de déplacement", list(full) + ["inconnu"])
    assert set(some) == set(full) and "inconnu" not in some
    assert all(some[cid] == pytest.approx(full[cid], rel=1e-6) for cid in full)
    assert index.scores("le la les", [chunks[0].id]) == {chunks[0].id: 0.0}  # stop-words only


def test_similarities_skip_chunks_without_a_vector(indexed):
    a = indexed
    ids = [c.id for c in a.docstore.chunks(PROJECT)]
    vector = a.embedder.embed_query("remparts")
    sims = a.vectors.similarities(PROJECT, ids + ["absent"], vector)
    assert set(sims) == set(ids)
    assert max(sims, key=sims.get) == next(c.id for c in a.docstore.chunks(PROJECT) if c.file == "remparts.md")
    assert a.vectors.similarities(PROJECT, [], vector) == {}


def test_vectors_in_memory_give_the_same_passages_as_chroma(indexed):
    a = indexed
    for question in ("entreprise photovoltaïque toiture", "port de plaisance sur la Rance", "budget du plan"):
        for files in (None, {"port.md", "budget.md"}):
            # Every note is a candidate: the hashing embedder gives many equal cosines, whose order is arbitrary.
            from_chroma = _search(a, question, candidates=len(NOTES), files=files)
            in_memory = _search(a, question, candidates=len(NOTES), files=files, in_memory=DenseCache(1000))
            assert {p.chunk.id: p.score for p in in_memory.passages} == pytest.approx(
                {p.chunk.id: p.score for p in from_chroma.passages})
            assert dict(in_memory.dense) == pytest.approx(dict(from_chroma.dense))
            assert files is None or {p.chunk.file for p in in_memory.passages} <= files


def test_vectors_in_memory_follow_ingestion_and_forgetting(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "port.md").write_text(NOTES["port.md"] + "\n", encoding="utf-8")
    a = Assistant(Settings(data_dir=tmp_path / "data", knowledge_dir=tmp_path / "no-method", _env_file=None),
                  chat=FakeChat([]), embedder=HashingEmbedder())
    a.ingest([docs], PROJECT)
    before = a.docstore.vector_revision(PROJECT)
    assert {p.chunk.file for p in a.search("remparts médiévaux", PROJECT).passages} == {"port.md"}
    # A new file is searchable by its words before it has vectors, and by its vectors once they are stored: the
    # matrix is re-read at each stage, not kept from an earlier search.
    (docs / "remparts.md").write_text(NOTES["remparts.md"] + "\n", encoding="utf-8")
    a.ingest([docs / "remparts.md"], PROJECT, embed=False)
    result = a.search("remparts médiévaux", PROJECT)
    assert result.passages[0].chunk.file == "remparts.md" and result.passages[0].dense_rank is None
    a.embed_pending(PROJECT)
    assert a.docstore.vector_revision(PROJECT) > before
    result = a.search("remparts médiévaux", PROJECT)
    assert result.passages[0].chunk.file == "remparts.md" and result.passages[0].dense_rank == 1
    a.forget(PROJECT, "remparts.md")
    assert {p.chunk.file for p in a.search("remparts médiévaux", PROJECT).passages} == {"port.md"}
    assert PROJECT in a._dense._matrices
    a.delete_project(PROJECT, files=False)
    assert PROJECT not in a._dense._matrices and a.search("remparts médiévaux", PROJECT).passages == []


def test_a_project_too_large_for_memory_is_searched_through_chroma(indexed):
    a = indexed
    cache = DenseCache(max_vectors=2)
    loads = []
    matrix = cache.get(PROJECT, 1, lambda: a.docstore.count(PROJECT), lambda: loads.append(1) or a.vectors.all(PROJECT))
    assert matrix is None and not loads, "six passages exceed a limit of two: nothing is read into memory"
    result = _search(a, "remparts médiévaux", candidates=3, in_memory=cache)
    assert result.passages[0].chunk.file == "remparts.md"


def test_dense_matrix_top_and_scores():
    vectors = np.eye(3, dtype=np.float32)
    matrix = DenseMatrix(["a", "b", "c"], vectors, ["x.md", "y.md", "y.md"])
    query = np.array([0.1, 0.7, 0.2], dtype=np.float32)
    assert [cid for cid, _ in matrix.top(query, 2)] == ["b", "c"]
    assert [cid for cid, _ in matrix.top(query, 5, {"x.md"})] == ["a"]
    assert matrix.scores(query, ["c", "absent"]) == {"c": pytest.approx(0.2)}
    assert DenseMatrix([], np.zeros((0, 0)), []).top(query, 3) == []


def test_fusion_weights_and_floors():
    dense = [("a", 0.90), ("b", 0.85), ("c", 0.80)]
    lexical = [("c", 12.0), ("d", 3.0)]
    fused = {cid: (score, dr, lr) for cid, score, dr, lr in fuse(dense, lexical, 0.0, 1.0)}
    # Lexical weight only: "c" first; "a" and "b" get the lexical floor (score 0, below "d").
    order = [cid for cid, *_ in fuse(dense, lexical, 0.0, 1.0)]
    assert order[:2] == ["c", "d"] and fused["a"][0] == fused["b"][0] < fused["d"][0]
    assert fused["c"][1:] == (3, 1) and fused["d"][1:] == (None, 2)
    order = [cid for cid, *_ in fuse(dense, lexical, 1.0, 0.0)]
    assert order[0] == "a"
    with pytest.raises(ValueError):
        fuse(dense, lexical, 0.0, 0.0)


def test_a_long_quoted_title_is_left_to_the_dense_query(indexed):
    question = "Qui a élaboré le guide « Éviter, réduire et compenser l'imperméabilisation nouvelle des sols » ?"
    assert lexical_query(question).split() == ["Qui", "a", "élaboré", "le", "guide", "?"]
    short = "Quelle agence a conçu la marque « Dinan-Cap Fréhel » ?"
    assert lexical_query(short) == short  # a name, not a title: BM25 needs it
    alone = "« Éviter, réduire et compenser l'imperméabilisation » ?"
    assert lexical_query(alone) == alone  # nothing else to search with
    # In a search, BM25 ranks by what is asked (the budget), not by the words of the quoted title (the remparts).
    a = indexed
    result = _search(a, "Quel budget dans la note « Les remparts médiévaux de la vieille ville » ?", candidates=3)
    files = {c.id: c.file for c in a.docstore.chunks(PROJECT)}
    assert [files[cid] for cid, _ in result.lexical][:1] == ["budget.md"]
    assert "remparts.md" not in {files[cid] for cid, _ in result.lexical}


def test_table_of_contents_is_recognised():
    toc = "Sommaire\n1. Objectif ........ 3\n2. Méthode ........ 5\n3. Annexes ........ 9\n"
    assert is_table_of_contents(toc)
    assert not is_table_of_contents("Le port de Dinan... accueille des bateaux. Voir la page 3.")


def _embedded_text(a: Assistant, chunk) -> str:
    from assistant.ingest import search_text

    return search_text(chunk, a.docstore.titles(PROJECT).get(chunk.file))
