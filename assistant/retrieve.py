"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by a score-normalised convex combination. Plain functions.

Why this fusion (measured with ``bench/calibrate_retrieval.py`` on ``../shared/eval/dev.jsonl``, see
``bench/README.md``): reciprocal-rank fusion computed per project gave the method's best passage the same score
as the territory's best, whatever their similarities, so the method took about half of the five slots; and RRF
throws away how much better the first candidate is than the next, which is what BM25 knows about names,
acronyms and numbers. Here the cosine similarities are min-max normalised and the BM25 scores divided by their
maximum, over the candidates of every searched project together, then mixed with the configured weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    """Convex combination of normalised scores → (id, score in [0, 1], dense rank, lexical rank), best first.

    A candidate found by one engine only gets the other's floor: the lowest listed cosine (it ranked below every
    dense candidate) or a BM25 score of 0 (no shared term, or below the lexical cut).
    """
    total = dense_weight + lexical_weight
    if total <= 0:
        raise ValueError("dense_weight + lexical_weight must be positive")
    wd, wl = dense_weight / total, lexical_weight / total
    dense = sorted(dense, key=lambda t: -t[1])
    lexical = sorted(lexical, key=lambda t: -t[1])
    d_rank = {cid: r for r, (cid, _) in enumerate(dense, 1)}
    l_rank = {cid: r for r, (cid, _) in enumerate(lexical, 1)}
    d_score, l_score = dict(dense), dict(lexical)
    d_max = dense[0][1] if dense else 0.0
    d_min = dense[-1][1] if dense else 0.0
    l_max = lexical[0][1] if lexical else 0.0
    fused = []
    for cid in d_rank | l_rank:
        d = (d_score.get(cid, d_min) - d_min) / (d_max - d_min) if d_max > d_min else float(cid in d_score)
        lex = l_score.get(cid, 0.0) / l_max if l_max > 0 else 0.0
        fused.append((cid, wd * d + wl * lex, d_rank.get(cid), l_rank.get(cid)))
    fused.sort(key=lambda t: (-t[1], t[2] or 1_000_000))
    return fused


def search_project(query: str, project: str, *, docstore: DocStore, vectors: VectorStore, lexical: LexicalCache,
                   embedder: Embedder, candidates: int, dense_weight: float, lexical_weight: float,
                   files: set[str] | None = None, query_vector=None) -> SearchResult:
    where = None
    if files:
        where = {"file": {"$in": sorted(files)}} if len(files) > 1 else {"file": next(iter(files))}
    if query_vector is None:
        query_vector = embedder.embed_query(query)
    dense = vectors.query(project, query_vector, candidates, where)
    index = lexical.get(project, docstore.revision(project), lambda: docstore.chunks(project),
                        lambda: docstore.titles(project))
    lex = index.search(query, candidates, files)
    # Vectors of a chunk deleted mid-operation may linger in Chroma: the chunk store is the truth.
    chunks = docstore.get(list({cid for cid, _ in dense} | {cid for cid, _ in lex}))
    dense = [(cid, s) for cid, s in dense if cid in chunks]
    lex = [(cid, s) for cid, s in lex if cid in chunks]
    result = SearchResult(passages=[], best_dense=max((s for _, s in dense), default=0.0),
                          best_lexical=lex[0][1] if lex else 0.0, per_project={project: 0.0}, dense=dense,
                          lexical=lex, chunks=chunks, weights=(dense_weight, lexical_weight))
    result.per_project[project] = result.best_dense
    result.passages = _passages(result)
    return result


def _passages(result: SearchResult) -> list[Passage]:
    fused = fuse(result.dense, result.lexical, *result.weights)
    return [Passage(chunk=result.chunks[cid], score=round(score, 6), dense_rank=dr, lexical_rank=lr)
            for cid, score, dr, lr in fused]


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
