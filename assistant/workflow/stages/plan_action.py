"""Stage 4, plan d'action: actions per target with channel, owner, calendar and budget; drafting actions."""

from __future__ import annotations

from pydantic import Field

from ..agenda import Question
from ..artifacts import Action, ActionType, Strategy, Target
from ..extraction import (
    MAX_DRAFT_ELEMENTS, DraftElement, DraftSpec, Extract, Extractor, Merged, SourceFactory, clean, make_figure,
    match_target, norm, parse_month, subject,
)
from ..provenance import Provenance, StakeholderType

STAGE = "plan_action"


class ActionExtraite(Extract):
    titre: str
    type: ActionType = "autre"
    canal: str = ""
    porteur: str = Field("", description="Qui porte l'action")
    type_porteur: StakeholderType | None = None


class ActionsExtrait(Extract):
    actions: list[ActionExtraite] = []


class ActionPorteurExtrait(Extract):
    porteur: str | None = None
    type_porteur: StakeholderType | None = None
    canal: str | None = None


class ActionCalendrierExtrait(Extract):
    debut: str | None = Field(None, description="Mois de début AAAA-MM")
    fin: str | None = Field(None, description="Mois de fin AAAA-MM")
    periode: str | None = Field(None, description="Période en clair si pas de dates")
    budget: float | None = Field(None, description="Montant en euros, sans unité")
    note_budget: str | None = None


def _add_action(s: Strategy, title: str, kind: ActionType, target: Target | None, channel: str, owner: str,
                owner_type: StakeholderType | None, source: Provenance, merged: Merged) -> None:
    title = clean(title)
    if not title or norm(title) in {norm(a.title) for a in s.plan_action.actions}:
        return
    merged.add(s, STAGE, "actions", Action(
        title=title, type=kind, target_ids=[target.id] if target else [], channel=clean(channel), owner=clean(owner),
        owner_type=owner_type, provenance=source), "action")


def _actions(s: Strategy, x: ActionsExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    target = subject(s, q, Target)
    for a in x.actions:
        _add_action(s, a.titre, a.type, target, a.canal, a.porteur, a.type_porteur, source(), merged)
    return merged


def _owner(s: Strategy, x: ActionPorteurExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    action = subject(s, q, Action)
    if action is None:
        merged.warnings.append("l'action visée par la question n'existe plus")
        return merged
    changed = []
    for field, value, label in (("owner", clean(x.porteur), "porteur"), ("channel", clean(x.canal), "canal")):
        if value and value != getattr(action, field):
            setattr(action, field, value)
            changed.append(label)
    if x.type_porteur and x.type_porteur != action.owner_type:
        action.owner_type = x.type_porteur
        changed.append("type de porteur")
    merged.modified(STAGE, action, "action", changed)
    return merged


def _calendar(s: Strategy, x: ActionCalendrierExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    action = subject(s, q, Action)
    if action is None:
        merged.warnings.append("l'action visée par la question n'existe plus")
        return merged
    changed = []
    start, end = parse_month(x.debut), parse_month(x.fin)
    period = clean(x.periode) or " – ".join(clean(v) for v in (x.debut, x.fin) if clean(v) and not parse_month(v))
    if start and end and end < start:
        merged.warnings.append(f"dates inversées ({start} après {end}) : vérifiez le calendrier")
        start, end = end, start
    for field, value, label in (("start", start, "début"), ("end", end, "fin"), ("period", period, "période")):
        if value and value != getattr(action, field):
            setattr(action, field, value)
            changed.append(label)
    figure = make_figure(x.budget, "€", int(start[:4]) if start else None, source, merged, "budget")
    if figure:
        action.budget = figure
        changed.append("budget")
    if clean(x.note_budget):
        action.budget_note = clean(x.note_budget)
        changed.append("note de budget")
    merged.modified(STAGE, action, "action", changed)
    return merged


class ActionBrouillon(DraftElement):
    titre: str
    type: ActionType = "autre"
    cible: str = Field("", description="Nom de la cible prioritaire visée")
    canal: str = ""


class PlanBrouillon(Extract):
    elements: list[ActionBrouillon] = Field([], min_length=1, max_length=MAX_DRAFT_ELEMENTS)


def _draft_queries(s: Strategy) -> list[str]:
    name = s.cadrage.territory.name if s.cadrage.territory else ""
    return [f"{name} campagne de communication événement salon", f"{name} site internet réseaux sociaux"] + \
        [f"{name} actions {t.name}" for t in s.diagnostic.targets[:3]]


def _draft_build(s: Strategy, e: ActionBrouillon, source: Provenance, merged: Merged) -> None:
    target = match_target(s, e.cible) if e.cible else None
    _add_action(s, e.titre, e.type, target, e.canal, "", None, source, merged)


EXTRACTORS = [
    Extractor("actions", ActionsExtrait, _actions),
    Extractor("action_porteur", ActionPorteurExtrait, _owner),
    Extractor("action_calendrier", ActionCalendrierExtrait, _calendar),
]
DRAFT = DraftSpec(STAGE, PlanBrouillon, _draft_queries, _draft_build)
