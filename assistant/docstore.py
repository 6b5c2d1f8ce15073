"""The chunk store (SQLite, stdlib): source of truth for documents, chunk text and provenance.

Why a separate store next to Chroma: text is searchable (BM25) the moment it is extracted, while dense
embedding (~7 passages/s on 2 cores) completes afterwards; SQLite transactions make a file's replacement
atomic, so a kill mid-ingestion leaves either the old or the new version, and ``pending`` lets ingestion
resume. Chroma only holds vectors keyed by chunk id.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from .errors import StoreError
from .schemas import Chunk, DocumentRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    project TEXT NOT NULL, file TEXT NOT NULL, doc_type TEXT NOT NULL, content_hash TEXT NOT NULL,
    pages INTEGER NOT NULL, chunks INTEGER NOT NULL, ingested_at TEXT NOT NULL, title TEXT,
    empty_pages TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (project, file));
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, project TEXT NOT NULL, file TEXT NOT NULL, doc_type TEXT NOT NULL,
    page INTEGER, section TEXT, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    content_hash TEXT NOT NULL, ingested_at TEXT NOT NULL, embedded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks(project, file);
CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(project, embedded);
CREATE TABLE IF NOT EXISTS revisions (project TEXT PRIMARY KEY, rev INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vector_revisions (project TEXT PRIMARY KEY, rev INTEGER NOT NULL);
"""

_COLUMNS = "id, project, file, doc_type, page, section, start, \"end\", text, content_hash, ingested_at"


class DocStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            self._migrate()
        except sqlite3.Error as e:
            raise StoreError(f"Impossible d'ouvrir la base des documents {self.path} : {e}",
                             fix="vérifiez les droits d'écriture sur le dossier de données (ASSISTANT_DATA_DIR)") from e
        self._lock = threading.RLock()

    def _migrate(self) -> None:
        """Add what later versions store to a base created by an earlier one (data is kept)."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(documents)")}
        if "pipeline" not in columns:  # 1 = the chunking before section packing
            self._conn.execute("ALTER TABLE documents ADD COLUMN pipeline INTEGER NOT NULL DEFAULT 1")

    def _tx(self):
        return _Transaction(self)

    # -- writes -----------------------------------------------------------------------------------
    def replace_document(self, record: DocumentRecord, chunks: list[Chunk], *, title: str | None = None,
                         empty_pages: Iterable[int] = (), pipeline: int = 1) -> None:
        """Atomically replace every chunk of (project, file) by ``chunks``."""
        with self._tx() as cur:
            cur.execute("DELETE FROM chunks WHERE project=? AND file=?", (record.project, record.file))
            cur.executemany(
                f"INSERT OR REPLACE INTO chunks ({_COLUMNS}, embedded) VALUES (?,?,?,?,?,?,?,?,?,?,?,0)",
                [(c.id, c.project, c.file, c.doc_type, c.page, c.section, c.start, c.end, c.text,
                  c.content_hash, c.ingested_at) for c in chunks])
            cur.execute(
                "INSERT OR REPLACE INTO documents (project, file, doc_type, content_hash, pages, chunks, ingested_at, "
                "title, empty_pages, pipeline) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (record.project, record.file, record.doc_type, record.content_hash, record.pages, len(chunks),
                 record.ingested_at, title, json.dumps(list(empty_pages)), pipeline))
            self._bump(cur, record.project)

    def mark_embedded(self, project: str, ids: list[str]) -> None:
        with self._tx() as cur:
            cur.executemany("UPDATE chunks SET embedded=1 WHERE id=?", [(i,) for i in ids])
            self._bump(cur, project, table="vector_revisions")

    def mark_pending(self, project: str, ids: list[str]) -> None:
        """Vectors lost on the vector store's side: embed these chunks again."""
        with self._tx() as cur:
            cur.executemany("UPDATE chunks SET embedded=0 WHERE id=?", [(i,) for i in ids])
            self._bump(cur, project, table="vector_revisions")

    def delete_document(self, project: str, file: str) -> int:
        with self._tx() as cur:
            n = cur.execute("DELETE FROM chunks WHERE project=? AND file=?", (project, file)).rowcount
            cur.execute("DELETE FROM documents WHERE project=? AND file=?", (project, file))
            self._bump(cur, project)
        return n

    def delete_project(self, project: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM chunks WHERE project=?", (project,))
            cur.execute("DELETE FROM documents WHERE project=?", (project,))
            self._bump(cur, project)

    @staticmethod
    def _bump(cur: sqlite3.Cursor, project: str, table: str = "") -> None:
        """A change of the project's chunks changes its vectors too; marking vectors done changes only those."""
        for name in [table] if table else ["revisions", "vector_revisions"]:
            cur.execute(f"INSERT INTO {name} VALUES (?,1) ON CONFLICT(project) DO UPDATE SET rev=rev+1", (project,))

    # -- reads ------------------------------------------------------------------------------------
    def revision(self, project: str) -> int:
        """Changes whenever the project's chunks change (the lexical index is rebuilt on it)."""
        row = self._conn.execute("SELECT rev FROM revisions WHERE project=?", (project,)).fetchone()
        return row[0] if row else 0

    def vector_revision(self, project: str) -> int:
        """Changes whenever the set of the project's embedded chunks may have changed (the dense matrix is re-read)."""
        row = self._conn.execute("SELECT rev FROM vector_revisions WHERE project=?", (project,)).fetchone()
        return row[0] if row else 0

    def document(self, project: str, file: str) -> DocumentRecord | None:
        rows = self._documents("AND d.file=?", (project, file))
        return rows[0] if rows else None

    def pipeline(self, project: str, file: str) -> int | None:
        """Version of the reading/chunking pipeline that indexed this file (None: not indexed)."""
        with self._lock:
            row = self._conn.execute("SELECT pipeline FROM documents WHERE project=? AND file=?",
                                     (project, file)).fetchone()
        return row[0] if row else None

    def mentions(self, projects: list[str], pattern: str, confirm: re.Pattern | None = None) -> bool:
        """Whether any chunk (or document title or name) of ``projects`` matches the SQL LIKE ``pattern`` (and,
        if given, the regular expression ``confirm``, checked on the rows that LIKE found)."""
        marks = ",".join("?" * len(projects))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT text FROM chunks WHERE project IN ({marks}) AND text LIKE ? UNION ALL "
                f"SELECT COALESCE(title, '') || ' ' || file FROM documents WHERE project IN ({marks}) "
                f"AND (title LIKE ? OR file LIKE ?)",
                (*projects, pattern, *projects, pattern, pattern))
            return any(confirm is None or confirm.search(text) for (text,) in rows)

    def documents(self, project: str) -> list[DocumentRecord]:
        return self._documents("", (project,))

    def _documents(self, extra_where: str, args: tuple) -> list[DocumentRecord]:
        # embedded = every chunk of the file has its vector (MIN over the 0/1 flags).
        sql = ("SELECT d.project, d.file, d.doc_type, d.content_hash, d.pages, d.chunks, d.ingested_at, "
               "COALESCE(MIN(c.embedded), 1) FROM documents d LEFT JOIN chunks c "
               f"ON c.project=d.project AND c.file=d.file WHERE d.project=? {extra_where} "
               "GROUP BY d.project, d.file ORDER BY d.file")
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [DocumentRecord(project=r[0], file=r[1], doc_type=r[2], content_hash=r[3], pages=r[4], chunks=r[5],
                               ingested_at=r[6], embedded=bool(r[7])) for r in rows]

    def titles(self, project: str) -> dict[str, str]:
        """File name → document title: the context that search adds to each chunk (a section alone is ambiguous)."""
        with self._lock:
            rows = self._conn.execute("SELECT file, title FROM documents WHERE project=?", (project,)).fetchall()
        return {file: title for file, title in rows if title}

    def projects(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT DISTINCT project FROM documents ORDER BY project")]

    def chunks(self, project: str) -> list[Chunk]:
        return self._chunks("WHERE project=? ORDER BY file, page, start", (project,))

    def get(self, ids: list[str]) -> dict[str, Chunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {c.id: c for c in self._chunks(f"WHERE id IN ({marks})", tuple(ids))}

    def pending_ids(self, project: str) -> list[str]:
        """Ids of the chunks without a vector, in document order (ids only: cheap for a large project)."""
        with self._lock:
            return [r[0] for r in self._conn.execute(
                "SELECT id FROM chunks WHERE project=? AND embedded=0 ORDER BY file, page, start", (project,))]

    def pending_count(self, project: str | None = None) -> int:
        sql, args = "SELECT COUNT(*) FROM chunks WHERE embedded=0", ()
        if project is not None:
            sql, args = sql + " AND project=?", (project,)
        with self._lock:
            return self._conn.execute(sql, args).fetchone()[0]

    def chunk_ids(self, project: str) -> set[str]:
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT id FROM chunks WHERE project=?", (project,))}

    def embedded_ids(self, project: str) -> set[str]:
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT id FROM chunks WHERE project=? AND embedded=1",
                                                     (project,))}

    def count(self, project: str) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM chunks WHERE project=?", (project,)).fetchone()[0]

    def _chunks(self, where: str, args: tuple) -> list[Chunk]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM chunks {where}", args).fetchall()
        keys = ["id", "project", "file", "doc_type", "page", "section", "start", "end", "text", "content_hash",
                "ingested_at"]
        return [Chunk(**dict(zip(keys, r))) for r in rows]

    def close(self) -> None:
        self._conn.close()


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT under the store lock; rolls back on any error."""

    def __init__(self, store: DocStore) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Cursor:
        self.store._lock.acquire()
        self.cur = self.store._conn.cursor()
        self.cur.execute("BEGIN IMMEDIATE")
        return self.cur

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.cur.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store._lock.release()
