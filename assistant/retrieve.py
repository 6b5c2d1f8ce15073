"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by a score-normalised convex combination. Plain functions.

Why this fusion (measured with ``bench/calibrate_retrieval.py`` on ``../shared/eval/dev.jsonl``, see
``bench/README.md``): reciprocal-rank fusion computed per project gave the method's best passage the same score
as the territory's best, whatever their similarities, so the method took about half of the five slots; and RRF
throws away how much better the first candidate is than the next, which is what BM25 knows about names,
acronyms and numbers. Here both engines' scores are standardised (z-scores) over the candidates of every searched
project together, then mixed with the configured weights.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .dense import DenseCache
from .docstore import DocStore
from .embeddings import Embedder
from .lexical import LexicalCache
from .schemas import Chunk, Passage
from .store import VectorStore

Scored = list[tuple[str, float]]  # (chunk id, raw score) best first


@dataclass
class SearchResult:
    passages: list[Passage]
    best_dense: float = 0.0  # best cosine similarity among all candidates: the coverage signal
    best_lexical: float = 0.0
    per_project: dict[str, float] = field(default_factory=dict)
    # Raw candidates, kept so that several projects (the territory and the method) are fused on one scale.
    dense: Scored = field(default_factory=list, repr=False)
    lexical: Scored = field(default_factory=list, repr=False)
    chunks: dict[str, Chunk] = field(default_factory=dict, repr=False)
    weights: tuple[float, float] = (1.0, 1.0)


def fuse(dense: Scored, lexical: Scored, dense_weight: float, lexical_weight: float
         ) -> list[tuple[str, float, int | None, int | None]]:
    """Weighted sum of z-scores → (id, score, dense rank, lexical rank), best first.

    Each engine's scores are standardised over its own candidates (cosines of e5 crowd into 0.80–0.92 while
    BM25 spans 0–40: raw values cannot be added, and ranks alone forget by how much the first one leads).
    A candidate found by one engine only gets that engine's floor: its lowest listed cosine (it ranked below
    every dense candidate), or a BM25 score of 0 (no shared term, or below the lexical cut).
    """
    total = dense_weight + lexical_weight
    if total <= 0:
        raise ValueError("dense_weight + lexical_weight must be positive")
    wd, wl = dense_weight / total, lexical_weight / total
    dense = sorted(dense, key=lambda t: -t[1])
    lexical = sorted(lexical, key=lambda t: -t[1])
    d_rank = {cid: r for r, (cid, _) in enumerate(dense, 1)}
    l_rank = {cid: r for r, (cid, _) in enumerate(lexical, 1)}
    d_z, d_floor = _zscores(dense, floor=dense[-1][1] if dense else 0.0)
    l_z, l_floor = _zscores(lexical, floor=0.0)
    fused = [(cid, wd * d_z.get(cid, d_floor) + wl * l_z.get(cid, l_floor), d_rank.get(cid), l_rank.get(cid))
             for cid in d_rank | l_rank]
    fused.sort(key=lambda t: (-t[1], t[2] or 1_000_000))
    return fused


def _zscores(scored: Scored, floor: float) -> tuple[dict[str, float], float]:
    """(id → z-score, z-score of ``floor``); a list of one, or of equal scores, has unit spread."""
    if not scored:
        return {}, 0.0
    values = [s for _, s in scored]
    mean = sum(values) / len(values)
    # Plain floats: statistics.pstdev works in exact fractions, which cost more than the rest of the fusion.
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
    return {cid: (s - mean) / spread for cid, s in scored}, (floor - mean) / spread


def search_project(query: str, project: str, *, docstore: DocStore, vectors: VectorStore, lexical: LexicalCache,
                   embedder: Embedder, candidates: int, dense_weight: float, lexical_weight: float,
                   files: set[str] | None = None, query_vector=None,
                   in_memory: DenseCache | None = None) -> SearchResult:
    """Search one project; ``in_memory`` holds its vectors as a matrix (else Chroma's index is queried)."""
    if query_vector is None:
        query_vector = embedder.embed_query(query)
    matrix = None
    if in_memory is not None:
        matrix = in_memory.get(project, docstore.vector_revision(project), lambda: docstore.count(project),
                               lambda: vectors.all(project))
    if matrix is not None:
        dense = matrix.top(query_vector, candidates, files)
    else:
        where = None
        if files:
            where = {"file": {"$in": sorted(files)}} if len(files) > 1 else {"file": next(iter(files))}
        dense = vectors.query(project, query_vector, candidates, where)
    index = lexical.get(project, docstore.revision(project), lambda: docstore.chunks(project),
                        lambda: docstore.titles(project))
    words = lexical_query(query)
    lex = index.search(words, candidates, files)
    # A candidate of one engine gets its exact score from the other one, not a floor: a passage ranked 6th by BM25
    # and 60th by the embeddings is not one that the embeddings found dissimilar. Measured on dev.jsonl: recall@5
    # unchanged, recall@10 0.846 → 0.897 with the method; without it recall@1 0.641 → 0.590 (two questions 1 → 2).
    # Kept because a floor is a wrong score; costs a few rows of the matrix (or one Chroma get by ids).
    found_dense, found_lexical = {cid for cid, _ in dense}, {cid for cid, _ in lex}
    missing = list(found_lexical - found_dense)
    dense += list((matrix.scores(query_vector, missing) if matrix is not None
                   else vectors.similarities(project, missing, query_vector)).items())
    lex += [(cid, s) for cid, s in index.scores(words, list(found_dense - found_lexical)).items() if s > 0]
    # Vectors of a chunk deleted mid-operation may linger in Chroma: the chunk store (here as the lexical index
    # built at its current revision) is the truth.
    chunks = {cid: index.chunks[cid] for cid in found_dense | found_lexical if cid in index.chunks}
    dense = [(cid, s) for cid, s in dense if cid in chunks]
    lex = [(cid, s) for cid, s in lex if cid in chunks]
    result = SearchResult(passages=[], best_dense=max((s for _, s in dense), default=0.0),
                          best_lexical=lex[0][1] if lex else 0.0, per_project={project: 0.0}, dense=dense,
                          lexical=lex, chunks=chunks, weights=(dense_weight, lexical_weight))
    result.per_project[project] = result.best_dense
    result.passages = _passages(result)
    return result


_QUOTED = re.compile(r"«\s*([^«»]+?)\s*»|\"([^\"]+)\"")


def lexical_query(question: str) -> str:
    """The question as BM25 reads it: without a quoted title of four words or more.

    « Qui a élaboré le guide « Éviter, réduire et compenser l'imperméabilisation nouvelle des sols » ? »: the title
    names a document, not what is asked of it, and its words occur on every page of that guide and of its summary,
    drowning « élaboré ». The dense query keeps the whole question; short quoted names (« Dinan-Cap Fréhel ») stay.
    """
    stripped = _QUOTED.sub(lambda m: " " if len((m.group(1) or m.group(2)).split()) >= 4 else m.group(0), question)
    return stripped if len(re.findall(r"\w{3,}", stripped)) >= 2 else question


# A table of contents names every topic of a document and answers none: it matches questions on both engines
# (measured: the guide's contents page was first for 2 dev questions whose answer was 15–20 ranks lower).
_LEADERS = re.compile(r"(?:\.\s?){5,}|…{2,}|(?:_\s?){5,}")
TOC_PENALTY = 1.0  # in z-score units of the fused score


def is_table_of_contents(text: str) -> bool:
    # Cheap test first: the regex runs on every candidate of every query, and most passages have no leaders.
    if not any(mark in text for mark in (".....", ". . . . .", "……", "_____", "_ _ _ _ _")):
        return False
    return len(_LEADERS.findall(text)) >= 3


def _passages(result: SearchResult) -> list[Passage]:
    fused = fuse(result.dense, result.lexical, *result.weights)
    scored = [(cid, score - (TOC_PENALTY if is_table_of_contents(result.chunks[cid].text) else 0.0), dr, lr)
              for cid, score, dr, lr in fused]
    scored.sort(key=lambda t: (-t[1], t[2] or 1_000_000))
    return [Passage(chunk=result.chunks[cid], score=round(score, 6), dense_rank=dr, lexical_rank=lr)
            for cid, score, dr, lr in scored]


def merge(results: list[SearchResult], k: int) -> SearchResult:
    """Fuse the candidates of several projects (e.g. the territory's documents and the method) on one scale."""
    merged = SearchResult(
        passages=[], best_dense=max((r.best_dense for r in results), default=0.0),
        best_lexical=max((r.best_lexical for r in results), default=0.0),
        per_project={p: s for r in results for p, s in r.per_project.items()},
        dense=[x for r in results for x in r.dense], lexical=[x for r in results for x in r.lexical],
        chunks={cid: c for r in results for cid, c in r.chunks.items()},
        weights=results[0].weights if results else (1.0, 1.0))
    merged.passages = dedupe(_passages(merged) if len(results) != 1 else results[0].passages)[:k]
    return merged


def dedupe(passages: list[Passage]) -> list[Passage]:
    """Drop near-identical passages (same text in two files, e.g. a guide and its summary) keeping the best."""
    seen: set[str] = set()
    out = []
    for p in passages:
        key = dedupe_key(p.chunk.text)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def dedupe_key(text: str) -> str:
    return " ".join(text.split())[:200].lower()
