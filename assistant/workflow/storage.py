"""Project folders on disk: ``<projects_dir>/<slug>/strategy.json`` written atomically, plus ``history/``.

Every save bumps ``version``, replaces ``strategy.json`` atomically (temp file, fsync, ``os.replace``) and
keeps a copy in ``history/`` (the last ``keep`` versions). A file that no longer parses is never deleted:
it is renamed ``*.corrupt`` and the newest valid version of the history is put back in its place.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import InputError, WorkflowError
from . import items
from .artifacts import STAGE_LABELS, STAGES, Item, Strategy, check_stage
from .provenance import now_iso

STRATEGY_FILE = "strategy.json"
HISTORY_DIR = "history"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_HISTORY_NAME = re.compile(r"^v(\d{6})_(\d{8}T\d{6}\d{6}Z)\.json$")


class VersionInfo(BaseModel):
    version: int
    saved_at: str
    file: str


class ProjectSummary(BaseModel):
    slug: str
    title: str
    current_stage: str
    version: int
    updated_at: str


def slugify(title: str) -> str:
    """« Saint-Malo Agglomération » → « saint-malo-agglomeration » (safe as a folder name)."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    if not slug:
        raise InputError(f"Impossible de tirer un nom de dossier de « {title} »",
                         fix="donnez au projet un nom avec des lettres ou des chiffres")
    return slug


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; not available on every platform (Windows), hence the guard.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one, even after a crash or power cut."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class ProjectStorage:
    """Strategies of all projects under one folder. Methods taking a slug load, change and save."""

    def __init__(self, projects_dir: Path, *, keep: int = 50) -> None:
        self.root = Path(projects_dir)
        self.keep = keep

    # --- paths and listing ------------------------------------------------------------------------------

    def project_dir(self, slug: str) -> Path:
        if not _SLUG.match(slug or ""):
            raise InputError(f"Identifiant de projet invalide : « {slug} »",
                             fix="lettres minuscules, chiffres et tirets uniquement (ex. dinan)")
        return self.root / slug

    def exists(self, slug: str) -> bool:
        return (self.project_dir(slug) / STRATEGY_FILE).is_file()

    def list_projects(self) -> list[ProjectSummary]:
        found = []
        for path in sorted(self.root.glob(f"*/{STRATEGY_FILE}")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                found.append(ProjectSummary.model_validate(data, strict=False))
            except (ValueError, ValidationError):
                found.append(ProjectSummary(slug=path.parent.name, title=f"{path.parent.name} (illisible)",
                                            current_stage="?", version=0, updated_at=""))
        return found

    # --- create, load, save -----------------------------------------------------------------------------

    def create(self, title: str, *, slug: str | None = None) -> Strategy:
        slug = slug or slugify(title)
        if self.exists(slug):
            raise WorkflowError(f"Le projet « {slug} » existe déjà",
                                fix="ouvrez-le pour reprendre, ou choisissez un autre nom")
        return self.save(Strategy(slug=slug, title=title.strip() or slug))

    def load(self, slug: str) -> Strategy:
        path = self.project_dir(slug) / STRATEGY_FILE
        if not path.is_file():
            known = ", ".join(p.slug for p in self.list_projects()) or "aucun"
            raise WorkflowError(f"Le projet « {slug} » n'existe pas",
                                fix=f"créez-le, ou choisissez un projet existant ({known})")
        try:
            return Strategy.model_validate_json(path.read_bytes())
        except (ValidationError, ValueError) as e:
            raise self._recover(slug, path, e) from e

    def save(self, strategy: Strategy) -> Strategy:
        """Write a new version. Refuses to overwrite a newer version saved meanwhile by someone else."""
        folder = self.project_dir(strategy.slug)
        (folder / HISTORY_DIR).mkdir(parents=True, exist_ok=True)
        path = folder / STRATEGY_FILE
        on_disk = self._version_on_disk(path)
        if on_disk is not None and on_disk != strategy.version:
            raise WorkflowError(
                f"Le projet « {strategy.slug} » a été modifié ailleurs (version {on_disk}, "
                f"vous éditiez la version {strategy.version})",
                fix="rechargez le projet puis refaites la modification")
        try:
            # Items are edited in place, which skips pydantic's validators: check the whole before writing.
            Strategy.model_validate(strategy.model_dump())
        except ValidationError as e:
            raise WorkflowError(f"Modification refusée, la stratégie serait invalide : {_short_reason(e)}",
                                fix="corrigez la valeur en cause ; rien n'a été enregistré") from e
        strategy.version += 1
        strategy.updated_at = now_iso()
        text = strategy.model_dump_json(indent=2) + "\n"
        write_atomic(path, text)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        write_atomic(folder / HISTORY_DIR / f"v{strategy.version:06d}_{stamp}.json", text)
        self._prune(folder / HISTORY_DIR)
        return strategy

    def _version_on_disk(self, path: Path) -> int | None:
        if not path.is_file():
            return None
        try:
            return int(json.loads(path.read_text(encoding="utf-8"))["version"])
        except (ValueError, KeyError, TypeError):
            _set_aside(path)  # unreadable: keep it for a person to inspect, then write the valid one
            return None

    # --- history ----------------------------------------------------------------------------------------

    def versions(self, slug: str) -> list[VersionInfo]:
        """Saved versions, oldest first."""
        found = []
        for path in (self.project_dir(slug) / HISTORY_DIR).glob("v*.json"):
            if m := _HISTORY_NAME.match(path.name):
                when = datetime.strptime(m.group(2), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
                found.append(VersionInfo(version=int(m.group(1)), saved_at=when.isoformat(timespec="seconds"),
                                         file=str(path)))
        return sorted(found, key=lambda v: (v.version, v.saved_at))

    def load_version(self, slug: str, version: int) -> Strategy:
        matches = [v for v in self.versions(slug) if v.version == version]
        if not matches:
            kept = self.versions(slug)
            span = f"{kept[0].version} à {kept[-1].version}" if kept else "aucune"
            raise WorkflowError(f"La version {version} du projet « {slug} » n'est pas conservée",
                                fix=f"versions disponibles : {span}")
        return Strategy.model_validate_json(Path(matches[-1].file).read_bytes())

    def revert(self, slug: str, version: int) -> Strategy:
        """Make an old version current again, as a new version: nothing of the history is rewritten."""
        current = self.load(slug)
        old = self.load_version(slug, version)
        old.version = current.version
        return self.save(old)

    def _prune(self, history: Path) -> None:
        kept = sorted(history.glob("v*.json"), key=lambda p: p.name)
        for path in kept[: max(0, len(kept) - self.keep)]:
            path.unlink(missing_ok=True)

    def _recover(self, slug: str, path: Path, error: Exception) -> WorkflowError:
        """Set the unreadable file aside, restore the newest valid version, and explain what happened."""
        reason = _short_reason(error)
        corrupt = _set_aside(path)
        for info in reversed(self.versions(slug)):
            try:
                restored = Strategy.model_validate_json(Path(info.file).read_bytes())
            except (ValidationError, ValueError):
                continue
            # Continue numbering after every kept version, so no history name is reused.
            restored.version = max(v.version for v in self.versions(slug))
            write_atomic(path, restored.model_dump_json(indent=2) + "\n")
            return WorkflowError(
                f"Le fichier du projet « {slug} » était illisible ({reason}). Il a été conservé sous "
                f"« {corrupt.name} » et la version {info.version} du {info.saved_at[:16].replace('T', ' ')} "
                "a été restaurée",
                fix="rouvrez le projet pour continuer ; comparez avec le fichier .corrupt si une modification "
                "récente manque")
        return WorkflowError(
            f"Le fichier du projet « {slug} » est illisible ({reason}) et aucune version valide n'existe dans "
            f"l'historique. Il a été conservé sous « {corrupt.name} »",
            fix="corrigez ce fichier à la main puis renommez-le strategy.json, ou recréez le projet")

    # --- edits (load → change → save) ------------------------------------------------------------------

    def update_item(self, slug: str, stage: str, item_id: str, changes: dict[str, Any]) -> Strategy:
        strategy = self.load(slug)
        items.update_item(strategy, stage, item_id, changes)
        return self.save(strategy)

    def delete_item(self, slug: str, stage: str, item_id: str) -> Strategy:
        strategy = self.load(slug)
        items.delete_item(strategy, stage, item_id)
        return self.save(strategy)

    def add_item(self, slug: str, stage: str, field: str, item: Item) -> Strategy:
        strategy = self.load(slug)
        items.add_item(strategy, stage, field, item)
        return self.save(strategy)

    def go_back(self, slug: str, stage: str) -> Strategy:
        """Return to an earlier stage; later stages keep their content and are checked again on the way."""
        strategy = self.load(slug)
        set_stage_back(strategy, stage)
        return self.save(strategy)


def set_stage_back(strategy: Strategy, stage: str) -> None:
    target = STAGES.index(check_stage(stage))
    if target > STAGES.index(strategy.current_stage):
        current = STAGE_LABELS[strategy.current_stage]
        raise WorkflowError(
            f"« {STAGE_LABELS[stage]} » n'est pas une étape antérieure à « {current} »",
            fix="pour avancer, terminez l'étape en cours puis passez à la suivante")
    strategy.current_stage = STAGES[target]


def _set_aside(path: Path) -> Path:
    target = path.with_name(path.name + ".corrupt")
    if target.exists():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        target = path.with_name(f"{path.name}.{stamp}.corrupt")
    os.replace(path, target)
    return target


def _short_reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(map(str, first['loc']))} : {first['msg']}"
    return str(error).splitlines()[0][:120]
