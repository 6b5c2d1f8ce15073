"""Item operations on a Strategy in memory: find, add, edit, delete (keeping links consistent), confirm, review.

Storage wraps these with a save; the engine uses them directly. Nothing here touches the disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from ..errors import WorkflowError
from .artifacts import STAGE_LABELS, STAGES, Figure, Item, Strategy, check_stage
from .provenance import UserSource, confirm, describe

# Fields that tie items together: deleting an item removes its id from these lists.
_LINK_FIELDS = ("target_ids", "kpi_ids", "action_ids")
_FROZEN_FIELDS = {"id"}


@dataclass(frozen=True)
class ItemRef:
    stage: str
    field: str
    item: Item


class Pending(BaseModel):
    """An item or figure awaiting a person's review, as listed to the user."""

    stage: str
    item_id: str
    field: str | None = None
    label: str
    kind: str
    status: str


def iter_items(strategy: Strategy, stage: str | None = None) -> Iterator[ItemRef]:
    for st in [check_stage(stage)] if stage else STAGES:
        artifact = strategy.artifact(st)
        for name in type(artifact).model_fields:
            value = getattr(artifact, name)
            if isinstance(value, Item):
                yield ItemRef(st, name, value)
            elif isinstance(value, list):
                yield from (ItemRef(st, name, v) for v in value if isinstance(v, Item))


def find_item(strategy: Strategy, item_id: str, stage: str | None = None) -> ItemRef:
    for ref in iter_items(strategy, stage):
        if ref.item.id == item_id:
            return ref
    where = f" dans l'étape « {STAGE_LABELS[stage]} »" if stage else ""
    raise WorkflowError(f"Aucun élément « {item_id} »{where}",
                        fix="vérifiez l'identifiant dans la liste des éléments de l'étape")


def add_item(strategy: Strategy, stage: str, field: str, item: Item) -> Item:
    artifact = strategy.artifact(stage)
    current = getattr(artifact, field)
    if isinstance(current, list):
        current.append(item)
    else:
        setattr(artifact, field, item)
    return item


def _replace(strategy: Strategy, ref: ItemRef, new: Item | None) -> None:
    artifact = strategy.artifact(ref.stage)
    current = getattr(artifact, ref.field)
    if isinstance(current, list):
        index = next(i for i, v in enumerate(current) if v.id == ref.item.id)
        if new is None:
            del current[index]
        else:
            current[index] = new
    else:
        setattr(artifact, ref.field, new)


def _as_user_figure(value: Any, old: Figure | None) -> Any:
    # A number typed by a person becomes a figure whose source is that person.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Figure(value=value, unit=old.unit if old else "", year=old.year if old else None,
                      provenance=UserSource()).model_dump()
    if isinstance(value, dict) and "value" in value and "provenance" not in value:
        base = {"unit": old.unit if old else "", "year": old.year if old else None}
        return {**base, **value, "provenance": UserSource().model_dump()}
    return value


def _is_figure_field(annotation: Any) -> bool:
    return annotation is Figure or Figure in get_args(annotation)


def update_item(strategy: Strategy, stage: str, item_id: str, changes: dict[str, Any]) -> Item:
    """Apply ``changes`` (field → new value) to one item; a bare number for a figure field is user-sourced."""
    ref = find_item(strategy, item_id, check_stage(stage))
    fields = type(ref.item).model_fields
    unknown = [k for k in changes if k not in fields or k in _FROZEN_FIELDS]
    if unknown:
        editable = ", ".join(k for k in fields if k not in _FROZEN_FIELDS)
        raise WorkflowError(f"Champ(s) non modifiable(s) pour « {ref.item.label()} » : {', '.join(unknown)}",
                            fix=f"champs modifiables : {editable}")
    data = ref.item.model_dump()
    for key, value in changes.items():
        is_figure = _is_figure_field(fields[key].annotation)
        data[key] = _as_user_figure(value, getattr(ref.item, key)) if is_figure else value
    try:
        new = type(ref.item).model_validate(data)
    except ValidationError as e:
        raise WorkflowError(f"Modification refusée pour « {ref.item.label()} » : {_french_errors(e)}",
                            fix="corrigez la valeur indiquée") from e
    _replace(strategy, ref, new)
    return new


def delete_item(strategy: Strategy, stage: str, item_id: str) -> Item:
    """Remove an item and every link to it (an action keeps existing when its KPI is deleted)."""
    ref = find_item(strategy, item_id, check_stage(stage))
    _replace(strategy, ref, None)
    for other in iter_items(strategy):
        for name in _LINK_FIELDS:
            ids = getattr(other.item, name, None)
            if isinstance(ids, list) and item_id in ids:
                ids.remove(item_id)
        if getattr(other.item, "das_id", None) == item_id:
            other.item.das_id = None  # type: ignore[attr-defined]
    return ref.item


def link(strategy: Strategy, action_id: str, kpi_id: str) -> None:
    """Tie an action and a KPI both ways, so that either side can be read alone."""
    action = find_item(strategy, action_id, "plan_action").item
    kpi = find_item(strategy, kpi_id, "tableau_de_bord").item
    if kpi_id not in action.kpi_ids:  # type: ignore[attr-defined]
        action.kpi_ids.append(kpi_id)  # type: ignore[attr-defined]
    if action_id not in kpi.action_ids:  # type: ignore[attr-defined]
        kpi.action_ids.append(action_id)  # type: ignore[attr-defined]


def confirm_item(strategy: Strategy, item_id: str, *, with_figures: bool = True) -> Item:
    """A person validates an item (and, by default, the figures it carries)."""
    item = find_item(strategy, item_id).item
    confirm(item.provenance)
    if with_figures:
        for _, figure in item.figures():
            confirm(figure.provenance)
    # Re-validate so that the hypothesis rule (confirmed needs confirmed_at) is checked on the result.
    type(item).model_validate(item.model_dump())
    return item


def pending_review(strategy: Strategy, stage: str | None = None) -> list[Pending]:
    """Items and figures not yet confirmed by a person: model drafts and hypotheses."""
    pending = []
    for ref in iter_items(strategy, stage):
        sources = [(None, ref.item.label(), ref.item.provenance)]
        sources += [(name, f"{ref.item.label()} — {name} : {fig.label()}", fig.provenance)
                    for name, fig in ref.item.figures()]
        for field, label, source in sources:
            if not source.confirmed:
                pending.append(Pending(stage=ref.stage, item_id=ref.item.id, field=field, label=label,
                                       kind=source.kind, status=describe(source)))
    return pending


def unconfirmed_hypotheses(strategy: Strategy, stage: str | None = None) -> list[Pending]:
    return [p for p in pending_review(strategy, stage) if p.kind == "hypothese"]


def _french_errors(error: ValidationError) -> str:
    parts = []
    for e in error.errors()[:4]:
        where = ".".join(str(x) for x in e["loc"] if not isinstance(x, int))
        parts.append(f"{where or 'valeur'} : {e['msg'].removeprefix('Value error, ')}")
    return " ; ".join(parts)
