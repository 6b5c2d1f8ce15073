"""One module per stage of the method, each exposing the same two entry points.

- ``EXTRACTORS``: the small models that read a user's answer to the stage's questions, and their merges;
- ``DRAFT``: how to draft the stage's items from retrieved passages.

Stage modules never import each other; the agenda names the extractor each question needs.
"""

from __future__ import annotations

from ..extraction import DraftSpec, Extractor
from . import cadrage, das, diagnostic, plan_action, positionnement, tableau_de_bord

_MODULES = (cadrage, diagnostic, das, positionnement, plan_action, tableau_de_bord)

EXTRACTORS: dict[str, Extractor] = {e.key: e for m in _MODULES for e in m.EXTRACTORS}
DRAFTS: dict[str, DraftSpec] = {m.STAGE: m.DRAFT for m in _MODULES}

__all__ = ["DRAFTS", "EXTRACTORS"]
