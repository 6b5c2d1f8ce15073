"""The state of a strategy at a glance, as data (``--json``) and as French text (``project show``, ``/etat``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from . import items
from .agenda import agenda, check_levers, check_steps
from .artifacts import STAGE_LABELS, STAGES, GateOverride, Strategy
from .items import Pending, pending_review, unconfirmed_hypotheses
from .levers import LeverCheck, StepCheck
from .provenance import describe


class StageProgress(BaseModel):
    stage: str
    label: str
    current: bool
    items: int = Field(description="Éléments enregistrés dans l'étape")
    ok: bool = Field(description="Le contrôle de l'étape est passé")
    missing: list[str] = Field(default_factory=list, description="Ce qui bloque le passage à l'étape suivante")
    pending: int = Field(0, description="Propositions à valider")


class PendingEntry(BaseModel):
    n: int = Field(description="Numéro utilisé par /confirmer N et /supprimer N")
    item_id: str
    stage: str
    label: str
    source: str


class NextQuestion(BaseModel):
    id: str
    text: str


class StrategyReport(BaseModel):
    slug: str
    title: str
    version: int
    updated_at: str
    current_stage: str
    current_stage_label: str
    stages: list[StageProgress]
    question: NextQuestion | None
    pending: list[PendingEntry] = Field(description="Propositions à valider dans l'étape en cours")
    hypotheses: list[Pending] = Field(description="Hypothèses non confirmées, toutes étapes")
    overrides: list[GateOverride]
    levers: list[LeverCheck]
    steps: list[StepCheck]


def pending_items(strategy: Strategy, stage: str) -> list[Pending]:
    """One entry per item awaiting review (an item and its figures are validated together)."""
    seen: dict[str, Pending] = {}
    for p in pending_review(strategy, stage):
        seen.setdefault(p.item_id, p)
    return list(seen.values())


def build_report(strategy: Strategy) -> StrategyReport:
    stages = []
    for stage in STAGES:
        gate = agenda(strategy, stage).gate
        stages.append(StageProgress(
            stage=stage, label=STAGE_LABELS[stage], current=stage == strategy.current_stage,
            items=sum(1 for _ in items.iter_items(strategy, stage)), ok=gate.ok, missing=gate.reasons,
            pending=len(pending_items(strategy, stage))))
    view = agenda(strategy)
    pending = []
    for n, p in enumerate(pending_items(strategy, strategy.current_stage), 1):
        item = items.find_item(strategy, p.item_id).item
        pending.append(PendingEntry(n=n, item_id=p.item_id, stage=p.stage, label=item.label(),
                                    source=describe(item.provenance)))
    return StrategyReport(
        slug=strategy.slug, title=strategy.title, version=strategy.version, updated_at=strategy.updated_at,
        current_stage=strategy.current_stage, current_stage_label=STAGE_LABELS[strategy.current_stage],
        stages=stages, question=NextQuestion(id=view.next.id, text=view.next.text) if view.next else None,
        pending=pending, hypotheses=unconfirmed_hypotheses(strategy), overrides=list(strategy.overrides),
        levers=check_levers(strategy), steps=check_steps(strategy))


def render_report(report: StrategyReport) -> str:
    lines = [f"Projet « {report.title} » ({report.slug}) — version {report.version}, étape en cours : "
             f"{report.current_stage_label}"]
    for i, st in enumerate(report.stages, 1):
        mark = "✓" if st.ok else ("→" if st.current else " ")
        status = "complète" if st.ok else f"{len(st.missing)} manque(s)"
        lines.append(f" {mark} {i}. {st.label} : {st.items} élément(s), {status}"
                     + (f", {st.pending} à valider" if st.pending else ""))
    current = next(st for st in report.stages if st.current)
    if current.missing:
        lines.append("Pour terminer l'étape en cours, il manque :")
        lines += [f"  - {r}" for r in current.missing]
    if report.question:
        lines.append(f"Question en cours : {report.question.text}")
    if report.pending:
        lines.append("Propositions à valider (/confirmer N, /supprimer N) :")
        lines += [f"  {p.n}. [{p.item_id}] {p.label} — {p.source}" for p in report.pending]
    if report.hypotheses:
        lines.append(f"Hypothèses non confirmées ({len(report.hypotheses)}) :")
        lines += [f"  - [{h.item_id}] {h.label} ({STAGE_LABELS[h.stage]})" for h in report.hypotheses[:10]]
    for o in report.overrides:
        lines.append(f"Passage forcé : {o.label()}")
    lines.append("Leviers :")
    lines += [f"  [{'ok' if c.ok else '..'}] {c.lever} : {c.detail}" for c in report.levers]
    lines.append("Étapes de la méthode :")
    lines += [f"  [{'ok' if c.ok else '..'}] {c.step}. {c.label} : {c.detail}" for c in report.steps]
    return "\n".join(lines)
