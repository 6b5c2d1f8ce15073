"""The facade: wires settings → adapters → logic. The CLI and the UI only call this.

Adapters are built lazily: listing documents must not load a 1 GB model, and tests inject a FakeChat.
"""

from __future__ import annotations

import logging
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
from .indexer import Progress, embed_pending, expand_paths, index_file
from .ingest import IngestLimits
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


class Assistant:
    def __init__(self, settings: Settings | None = None, *, chat: ChatModel | None = None,
                 embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings()
        self._chat = chat
        self._embedder = embedder
        self._docstore: DocStore | None = None
        self._vectors: VectorStore | None = None
        self._lexical = LexicalCache()
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
                self._embedder = build_embedder(self.settings.embeddings)
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
        files = expand_paths(map(Path, paths)) if names is None else [Path(p) for p in paths]
        reports = []
        for i, path in enumerate(files):
            if progress:
                progress(path.name, i, len(files))
            reports.append(index_file(path, project, self.docstore, self.limits,
                                      display_name=names[i] if names else None))
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
        name = Path(file).name
        if self.docstore.document(project, name) is None:
            return False
        self.docstore.delete_document(project, name)
        self.vectors.delete_file(project, name)
        return True

    def delete_project(self, project: str) -> None:
        project = check_project_name(project)
        self.docstore.delete_project(project)
        self.vectors.delete_project(project)

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
                                  query_vector=vector)
                   for p in targets]
        return merge(results, k or r.k)

    def answerer(self, project: str | None) -> Answerer:
        small = self.settings.llm.provider == "embedded"
        return Answerer(
            self.chat, lambda q: self.search(q, project),
            min_dense_score=self.settings.retrieval.min_dense_score,
            max_passages=3 if small else max(self.settings.retrieval.k, 6),
            passage_chars=600 if small else 1500, prompts_dir=self.settings.prompts_dir)

    def ask_stream(self, question: str, project: str | None, history: list[Turn] | None = None) -> Iterator[Event]:
        question = check_question(question)
        return self.answerer(project).stream(question, history)

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
