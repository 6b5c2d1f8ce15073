"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by weighted reciprocal rank. Plain functions.

Why weighted RRF rather than equal weights: measured on paraphrased French questions, equal-weight RRF
ranked worse than dense alone, while lexical still rescues names, acronyms and numbers. The weights and
the coverage threshold are settings calibrated with ``python -m assistant eval``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .docstore import DocStore
from .embeddings import Embedder
from .lexical import LexicalCache
from .schemas import Passage
from .store import VectorStore

RRF_K = 60


@dataclass
class SearchResult:
    passages: list[Passage]
    best_dense: float = 0.0  # best cosine similarity among all candidates: the coverage signal
    best_lexical: float = 0.0
    per_project: dict[str, float] = field(default_factory=dict)


def fuse(dense: list[tuple[str, float]], lexical: list[tuple[str, float]], dense_weight: float,
         lexical_weight: float) -> list[tuple[str, float, int | None, int | None]]:
    """Weighted reciprocal-rank fusion → (id, score, dense rank, lexical rank), best first."""
    ranks: dict[str, list[int | None]] = {}
    for r, (cid, _) in enumerate(dense, 1):
        ranks.setdefault(cid, [None, None])[0] = r
    for r, (cid, _) in enumerate(lexical, 1):
        ranks.setdefault(cid, [None, None])[1] = r
    fused = []
    for cid, (dr, lr) in ranks.items():
        score = (dense_weight / (RRF_K + dr) if dr else 0.0) + (lexical_weight / (RRF_K + lr) if lr else 0.0)
        fused.append((cid, score, dr, lr))
    fused.sort(key=lambda t: -t[1])
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
    index = lexical.get(project, docstore.revision(project), lambda: docstore.chunks(project))
    lex = index.search(query, candidates, files)
    fused = fuse(dense, lex, dense_weight, lexical_weight)
    chunks = docstore.get([cid for cid, *_ in fused])
    # Vectors of a chunk deleted mid-operation may linger in Chroma: the chunk store is the truth.
    passages = [Passage(chunk=chunks[cid], score=score, dense_rank=dr, lexical_rank=lr)
                for cid, score, dr, lr in fused if cid in chunks]
    dense_sims = dict(dense)
    best_dense = max((dense_sims.get(p.chunk.id, 0.0) for p in passages), default=0.0)
    return SearchResult(passages=passages, best_dense=best_dense, best_lexical=lex[0][1] if lex else 0.0)


def merge(results: list[SearchResult], k: int) -> SearchResult:
    """Merge per-project results (e.g. the territory's documents and the method) by fused score."""
    passages = sorted((p for r in results for p in r.passages), key=lambda p: -p.score)
    return SearchResult(passages=dedupe(passages)[:k], best_dense=max((r.best_dense for r in results), default=0.0),
                        best_lexical=max((r.best_lexical for r in results), default=0.0))


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
