"""The territory selector's values, without gradio: which territory a value designates, and its project space.

Every screen reads the selector through ``_space``.
"""

from __future__ import annotations

import unicodedata

from .. import session
from ..core import Assistant

NOT_SHOWN = False  # value of the page's territory state before the page has loaded (None is: no territory)
NO_PROJECT = "Choisissez un territoire en haut de la page, ou tapez le nom d'un nouveau territoire."


def _project_key(name: str | None) -> str | None:
    """The territory a value of the selector designates, read as ``ProjectSpace`` reads it (« Dinan » typed with a
    trailing space is « Dinan »); None for no territory."""
    return unicodedata.normalize("NFC", str(name or "").strip()) or None


def _space(assistant: Assistant, project: str | None) -> session.ProjectSpace | None:
    if not project or not str(project).strip():
        return None
    return session.ProjectSpace(assistant, project)
