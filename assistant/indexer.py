"""Indexing pipeline: files → parsed pages → chunks in the chunk store (searchable) → vectors (embedded).

Two phases on purpose: text is committed first (lexical search works at once), vectors follow. Both
phases are idempotent, so a killed ingestion resumes by simply running again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

from .docstore import DocStore
from .embeddings import Embedder
from .errors import DocumentError
from .ingest import IngestLimits, chunk_document, parse_file
from .schemas import DocumentRecord, FileReport
from .store import VectorStore

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".pdf", ".md", ".markdown", ".html", ".htm", ".txt", ".docx", ".odt", ".csv"}

Progress = Callable[[str, int, int], None]  # (label, done, total)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders walked recursively (supported extensions only, hidden files skipped)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES
                              and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        else:
            out.append(p)
    return out


def index_file(path: Path, project: str, docstore: DocStore, limits: IngestLimits,
               display_name: str | None = None) -> FileReport:
    """Phase 1 for one file: parse, chunk, replace its chunks atomically. Never raises for a bad file."""
    name = display_name or path.name
    if not path.exists():
        return FileReport(file=name, status="refused",
                          message=f"« {name} » : fichier introuvable — vérifiez le chemin.")
    try:
        doc = parse_file(path, limits)
    except DocumentError as e:
        return FileReport(file=name, status="refused", message=e.user_message)
    except Exception as e:  # a reader bug must not stop a batch; say which file, keep the rest
        log.exception("lecture impossible de %s", name)
        return FileReport(file=name, status="refused",
                          message=f"« {name} » : lecture impossible ({type(e).__name__}) — vérifiez que le fichier "
                                  "s'ouvre dans sa propre application, puis réessayez.")
    doc.file = name
    existing = docstore.document(project, name)
    if existing and existing.content_hash == doc.sha256:
        return FileReport(file=name, status="unchanged", chunks=existing.chunks, pages=existing.pages,
                          message=f"« {name} » : déjà indexé, inchangé.")
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    chunks = chunk_document(doc, project, ingested_at=now)
    if not chunks:
        return FileReport(file=name, status="refused",
                          message=f"« {name} » : aucun texte exploitable — fournissez une version texte du document.")
    record = DocumentRecord(project=project, file=name, doc_type=doc.doc_type, content_hash=doc.sha256,
                            pages=doc.page_count, chunks=len(chunks), ingested_at=now, embedded=False)
    docstore.replace_document(record, chunks, title=doc.title, empty_pages=doc.empty_pages)
    message = f"« {name} » : {len(chunks)} passages indexés"
    if doc.empty_pages:
        message += (f" ; pages sans texte ignorées : {_ranges(doc.empty_pages)} "
                    "(pages blanches, ou scans à passer dans un logiciel d'OCR pour les rendre consultables)")
    return FileReport(file=name, status="replaced" if existing else "indexed", chunks=len(chunks),
                      pages=doc.page_count, message=message, empty_pages=doc.empty_pages)


def embed_pending(project: str, docstore: DocStore, vectors: VectorStore, embedder: Embedder,
                  progress: Progress | None = None, batch: int = 64) -> int:
    """Phase 2: embed every chunk of the project that has no vector yet. Resumable at any point."""
    total = docstore.pending_count(project)
    done = 0
    # A replaced file may have left vectors of its old chunks (even across a crash): drop the orphans.
    stale_files = {r.file for r in docstore.documents(project) if not r.embedded}
    if stale_files:
        live = {c.id for c in docstore.chunks(project) if c.file in stale_files}
        orphans = [i for f in stale_files for i in vectors.ids_for_file(project, f) if i not in live]
        vectors.delete_ids(project, orphans)
    while chunks := docstore.pending(project, batch):
        vecs = embedder.embed_passages([c.text for c in chunks])
        vectors.add(project, [c.id for c in chunks], vecs, [c.metadata() for c in chunks])
        docstore.mark_embedded([c.id for c in chunks])
        done += len(chunks)
        if progress:
            progress("vectorisation", done, total)
    return done


def _ranges(pages: list[int]) -> str:
    """[1,2,3,7] → "1-3, 7"."""
    out, start, prev = [], None, None
    for p in sorted(pages):
        if start is None:
            start = prev = p
        elif p == prev + 1:
            prev = p
        else:
            out.append(f"{start}-{prev}" if start != prev else str(start))
            start = prev = p
    if start is not None:
        out.append(f"{start}-{prev}" if start != prev else str(start))
    return ", ".join(out)
