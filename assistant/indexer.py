"""Indexing pipeline: files → parsed pages → chunks in the chunk store (searchable) → vectors (embedded).

Two phases on purpose: text is committed first (lexical search works at once), vectors follow. Both
phases are idempotent, so a killed ingestion resumes by simply running again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from .docstore import DocStore
from .embeddings import Embedder
from .errors import DocumentError, InputError
from .ingest import PIPELINE_VERSION, IngestLimits, ParsedDocument, chunk_document, parse_file, search_text
from .schemas import Chunk, DocumentRecord, FileReport
from .store import VectorStore

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".pdf", ".md", ".markdown", ".html", ".htm", ".txt", ".docx", ".odt", ".csv"}

Progress = Callable[[str, int, int], None]  # (label, done, total)

MAX_NAME_CHARS = 120


def document_name(raw: str | Path) -> str:
    """The name a document is cited, listed and forgotten by: the last path component, NFC, no control character.

    Names come from people (uploads) and from the command line; ``../../etc/passwd``, ``C:\\x\\rapport.pdf``,
    a right-to-left override or a decomposed « é » must all give one stable, printable name.
    """
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if not name:
        raise InputError(f"Nom de fichier vide ou invalide : « {str(raw)[:60]!s} »",
                         fix="renommez le fichier (ex. diagnostic.pdf) puis réimportez-le")
    return name[:MAX_NAME_CHARS]


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders walked recursively (supported extensions only, hidden files skipped), each file once
    (« ingest rapports/ rapports/diagnostic.pdf » names it twice: it would be read twice for the same chunks)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES
                              and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        else:
            out.append(p)
    first: dict[Path, Path] = {}  # resolved path → the path as first given, in order
    for p in out:
        first.setdefault(p.resolve(), p)
    return list(first.values())


def refusal_reason(error: DocumentError) -> str:
    """A stable code for the UI and scripts (the French message is for people)."""
    from . import errors

    for cls, code in ((errors.EmptyDocumentError, "no_text"), (errors.EncryptedDocumentError, "encrypted"),
                      (errors.CorruptDocumentError, "corrupt"), (errors.DocumentTooLargeError, "too_large"),
                      (errors.UnsupportedFormatError, "unsupported")):
        if isinstance(error, cls):
            return code
    return "unreadable"


def index_files(paths: list[Path], project: str, docstore: DocStore, limits: IngestLimits, *,
                names: list[str] | None = None, progress: Progress | None = None,
                read_workers: int = 1) -> list[FileReport]:
    """Phase 1 for several files, reported in order. Reading (PDF text extraction above all: ≈ 95 % of this phase)
    is spread over ``read_workers`` processes when two files or more, of 1 MB or more in all, are to be read;
    storing stays here, in order."""
    jobs = [(Path(path), names[i] if names else None) for i, path in enumerate(paths)]
    # Same bytes read by the same pipeline: nothing to do (a newer pipeline, e.g. better chunking, re-reads them).
    unchanged = {i: report for i, (path, name) in enumerate(jobs)
                 if (report := _unchanged(path, name, project, docstore)) is not None}
    to_read = [i for i, (path, _) in enumerate(jobs) if i not in unchanged and path.exists()]
    # Starting the processes costs about a second (each imports the readers): worth it for a folder of reports,
    # not for two short notes dropped in the web interface (0.3 s read here, 4 s through a pool, measured).
    big = sum(_size(jobs[i][0]) for i in to_read) >= READ_POOL_MIN_BYTES
    pool = _read_pool(read_workers) if read_workers > 1 and len(to_read) > 1 and big else None
    futures = {i: pool.submit(parse_file, jobs[i][0], limits) for i in to_read} if pool else {}
    reports = []
    try:
        for i, (path, name) in enumerate(jobs):
            if progress:
                progress(path.name, i, len(jobs))
            if i in unchanged:
                reports.append(unchanged[i])
                continue
            parsed = _from_worker(futures[i], path, limits) if i in futures else None
            reports.append(index_file(path, project, docstore, limits, display_name=name, parsed=parsed))
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    return reports


READ_POOL_MIN_BYTES = 1_000_000


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_pool(workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # "spawn": forking a process that runs threads (web server, Chroma) can copy a held lock.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def _from_worker(future, path: Path, limits: IngestLimits) -> Callable[[], ParsedDocument]:
    """The worker's reading, raising what ``parse_file`` raised there; read here if the worker process died (or
    its result could not come back, which breaks the pool too): a batch never loses a file to the pool."""
    from concurrent.futures.process import BrokenProcessPool

    def get() -> ParsedDocument:
        try:
            return future.result()
        except BrokenProcessPool:
            log.warning("lecture parallèle interrompue pour %s : reprise dans le processus principal", path.name)
            return parse_file(path, limits)
    return get


def _unchanged(path: Path, display_name: str | None, project: str, docstore: DocStore) -> FileReport | None:
    """The « unchanged » report if these very bytes were indexed by this pipeline: a re-run over a folder only
    hashes the files. None when the file must go through ``index_file`` (changed, new, missing, badly named)."""
    try:
        name = document_name(display_name or path.name)
    except InputError:
        return None
    existing = docstore.document(project, name)
    if not existing or docstore.pipeline(project, name) != PIPELINE_VERSION:
        return None
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:  # index_file says what is wrong with the file
        return None
    if digest != existing.content_hash:
        return None
    return FileReport(file=name, status="unchanged", chunks=existing.chunks, pages=existing.pages,
                      message=f"« {name} » : déjà indexé, inchangé.")


def index_file(path: Path, project: str, docstore: DocStore, limits: IngestLimits,
               display_name: str | None = None,
               parsed: Callable[[], ParsedDocument] | None = None) -> FileReport:
    """Phase 1 for one new or changed file (``index_files`` skips unchanged ones): parse, chunk, replace its chunks
    atomically. Never raises for a bad file. ``parsed``: the file's reading, done elsewhere (a worker process); it
    returns or raises as ``parse_file``."""
    try:
        name = document_name(display_name or path.name)
    except InputError as e:
        return FileReport(file=str(display_name or path.name)[:MAX_NAME_CHARS] or "?", status="refused",
                          message=e.user_message, reason="invalid_name")
    if not path.exists():
        return FileReport(file=name, status="refused",
                          message=f"« {name} » : fichier introuvable — vérifiez le chemin.", reason="not_found")
    try:
        doc = parsed() if parsed else parse_file(path, limits)
    except DocumentError as e:
        return FileReport(file=name, status="refused", message=e.user_message, reason=refusal_reason(e))
    except Exception as e:  # a reader bug must not stop a batch; say which file, keep the rest
        # The traceback may quote the document: only at DEBUG (see Settings.log_level).
        log.warning("lecture impossible de %s (%s)", name, type(e).__name__)
        log.debug("détail de l'erreur de lecture de %s", name, exc_info=True)
        return FileReport(file=name, status="refused",
                          message=f"« {name} » : lecture impossible ({type(e).__name__}) — vérifiez que le fichier "
                                  "s'ouvre dans sa propre application, puis réessayez.", reason="unreadable")
    doc.file = name
    existing = docstore.document(project, name)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    chunks = chunk_document(doc, project, ingested_at=now)
    if not chunks:
        return FileReport(file=name, status="refused",
                          message=f"« {name} » : aucun texte exploitable — fournissez une version texte du document.",
                          reason="no_text")
    record = DocumentRecord(project=project, file=name, doc_type=doc.doc_type, content_hash=doc.sha256,
                            pages=doc.page_count, chunks=len(chunks), ingested_at=now, embedded=False)
    docstore.replace_document(record, chunks, title=doc.title, empty_pages=doc.empty_pages,
                              pipeline=PIPELINE_VERSION)
    log.info("%s : %d passages indexés dans « %s »", name, len(chunks), project)
    message = f"« {name} » : {len(chunks)} passages indexés"
    if doc.empty_pages:
        message += (f" ; pages sans texte ignorées : {_ranges(doc.empty_pages)} "
                    "(pages blanches, ou scans à passer dans un logiciel d'OCR pour les rendre consultables)")
    return FileReport(file=name, status="replaced" if existing else "indexed", chunks=len(chunks),
                      pages=doc.page_count, message=message, empty_pages=doc.empty_pages)


def embed_pending(project: str, docstore: DocStore, vectors: VectorStore, embedder: Embedder,
                  progress: Progress | None = None, batch: int = 64, *, _check: bool = True) -> int:
    """Phase 2: embed every chunk of the project that has no vector yet. Resumable at any point."""
    total = docstore.pending_count(project)
    done = 0
    # A replaced file may have left vectors of its old chunks (even across a crash): drop the orphans.
    stale_files = {r.file for r in docstore.documents(project) if not r.embedded}
    if stale_files:
        live = {c.id for c in docstore.chunks(project) if c.file in stale_files}
        orphans = [i for f in stale_files for i in vectors.ids_for_file(project, f) if i not in live]
        vectors.delete_ids(project, orphans)
    # Each chunk is embedded with its context header (document title, section): a section such as « Moyens
    # financiers » alone does not say which action it funds (dense recall@5 on dev.jsonl: 0.51 → 0.77).
    titles = docstore.titles(project)
    ids = docstore.pending_ids(project)
    rounds: deque[list[Chunk]] = deque()

    def texts() -> Iterator[list[str]]:
        # Read lazily, round by round: the embedder may read one round ahead while this one is being stored.
        for i in range(0, len(ids), batch):
            found = docstore.get(ids[i:i + batch])
            chunks = [found[cid] for cid in ids[i:i + batch] if cid in found]  # forgotten meanwhile: skipped
            rounds.append(chunks)
            yield [search_text(c, titles.get(c.file)) for c in chunks]

    for vecs in embedder.embed_rounds(texts()):
        chunks = rounds.popleft()
        if chunks:
            vectors.add(project, [c.id for c in chunks], vecs, [c.metadata() for c in chunks])
            docstore.mark_embedded(project, [c.id for c in chunks])
        done += len(chunks)
        if progress:
            progress("vectorisation", done, total)
    if _check and reconcile(project, docstore, vectors):
        done += embed_pending(project, docstore, vectors, embedder, progress, batch, _check=False)
    return done


def reconcile(project: str, docstore: DocStore, vectors: VectorStore) -> int:
    """Make the vector store hold exactly the embedded chunks of the chunk store (the truth).

    A kill between the two stores (a file forgotten or a project deleted in SQLite but not yet in Chroma, a Chroma
    folder restored from an older backup, a server that lost its data) leaves orphans or missing vectors: orphans
    are deleted, chunks whose vector is missing are marked pending again. Returns how many chunks to re-embed.
    Vectors of pending chunks are left alone: another worker may be between its Chroma write and its SQLite mark.
    """
    stored = vectors.ids(project)
    live = docstore.chunk_ids(project)
    embedded = docstore.embedded_ids(project)
    orphans = stored - live
    if orphans:
        log.warning("%d vecteurs orphelins supprimés du projet « %s »", len(orphans), project)
        vectors.delete_ids(project, sorted(orphans))
    missing = embedded - stored
    if missing:
        log.warning("%d passages sans vecteur dans « %s » : vectorisation reprise", len(missing), project)
        docstore.mark_pending(project, sorted(missing))
    return len(missing)


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
