"""Web interface in French: the only gradio importer. Layout and event wiring only; logic lives in the facades.

Screens: Discussion (sourced answers), Documents (upload, list, remove), Démarche (guided method), Exports,
Paramètres. One territory selector sits above the tabs and drives every screen.

Modules: ``app`` (the page and the territory selector), one module per screen (``discussion``, ``documents``,
``demarche``, ``exports``, ``settings``), ``format`` (their text, without gradio), ``project`` (what a value of the
selector designates), ``assets`` (theme, stylesheet, head script) and ``serve`` (launch options, start, launch).
"""

from __future__ import annotations

import os

# Before gradio is imported: no outbound traffic. Every module of this package imports gradio, and Python runs this
# file before any of them.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from .app import TITLE, build_app  # noqa: E402
from .demarche import DemarcheScreen  # noqa: E402
from .discussion import DiscussionScreen  # noqa: E402
from .documents import DOC_COLUMNS, REPORT_COLUMNS, DocumentsScreen, documents_frame, reports_frame  # noqa: E402
from .exports import DELIVERABLES, DOWNLOAD_DELIVERABLE, ExportsScreen  # noqa: E402
from .format import (LOADING, answer_markdown, gate_markdown, passages_markdown, question_markdown,  # noqa: E402
                     settings_markdown, stages_html)
from .project import NO_PROJECT, NOT_SHOWN  # noqa: E402
from .serve import launch, launch_options, start  # noqa: E402
from .settings import SettingsScreen  # noqa: E402
from .assets import HEAD, STATIC, theme  # noqa: E402

__all__ = [
    "DELIVERABLES", "DOC_COLUMNS", "DOWNLOAD_DELIVERABLE", "HEAD", "LOADING", "NOT_SHOWN", "NO_PROJECT",
    "REPORT_COLUMNS", "STATIC", "TITLE", "DemarcheScreen", "DiscussionScreen", "DocumentsScreen", "ExportsScreen",
    "SettingsScreen", "answer_markdown", "build_app", "documents_frame", "gate_markdown", "launch",
    "launch_options", "passages_markdown", "question_markdown", "reports_frame", "settings_markdown", "stages_html",
    "start", "theme",
]
