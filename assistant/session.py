"""Project-level operations for the web UI: uploads kept on disk, links to a cited page, strategy export.

The facade (``core.Assistant``) indexes and answers; this module adds what a person working on one territory
needs around it: the uploaded originals stored under ``<data_dir>/projects/<slug>/uploads/`` with a safe
file name (the display name stays the one cited), a link that opens a document at the cited page, the list of
projects, and the strategy of the guided method wired to the assistant's chat model and search.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote


from .core import Assistant, check_project_name
from .errors import InputError, WorkflowError
from .indexer import document_name as display_name  # the name people see and cite
from .schemas import FileReport, Passage
from .workflow.engine import WorkflowEngine
from .workflow.artifacts import STAGE_LABELS, STAGES, Strategy, strategy_schema
from .workflow.items import iter_items, pending_review
from .workflow.storage import ProjectStorage, slugify, write_atomic

UPLOADS_DIR = "uploads"
MANIFEST = "uploads.json"  # display name -> stored name; beside (not inside) the served folder
ACCEPTED_SUFFIXES = (".pdf", ".docx", ".odt", ".md", ".markdown", ".html", ".htm", ".txt", ".csv")
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_MAX_NAME = 120

STATUS_LABELS = {"indexed": "indexé", "replaced": "remplacé", "unchanged": "déjà indexé", "refused": "refusé"}


# --- file names -----------------------------------------------------------------------------------------


def safe_file_name(raw: str) -> str:
    """A name that is safe on any disk and in a URL path: no folder, no ``..``, no reserved or control character."""
    name = _FORBIDDEN.sub("_", display_name(raw))[:_MAX_NAME]
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = re.sub(r"\.{2,}", ".", stem).strip(" .") or "document"
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix)[:10].lower()
    name = f"{stem[: _MAX_NAME - len(suffix) - 1]}.{suffix}" if suffix else stem[:_MAX_NAME]
    if name.split(".")[0].upper() in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                                      *(f"LPT{i}" for i in range(10))}:
        name = "_" + name  # Windows device names
    return name


# --- projects -------------------------------------------------------------------------------------------


class ProjectSpace:
    """One territory's folder: uploaded originals, their manifest, and the strategy of the guided method."""

    def __init__(self, assistant: Assistant, project: str) -> None:
        self.assistant = assistant
        self.name = check_project_name(project)
        self.slug = slugify(self.name)
        # One folder per slug: « Dinan » and « DINAN » would share uploads and strategy while their indexed
        # documents stay apart. Refuse the look-alike instead of mixing two territories.
        for other in assistant.projects():
            if other != self.name and slugify(other) == self.slug:
                raise InputError(f"Le projet « {other} » existe déjà sous un nom presque identique à « {self.name} »",
                                 fix=f"choisissez « {other} » dans la liste, ou donnez un nom vraiment différent")
        self.dir = assistant.settings.projects_dir.resolve() / self.slug
        self.uploads = self.dir / UPLOADS_DIR

    # -- uploads -----------------------------------------------------------------------------------
    def _manifest(self) -> dict[str, str]:
        path = self.dir / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _save_manifest(self, manifest: dict[str, str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.dir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")

    def stored_path(self, file: str) -> Path | None:
        """The stored original of a cited document, or None (indexed from the command line, or removed)."""
        stored = self._manifest().get(file)
        if not stored:
            return None
        path = (self.uploads / stored).resolve()
        if path.parent != self.uploads or not path.is_file():
            return None
        return path

    def ingest_uploads(self, uploads: list[tuple[Path, str]], progress=None) -> list[FileReport]:
        """Copy uploaded files into the project folder, then index them under their display names.

        ``uploads`` pairs a temporary path with the name the person's file had. A refused file is not kept.
        """
        with _project_lock(self.slug):
            manifest = self._manifest()
            self.uploads.mkdir(parents=True, exist_ok=True)
            paths, names, previous = [], [], {}
            for tmp, original in uploads:
                name = display_name(original)
                if name in names:  # the same file twice in one drop
                    continue
                stored = manifest.get(name) or _unique(safe_file_name(name), set(manifest.values()))
                target = self.uploads / stored
                if target.exists():
                    previous[name] = target.read_bytes() if target.stat().st_size < 200_000_000 else None
                shutil.copyfile(tmp, target)
                manifest[name] = stored
                paths.append(target)
                names.append(name)
            self._save_manifest(manifest)
            reports = self.assistant.ingest(paths, self.name, progress=progress, names=names) if paths else []
            for report, path, name in zip(reports, paths, names):
                if report.status != "refused":
                    continue
                if previous.get(name) is not None:  # a refused new version must not replace a good original
                    path.write_bytes(previous[name])
                elif self.assistant.docstore.document(self.name, name) is None:
                    path.unlink(missing_ok=True)
                    manifest.pop(name, None)
            self._save_manifest(manifest)
            return reports

    def forget(self, file: str) -> bool:
        """Remove a document from the index and its stored original."""
        with _project_lock(self.slug):
            removed = self.assistant.forget(self.name, file)
            manifest = self._manifest()
            stored = manifest.pop(file, None)
            if stored:
                (self.uploads / stored).unlink(missing_ok=True)
                self._save_manifest(manifest)
            return removed or bool(stored)

    def document_url(self, file: str, page: int | None = None) -> str | None:
        """Relative link that opens the stored original (at ``page`` for a PDF) through gradio's file route."""
        path = self.stored_path(file)
        if path is None:
            return None
        url = "gradio_api/file=" + quote(str(path), safe="/")
        return f"{url}#page={page}" if page and path.suffix.lower() == ".pdf" else url

    # -- strategy ----------------------------------------------------------------------------------
    @property
    def storage(self) -> ProjectStorage:
        return ProjectStorage(self.assistant.settings.projects_dir.resolve())

    def engine(self) -> WorkflowEngine:
        """The guided method on this project, answering with the assistant's chat model (loaded on first use)."""
        assistant, name = self.assistant, self.name

        def search(query: str) -> list[Passage]:
            return assistant.search(query, name, include_knowledge=False).passages

        return WorkflowEngine(_LazyChat(assistant), self.storage, search, prompts_dir=assistant.settings.prompts_dir)

    def strategy(self) -> Strategy:
        """The territory's strategy, created empty the first time."""
        storage = self.storage
        if storage.exists(self.slug):
            return storage.load(self.slug)
        with _project_lock(self.slug):
            if storage.exists(self.slug):
                return storage.load(self.slug)
            return storage.create(self.name, slug=self.slug)

    def export_json(self) -> tuple[Path, str]:
        """Write the strategy as JSON, validated against ``strategy.schema.json``; returns the file and a summary."""
        from .exports import strategy_json

        strategy = self.strategy()
        text = strategy_json(strategy)  # one validation rule for the CLI and the UI
        folder = Path(tempfile.mkdtemp(prefix=f"{self.slug}-", dir=export_dir()))
        path = folder / f"strategie-{self.slug}.json"
        path.write_text(text, encoding="utf-8")
        count = sum(1 for _ in iter_items(strategy))
        pending = len(pending_review(strategy))
        summary = (f"Stratégie « {strategy.title} », version {strategy.version}, étape en cours : "
                   f"{STAGE_LABELS[strategy.current_stage]} — {count} élément(s), {pending} à valider. "
                   "Fichier conforme au schéma.")
        return path, summary

    def export_deliverable(self, fmt: str) -> tuple[Path, str, list[str]]:
        """Write the strategy document (docx, odt, md) or the action plan (xlsx, ods, csv) with ``exports``.

        Returns the file, a French summary and the labels of the stages still empty (documents only: their
        chapters say so). Markdown comes as a ZIP when a chart goes with it. An empty strategy, or an empty
        action plan for a spreadsheet, is refused with the way out.
        """
        from .exports import SHEET_FORMATS, default_name, export_strategy

        if not self.storage.exists(self.slug):
            raise WorkflowError(f"Le territoire « {self.name} » n'a pas encore de stratégie",
                                fix="commencez la démarche dans l'onglet Démarche, puis revenez exporter")
        strategy = self.storage.load(self.slug)
        if next(iter_items(strategy), None) is None:
            raise WorkflowError(f"La stratégie de « {self.name} » est encore vide : il n'y a rien à exporter",
                                fix="répondez aux premières questions de l'onglet Démarche, puis revenez exporter")
        if fmt in SHEET_FORMATS and not strategy.plan_action.actions:
            raise WorkflowError("Le plan d'action est vide : le tableur n'aurait que ses en-têtes",
                                fix="ajoutez des actions à l'étape « Plan d'action », ou exportez le document")
        folder = Path(tempfile.mkdtemp(prefix=f"{self.slug}-", dir=export_dir()))
        result = export_strategy(strategy, fmt, folder / default_name(strategy, fmt))
        path, summary = result.path, result.summary
        if result.extra_files:  # the Markdown document and its chart travel together
            path = folder / f"{result.path.stem}-markdown.zip"
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in (result.path, *result.extra_files):
                    archive.write(file, file.relative_to(folder).as_posix())
            summary += " Archive ZIP : le document Markdown et son graphique."
        empty = [] if fmt in SHEET_FORMATS else [STAGE_LABELS[s] for s in STAGES
                                                  if next(iter_items(strategy, s), None) is None]
        if empty:
            summary += " Étape(s) encore vide(s), signalée(s) dans le document : " + ", ".join(empty) + "."
        return path, summary, empty


class _LazyChat:
    """Stands for the assistant's chat model without loading it: reading the agenda needs no model."""

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant

    def __getattr__(self, name: str):
        return getattr(self._assistant.chat, name)


def report_label(report: FileReport) -> str:
    """Short French status of one file (the message says the rest, with the fix)."""
    if report.status == "refused" and report.reason == "no_text":
        return "pas de couche texte"
    label = STATUS_LABELS[report.status]
    if report.status in ("indexed", "replaced") and report.empty_pages:
        label += " (pages sans texte ignorées)"
    return label


def list_projects(assistant: Assistant) -> list[str]:
    """Projects known by their documents or by a strategy, by display name (one entry per folder)."""
    names = {slugify(n): n for n in assistant.projects() if _sluggable(n)}
    try:
        for p in ProjectStorage(assistant.settings.projects_dir.resolve()).list_projects():
            if not p.title.endswith("(illisible)"):
                names.setdefault(p.slug, p.title)
    except OSError:
        pass
    return sorted(names.values(), key=lambda n: unicodedata.normalize("NFKD", n).casefold())


def _sluggable(name: str) -> bool:
    try:
        slugify(name)
    except InputError:
        return False
    return True


def uploads_root(assistant: Assistant) -> Path:
    return assistant.settings.projects_dir.resolve()


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    i = 2
    while (candidate := f"{stem}-{i}{'.' + suffix if suffix else ''}") in taken:
        i += 1
    return candidate


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _project_lock(slug: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(slug, threading.Lock())


def export_dir() -> Path:
    """Exports go to a temporary folder that gradio may hand to the browser; those older than a day are removed."""
    path = Path(tempfile.gettempdir()) / "assistant-exports"
    path.mkdir(parents=True, exist_ok=True)
    limit = time.time() - 86_400
    for old in path.iterdir():
        try:
            if old.stat().st_mtime < limit:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    return path


def schema_file() -> Path:
    """``strategy.schema.json``, the JSON Schema every export validates against."""
    path = export_dir() / "strategy.schema.json"
    text = json.dumps(strategy_schema(), ensure_ascii=False, indent=2) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_atomic(path, text)
    return path
