"""The facade: wires settings → adapters → logic. The CLI and the UI only call this.

Adapters are built lazily: listing documents must not load a 1 GB model, and tests inject a FakeChat.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from .answer import Answerer, Event, Turn
from .config import Settings
from .docstore import DocStore
from .embeddings import Embedder, build_embedder
from .errors import AssistantError, InputError
from .grounding import expansion_regex, key_terms, term_pattern, term_regex
from .indexer import Progress, document_name, embed_pending, expand_paths, index_files
from .ingest import IngestLimits
from .dense import DenseCache
from .lexical import LexicalCache
from .llm import ChatModel, build_chat_model
from .retrieve import SearchResult, merge, search_project
from .schemas import KNOWLEDGE_PROJECT, Answer, DocumentRecord, FileReport
from .store import VectorStore

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


def check_project_name(project: str) -> str:
    name = unicodedata.normalize("NFC", (project or "").strip())
    if not name:
        raise InputError("Aucun projet indiqué", fix="précisez le territoire avec --project NOM (ex. --project Dinan)")
    if len(name) > 80 or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InputError(f"Nom de projet invalide : « {name[:40]} »",
                         fix="utilisez un nom court, sans caractères de contrôle (80 caractères au plus)")
    if name == KNOWLEDGE_PROJECT:
        raise InputError(f"« {KNOWLEDGE_PROJECT} » est réservé à la méthode", fix="choisissez un autre nom de projet")
    return name


def check_question(question: str) -> str:
    q = (question or "").strip()
    if not q:
        raise InputError("La question est vide", fix="tapez une question, par exemple « Quels sont les atouts "
                                                     "économiques de notre territoire ? »")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"La question est trop longue ({len(q)} caractères)",
                         fix=f"résumez-la en moins de {MAX_QUESTION_CHARS} caractères")
    return q


_LOG_HANDLER = "assistant-stderr"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners and the UI swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: str) -> None:
    """Apply ``Settings.log_level`` to the package's loggers, with one stderr handler.

    "Debug on" means ``log_level`` is DEBUG: only then are DEBUG records emitted, and only DEBUG records may quote
    documents (passages retrieved for a question, tracebacks of a reader). INFO and WARNING name files and counts.
    """
    logger = logging.getLogger("assistant")
    value = logging.getLevelName(str(level).upper())
    logger.setLevel(value if isinstance(value, int) else logging.WARNING)
    if not any(getattr(h, "name", None) == _LOG_HANDLER for h in logger.handlers):
        handler = _StderrHandler()  # stderr: stdout carries results (--json pipes into jq)
        handler.name = _LOG_HANDLER
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s : %(message)s"))
        logger.addHandler(handler)


def debug_enabled() -> bool:
    return logging.getLogger("assistant").isEnabledFor(logging.DEBUG)


class Assistant:
    def __init__(self, settings: Settings | None = None, *, chat: ChatModel | None = None,
                 embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings()
        configure_logging(self.settings.log_level)
        self._chat = chat
        self._embedder = embedder
        self._docstore: DocStore | None = None
        self._vectors: VectorStore | None = None
        self._lexical = LexicalCache()
        self._dense = DenseCache(self.settings.retrieval.memory_vectors)
        self._lock = threading.RLock()
        self.limits = IngestLimits(max_bytes=self.settings.server.max_upload_mb * 1_000_000)

    # -- adapters (lazy) ---------------------------------------------------------------------------
    @property
    def chat(self) -> ChatModel:
        with self._lock:
            if self._chat is None:
                self._chat = build_chat_model(self.settings.llm, self.settings.models_dir)
            return self._chat

    @property
    def chat_loaded(self) -> bool:
        return self._chat is not None

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = build_embedder(self.settings.embeddings, self.settings.data_dir)
            return self._embedder

    @property
    def docstore(self) -> DocStore:
        with self._lock:
            if self._docstore is None:
                self._docstore = DocStore(self.settings.data_dir / "documents.sqlite3")
            return self._docstore

    @property
    def vectors(self) -> VectorStore:
        with self._lock:
            if self._vectors is None:
                self._vectors = VectorStore(self.settings.store, self.settings.chroma_dir)
            return self._vectors

    # -- documents ---------------------------------------------------------------------------------
    def ingest(self, paths: list[Path | str], project: str, *, progress: Progress | None = None,
               embed: bool = True, names: list[str] | None = None) -> list[FileReport]:
        """Index files or folders into a project. Bad files are reported, never fatal for the batch."""
        project = check_project_name(project)
        return self._ingest(paths, project, progress=progress, embed=embed, names=names)

    def _ingest(self, paths, project, *, progress=None, embed=True, names=None) -> list[FileReport]:
        if names is not None and len(names) != len(paths):
            raise InputError(f"{len(paths)} fichier(s) pour {len(names)} nom(s)",
                             fix="donnez un nom d'affichage par fichier (names=…), dans le même ordre")
        files = expand_paths(map(Path, paths)) if names is None else [Path(p) for p in paths]
        reports = index_files(files, project, self.docstore, self.limits, names=names, progress=progress,
                              read_workers=self.settings.read_workers)
        if progress:
            progress("lecture terminée", len(files), len(files))
        if embed:
            self.embed_pending(project, progress)
        return reports

    def embed_pending(self, project: str, progress: Progress | None = None) -> int:
        return embed_pending(project, self.docstore, self.vectors, self.embedder, progress)

    def documents(self, project: str) -> list[DocumentRecord]:
        return self.docstore.documents(check_project_name(project))

    def forget(self, project: str, file: str) -> bool:
        project = check_project_name(project)
        name = document_name(file)
        if self.docstore.document(project, name) is None:
            return False
        self.docstore.delete_document(project, name)
        self.vectors.delete_file(project, name)
        return True

    def delete_project(self, project: str, *, files: bool = True) -> None:
        """Remove a project's chunks, vectors and (``files``) its folder: uploaded originals, strategy, history.

        Vectors go first: a kill in between leaves chunks without vectors, which the next ingestion re-embeds
        (``indexer.reconcile``), never vectors without chunks. The folder is shared by names with the same slug
        (« Dinan », « DINAN »): it is kept while another indexed project still uses it.
        """
        import shutil

        from .workflow.storage import slugify

        project = check_project_name(project)
        self.vectors.delete_project(project)
        self.docstore.delete_project(project)
        self._dense.drop(project)
        log.info("projet « %s » supprimé de l'index", project)
        if not files:
            return
        try:
            slug = slugify(project)
        except InputError:
            return
        root = self.settings.projects_dir.resolve()
        folder = (root / slug).resolve()
        others = [p for p in self.projects() if p != project and _slug_or_none(p) == slug]
        if folder.parent == root and folder.is_dir() and not others:
            shutil.rmtree(folder)

    def projects(self) -> list[str]:
        return [p for p in self.docstore.projects() if p != KNOWLEDGE_PROJECT]

    # -- methodology knowledge ---------------------------------------------------------------------
    def ensure_knowledge(self, progress: Progress | None = None) -> list[FileReport]:
        """Index ``knowledge/`` (idempotent: unchanged files are skipped by hash)."""
        kdir = self.settings.knowledge_dir
        if not kdir.is_dir():
            raise AssistantError(f"Dossier de la méthode introuvable : {kdir}", fix="vérifiez ASSISTANT_KNOWLEDGE_DIR")
        files = sorted(p for p in kdir.glob("*.md") if p.name.lower() != "readme.md")
        return self._ingest(files, KNOWLEDGE_PROJECT, progress=progress, names=[p.name for p in files])

    def knowledge_chunks(self) -> int:
        return self.docstore.count(KNOWLEDGE_PROJECT)

    # -- search and answers ------------------------------------------------------------------------
    def search(self, question: str, project: str | None, *, k: int | None = None, files: set[str] | None = None,
               include_knowledge: bool = True) -> SearchResult:
        question = check_question(question)
        r = self.settings.retrieval
        targets = []
        if project:
            targets.append(check_project_name(project))
        if include_knowledge or not targets:
            targets.append(KNOWLEDGE_PROJECT)
        vector = self.embedder.embed_query(question)
        results = [search_project(question, p, docstore=self.docstore, vectors=self.vectors, lexical=self._lexical,
                                  embedder=self.embedder, candidates=r.candidates, dense_weight=r.dense_weight,
                                  lexical_weight=r.lexical_weight, files=files if p != KNOWLEDGE_PROJECT else None,
                                  query_vector=vector, in_memory=self._dense)
                   for p in targets]
        return merge(results, k or r.k)

    def reading_plan(self) -> tuple[int, tuple[int, ...]]:
        """How many passages the chat model reads, and how many characters of each (by rank, the last repeats).

        Small model: 4 passages rather than 3, for the same prompt length (measured on dev.jsonl, same replies
        replayed: the gold passage is shown more often, citation_hit 26 → 27/39 and answered_covered 37 → 39/39);
        the best one whole (a passage is at most ≈ 900 characters) and the next three as 300-character windows
        rather than 4 × 450: the answer often comes a few lines after the sentence that matches the question, past
        a 450-character window (on dev.jsonl the gold quote is visible for 31 questions instead of 26, none lost;
        ``eval`` reports this count as quote_read). A remote model reads more, and longer, passages.
        """
        if self.settings.llm.provider == "embedded":
            return 4, (900, 300)
        return max(self.settings.retrieval.k, 6), (1500,)

    def answerer(self, project: str | None) -> Answerer:
        max_passages, passage_chars = self.reading_plan()
        return Answerer(
            self.chat, lambda q: self.search(q, project),
            min_dense_score=self.settings.retrieval.min_dense_score,
            max_passages=max_passages, passage_chars=passage_chars, prompts_dir=self.settings.prompts_dir,
            absent_terms=lambda q: self.absent_terms(q, project))

    def absent_terms(self, question: str, project: str | None) -> list[str]:
        """Acronyms, years, quoted names and counted things of the question that no document of the project nor
        the method mentions (case-insensitive for letters a–z, as SQLite's LIKE)."""
        projects = [KNOWLEDGE_PROJECT] + ([check_project_name(project)] if project else [])
        absent = [t for t in key_terms(question)
                  if not self.docstore.mentions(projects, term_pattern(t), term_regex(t))]
        # An acronym may be written out in full in the documents (« zéro artificialisation nette »): look for
        # its expansion before calling it absent (rare path: only for acronyms found nowhere verbatim).
        for term in [t for t in absent if expansion_regex(t)]:
            pattern = expansion_regex(term)
            if any(pattern.search(c.text) for p in projects for c in self.docstore.chunks(p)):
                absent.remove(term)
        return absent

    def ask_stream(self, question: str, project: str | None, history: list[Turn] | None = None) -> Iterator[Event]:
        question = check_question(question)
        return _logged(self.answerer(project).stream(question, history), project)

    def ask(self, question: str, project: str | None, history: list[Turn] | None = None) -> Answer:
        final = None
        for event in self.ask_stream(question, project, history):
            if event.kind == "final":
                final = event.answer
        assert final is not None
        return final

    # -- health ------------------------------------------------------------------------------------
    def doctor(self, generate: bool = True) -> dict:
        """What is configured and whether it works; each failing part carries its French fix."""
        from .llm import measure_speed

        report: dict = {"llm": {"provider": self.settings.llm.provider, "ok": False},
                        "embeddings": {"provider": self.settings.embeddings.provider, "ok": False},
                        "store": {"path": str(self.settings.chroma_dir) if self.settings.store.mode == "embedded"
                                  else f"http://{self.settings.store.host}:{self.settings.store.port}", "ok": False},
                        "knowledge": {"chunks": 0, "ok": False}}
        try:
            t = time.perf_counter()
            chat = self.chat
            report["llm"].update(model=chat.name, description=getattr(chat, "description", ""),
                                 load_s=round(time.perf_counter() - t, 2))
            if generate:
                report["llm"].update(measure_speed(chat))
            report["llm"]["ok"] = True
        except AssistantError as e:
            report["llm"].update(model=self.settings.llm.model_name or self.settings.llm.model, error=e.user_message)
        try:
            vec = self.embedder.embed_query("attractivité du territoire")
            report["embeddings"].update(model=self.embedder.name, dim=int(vec.shape[0]), ok=True)
        except AssistantError as e:
            report["embeddings"].update(error=e.user_message)
        try:
            report["store"].update(description=self.vectors.description, projects=len(self.projects()),
                                   pending_vectors=self.docstore.pending_count(), ok=True)
            report["knowledge"]["chunks"] = self.knowledge_chunks()
            report["knowledge"]["ok"] = report["knowledge"]["chunks"] > 0
            if not report["knowledge"]["ok"]:
                report["knowledge"]["error"] = ("La méthode n'est pas indexée — lancez « python -m assistant "
                                                "knowledge » (le serveur le fait au démarrage).")
        except AssistantError as e:
            report["store"].update(error=e.user_message)
        report["ok"] = all(report[k]["ok"] for k in ("llm", "embeddings", "store", "knowledge"))
        return report


def _slug_or_none(name: str) -> str | None:
    from .workflow.storage import slugify

    try:
        return slugify(name)
    except InputError:
        return None


def _logged(events: Iterator[Event], project: str | None) -> Iterator[Event]:
    """Log an answer: counts and timings at INFO, the passages' text only at DEBUG (see ``configure_logging``)."""
    for event in events:
        if event.kind == "passages":
            log.info("question sur « %s » : %d passage(s) retenu(s)", project or "méthode", len(event.passages))
            if debug_enabled():
                for p in event.passages:
                    log.debug("passage %s (%s) : %s", p.chunk.id, p.label, p.chunk.text[:300])
        elif event.kind == "final" and event.answer is not None:
            log.info("réponse : couverte=%s, %d citation(s), %.0f ms", event.answer.covered,
                     len(event.answer.citations), event.answer.timings.total_ms or 0)
        yield event
