"""Shared pieces of answer extraction and drafting: the change report, the extractor contract, merge helpers.

An extractor pairs a SMALL pydantic model (few fields, French keys: the local 1.5B model sees the keys while
it writes, and has a 4k context) with a merge function that turns the model's output into items of the
strategy. Merges are plain code: they decide ids, links and provenance, never the model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .agenda import Question
from .artifacts import Figure, Item, Strategy, Target
from .items import add_item, iter_items
from .provenance import Provenance
from .quotes import figure_supported

SourceFactory = Callable[[], Provenance]
"""Makes a fresh provenance for each new item or figure (user answer, interview, verified document…)."""


class Change(BaseModel):
    """One change made to the strategy, reported to the user."""

    action: Literal["ajout", "modification", "suppression", "validation"]
    stage: str
    item_id: str
    what: str
    label: str
    fields: list[str] = []

    def describe(self) -> str:
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.action} — {self.what} : « {self.label} »{detail}"


@dataclass
class Merged:
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, strategy: Strategy, stage: str, list_field: str, item: Item, what: str) -> Item:
        add_item(strategy, stage, list_field, item)
        self.changes.append(Change(action="ajout", stage=stage, item_id=item.id, what=what, label=item.label()))
        return item

    def modified(self, stage: str, item: Item, what: str, fields: list[str]) -> None:
        if fields:
            self.changes.append(Change(action="modification", stage=stage, item_id=item.id, what=what,
                                       label=item.label(), fields=fields))


def _require_every_key(schema: dict[str, Any]) -> None:
    schema["required"] = list(schema.get("properties", {}))


class Extract(BaseModel):
    """Base of every model the LLM fills. Its JSON Schema lists every key as required (null or [] allowed):
    under a grammar, optional keys let a small model close the object early and drop what it had read."""

    model_config = ConfigDict(json_schema_extra=_require_every_key)


MAX_DRAFT_ELEMENTS = 6
"""A draft lists 1 to 6 elements: under a grammar, at least one keeps a small model from answering with an empty
list, and at most six bounds the time spent generating on a CPU."""


class DraftElement(Extract):
    """Base of drafted elements. The quote comes first: the model copies its evidence, then states the claim."""

    extrait: str = Field("", description="Phrase copiée mot pour mot d'un passage, vide si aucune")
    passage: int | None = Field(None, description="Numéro du passage d'où vient l'extrait")


BuildFn = Callable[[Strategy, Any, Provenance, "Merged"], None]


@dataclass(frozen=True)
class DraftSpec:
    """How to draft a stage from documents: search queries, the output model, and how to add an element."""

    stage: str
    model: type[BaseModel]
    queries: Callable[[Strategy], list[str]]
    build: BuildFn


MergeFn = Callable[[Strategy, Any, Question, SourceFactory], Merged]


@dataclass(frozen=True)
class Extractor:
    """A question's reading of the user's answer: ``model`` for the LLM, ``merge`` into the artifact."""

    key: str
    model: type[BaseModel]
    merge: MergeFn


# --- numbers the person did not write ------------------------------------------------------------------


def keep_written_numbers(extracted: BaseModel, text: str) -> tuple[BaseModel, list[str]]:
    """Remove from ``extracted`` every number that ``text`` does not contain, and say so.

    A small model asked for « chiffres » fills them in, even when the person wrote none: a number that would be
    recorded as « indiqué par l'utilisateur » must be one the user wrote. An optional number becomes null; a list
    element that needs it (a figure without its value) is dropped whole.
    """
    warnings: list[str] = []

    def clean_model(model: BaseModel) -> BaseModel | None:
        data: dict[str, Any] = {}
        for name, field_info in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if not figure_supported(float(value), text):
                    warnings.append(f"le nombre {value:g} ne figure pas dans votre réponse : il n'est pas enregistré")
                    if field_info.is_required():
                        return None
                    value = None
            elif isinstance(value, BaseModel):
                value = clean_model(value)
                if value is None and field_info.is_required():
                    return None
            elif isinstance(value, list):
                value = [v for v in (clean_model(x) if isinstance(x, BaseModel) else x for x in value) if v is not None]
            data[name] = value
        return type(model).model_construct(**data)

    cleaned = clean_model(extracted)
    return (cleaned if cleaned is not None else extracted), warnings


# --- helpers shared by the stage modules ---------------------------------------------------------------


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip(" .;,")


def union(existing: list[str], new: list[str] | None) -> list[str]:
    """Append the new texts that are not already there (compared without case or accents)."""
    seen = {norm(x) for x in existing}
    added = []
    for text in new or []:
        text = clean(text)
        if text and norm(text) not in seen:
            seen.add(norm(text))
            added.append(text)
    return added


def match_target(strategy: Strategy, name: str) -> Target | None:
    """The priority target a name designates (« familles » finds « familles avec enfants »)."""
    wanted = norm(name)
    if not wanted:
        return None
    for target in strategy.diagnostic.targets:
        have = norm(target.name)
        if wanted == have or wanted in have or have in wanted:
            return target
    return None


def match_targets(strategy: Strategy, names: list[str], merged: Merged) -> list[str]:
    ids = []
    for name in names:
        target = match_target(strategy, name)
        if target is None:
            merged.warnings.append(f"cible « {clean(name)} » inconnue du diagnostic : ajoutez-la d'abord aux cibles "
                                   "prioritaires, ou reprenez son nom exact")
        elif target.id not in ids:
            ids.append(target.id)
    return ids


def make_figure(value: float | None, unit: str, year: int | None, source: SourceFactory,
                merged: Merged, what: str) -> Figure | None:
    if value is None:
        return None
    try:
        return Figure(value=value, unit=clean(unit), year=year, provenance=source())
    except ValidationError as e:
        merged.warnings.append(f"{what} « {value:g} » non enregistré : {e.errors()[0]['msg']}")
        return None


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})(?:-\d{1,2})?$")


def parse_month(text: str | None) -> str | None:
    """« 2025-3 », « 2025-03-15 » → « 2025-03 »; anything else is not a month (kept as a period by callers)."""
    m = _MONTH.match(clean(text))
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{m.group(1)}-{int(m.group(2)):02d}"
    return None


def subject(strategy: Strategy, question: Question, cls: type[Item]) -> Item | None:
    """The item a question is about (a DAS, an action, a target…), if it still exists."""
    for ref in iter_items(strategy):
        if ref.item.id == question.subject_id and isinstance(ref.item, cls):
            return ref.item
    return None
