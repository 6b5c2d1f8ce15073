"""Dense search over a project's vectors held in memory: exact cosines from one matrix product.

Why not Chroma's own query: for a territory's documents (a few thousand passages of 384 floats), multiplying the
query by every stored vector takes a fraction of a millisecond, less than one call into Chroma's HNSW index, and
it gives the exact score of any passage, including those found by BM25 only (measured on the corpus: Chroma's
query 3.3 ms plus 4.3 ms to read the vectors of BM25's candidates, against 0.3 ms here). Chroma stays the store:
the matrix is read from it, again whenever the chunk store says that the project's vectors changed. A project
larger than ``max_vectors`` passages is searched through Chroma's index, which needs no matrix in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

Scored = list[tuple[str, float]]


class DenseMatrix:
    """One project's vectors (L2-normalised, so a dot product is a cosine) with their chunk ids and files."""

    def __init__(self, ids: list[str], vectors: np.ndarray, files: list[str]) -> None:
        self.ids = ids
        self._position = {cid: i for i, cid in enumerate(ids)}
        self.files = np.asarray(files, dtype=object)
        self.vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1) if ids else None

    def top(self, query: np.ndarray, k: int, files: set[str] | None = None) -> Scored:
        """The ``k`` most similar chunks (of the given files only, if any), best first."""
        if not self.ids or k <= 0:
            return []
        sims = self.vectors @ np.asarray(query, dtype=np.float32)
        if files is not None:
            sims = np.where(np.isin(self.files, list(files)), sims, -np.inf)
        k = min(k, len(sims))
        best = np.argpartition(-sims, k - 1)[:k]
        best = best[np.argsort(-sims[best], kind="stable")]
        return [(self.ids[i], float(sims[i])) for i in best if np.isfinite(sims[i])]

    def scores(self, query: np.ndarray, ids: list[str]) -> dict[str, float]:
        """Cosine of the query to each given chunk that has a vector (chunks not yet embedded are absent)."""
        rows = [(cid, self._position[cid]) for cid in ids if cid in self._position]
        if not rows:
            return {}
        sims = self.vectors[[i for _, i in rows]] @ np.asarray(query, dtype=np.float32)
        return {cid: float(s) for (cid, _), s in zip(rows, sims)}


class DenseCache:
    """One matrix per project, read again when the project's vector revision changes."""

    def __init__(self, max_vectors: int) -> None:
        self.max_vectors = max_vectors
        self._matrices: dict[str, tuple[int, DenseMatrix | None]] = {}
        self._lock = threading.Lock()

    def get(self, project: str, revision: int, size: Callable[[], int],
            load: Callable[[], tuple[list[str], np.ndarray, list[str]]]) -> DenseMatrix | None:
        """The project's matrix, or None when it is too large to hold (the caller then asks Chroma)."""
        with self._lock:
            cached = self._matrices.get(project)
            if cached and cached[0] == revision:
                return cached[1]
        # The size comes from the chunk store, so that a project too large is never read into memory at all.
        matrix = DenseMatrix(*load()) if size() <= self.max_vectors else None
        with self._lock:
            self._matrices[project] = (revision, matrix)
        return matrix

    def drop(self, project: str) -> None:
        """Free a deleted project's matrix now rather than at its next search (which may never come)."""
        with self._lock:
            self._matrices.pop(project, None)
