"""Lexical search: the only importer of bm25s and PyStemmer. BM25 with French stemming and stop-words.

Lexical search catches what embeddings blur: names, acronyms (PCAET, SRADDET), numbers and codes. An index
is rebuilt in memory from the chunk store when the project's revision changes (a few hundred ms for the
whole corpus), so text is searchable as soon as it is extracted.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable

import bm25s
import Stemmer
from bm25s.stopwords import STOPWORDS_FRENCH

from .ingest import search_text
from .schemas import Chunk

_stemmer = Stemmer.Stemmer("french")
# Accent-folded stop-words too, since users type without accents as often as with.
# Interrogatives too: every question has one and documents rarely do, so they only matched commentary that asks
# questions (measured on dev.jsonl: better MRR, same recall).
_QUESTION_WORDS = {"quel", "quels", "quelle", "quelles", "lequel", "laquelle", "lesquels", "lesquelles", "comment",
                   "combien", "pourquoi", "quand"}
_STOPWORDS = sorted(set(STOPWORDS_FRENCH) | _QUESTION_WORDS | {
    unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode() for w in STOPWORDS_FRENCH})


def _normalise(text: str) -> str:
    # Fold accents after lowercasing: "Économie" and "economie" must meet; elisions (l', d') split off.
    text = text.lower().replace("’", " ").replace("'", " ")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def tokenize(texts: list[str], *, ids: bool = True):
    """Token ids and vocabulary (the form bm25s indexes), or with ``ids=False`` one list of stems per text."""
    return bm25s.tokenize([_normalise(t) for t in texts], stopwords=_STOPWORDS, stemmer=_stemmer.stemWords,
                          show_progress=False, token_pattern=r"(?u)\b\w+\b", return_ids=ids)


class LexicalIndex:
    def __init__(self, chunks: list[Chunk], titles: dict[str, str] | None = None) -> None:
        self.ids = [c.id for c in chunks]
        # The chunks themselves, at the revision the index was built for: a search reads its passages from here
        # rather than from SQLite (1.6 ms of a 4 ms search on the corpus).
        self.chunks = {c.id: c for c in chunks}
        self._position = {cid: i for i, cid in enumerate(self.ids)}
        self.files = [c.file for c in chunks]
        self._retriever = bm25s.BM25()
        if chunks:
            titles = titles or {}
            self._retriever.index(tokenize([_index_text(c, titles.get(c.file)) for c in chunks]), show_progress=False)

    def search(self, query: str, k: int, files: set[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; scores of 0 (no shared term) are dropped."""
        if not self.ids:
            return []
        tokens = tokenize([query])
        if not tokens.vocab:
            return []
        mask = None
        if files is not None:
            import numpy as np
            mask = np.array([f in files for f in self.files], dtype=float)
        docs, scores = self._retriever.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False,
                                                weight_mask=mask)
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def scores(self, query: str, ids: list[str]) -> dict[str, float]:
        """Exact BM25 score of the given chunks (those found by the other engine below this one's cut)."""
        wanted = [cid for cid in ids if cid in self._position]
        if not wanted:
            return {}
        tokens = [t for t in tokenize([query], ids=False)[0] if t in self._retriever.vocab_dict]
        if not tokens:
            return {cid: 0.0 for cid in wanted}
        every = self._retriever.get_scores(tokens)
        return {cid: float(every[self._position[cid]]) for cid in wanted}


def _index_text(chunk: Chunk, title: str | None = None) -> str:
    # The file name, document title and section carry words users search for ("fiche 29", "tourisme durable").
    return " ".join([chunk.file.rsplit(".", 1)[0].replace("_", " "), search_text(chunk, title)])


class LexicalCache:
    """One index per project, rebuilt when the chunk store's revision for that project changes."""

    def __init__(self) -> None:
        self._indexes: dict[str, tuple[int, LexicalIndex]] = {}
        self._lock = threading.Lock()

    def get(self, project: str, revision: int, load: Callable[[], list[Chunk]],
            titles: Callable[[], dict[str, str]] | None = None) -> LexicalIndex:
        with self._lock:
            cached = self._indexes.get(project)
            if cached and cached[0] == revision:
                return cached[1]
        index = LexicalIndex(load(), titles() if titles else None)
        with self._lock:
            self._indexes[project] = (revision, index)
        return index
