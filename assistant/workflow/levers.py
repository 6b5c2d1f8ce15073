"""The six levers of the method, checked by code over the artifacts and reported in French.

A lever is not a stage: it is a quality of the whole strategy (are the inhabitants listened to, are the actors
mobilised…). Each check returns what it counted, so the user sees why a lever is weak.
"""

from __future__ import annotations

from pydantic import BaseModel

from .artifacts import INVOLVEMENT_LABELS, Figure, Strategy
from .items import iter_items
from .provenance import STAKEHOLDER_LABELS, DocumentSource, HypothesisSource, InterviewSource, OfficialDataSource

LEVERS = (
    "écoute des habitants",
    "géographie et destination",
    "préparation et planification",
    "mobilisation des acteurs",
    "confiance",
    "transparence",
)
MIN_ASSOCIATED_TYPES = 3


class LeverCheck(BaseModel):
    lever: str
    ok: bool
    detail: str


class StepCheck(BaseModel):
    step: int
    label: str
    ok: bool
    detail: str


def _listening(s: Strategy) -> LeverCheck:
    habitants = [p for p in s.cadrage.stakeholders if p.type == "habitants"]
    interviews = [r for r in iter_items(s) if isinstance(r.item.provenance, InterviewSource)
                  and r.item.provenance.stakeholder_type == "habitants"]
    qualitative = [k for k in s.tableau_de_bord.kpis if k.nature == "qualitatif"]
    listened = any(p.involvement in ("consulte", "co_construit") for p in habitants)
    parts = [
        ("habitants : " + ", ".join(INVOLVEMENT_LABELS[p.involvement] + (f" ({p.how})" if p.how else "")
                                    for p in habitants)) if habitants
        else "les habitants ne figurent pas parmi les parties prenantes",
        f"{len(interviews)} élément(s) issu(s) d'entretiens avec des habitants",
        f"{len(qualitative)} indicateur(s) qualitatif(s) pour suivre leur satisfaction",
    ]
    return LeverCheck(lever=LEVERS[0], ok=listened or bool(interviews), detail=" ; ".join(parts))


def _geography(s: Strategy) -> LeverCheck:
    t = s.cadrage.territory
    if not t or not t.name:
        return LeverCheck(lever=LEVERS[1], ok=False, detail="territoire non renseigné")
    code = t.code_insee or t.siren
    parts = [f"{t.type or 'type non précisé'} de {t.name}" + (f" ({code})" if code else " (sans code officiel)"),
             t.settlement or "caractère rural/urbain non précisé",
             f"périmètre : {t.perimeter}" if t.perimeter else "périmètre non précisé",
             f"{len(s.diagnostic.competitors)} territoire(s) concurrent(s) identifié(s)"]
    ok = bool(t.type and code and t.settlement and s.diagnostic.competitors)
    return LeverCheck(lever=LEVERS[1], ok=ok, detail=" ; ".join(parts))


def _planning(s: Strategy) -> LeverCheck:
    actions, kpis = s.plan_action.actions, s.tableau_de_bord.kpis
    dated = sum(1 for a in actions if a.start or a.period)
    budgeted = sum(1 for a in actions if a.budget)
    with_deadline = sum(1 for k in kpis if k.target and k.target.year)
    parts = ["ambition formulée" if s.cadrage.ambition else "ambition non formulée",
             f"{dated} action(s) datée(s) sur {len(actions)}", f"{budgeted} budget(s) chiffré(s)",
             f"{with_deadline} indicateur(s) avec une échéance sur {len(kpis)}"]
    ok = bool(s.cadrage.ambition and actions and dated == len(actions) and kpis and with_deadline == len(kpis))
    return LeverCheck(lever=LEVERS[2], ok=ok, detail=" ; ".join(parts))


def _mobilisation(s: Strategy) -> LeverCheck:
    associated = sorted({p.type for p in s.cadrage.stakeholders if p.involvement != "non_associe"})
    owners = {a.owner_type for a in s.plan_action.actions if a.owner_type}
    without = [STAKEHOLDER_LABELS[t] for t in associated if t not in owners and t not in ("habitants", "touristes")]
    parts = [f"{len(associated)} type(s) de parties prenantes sur {len(STAKEHOLDER_LABELS)} associé(s)"]
    if s.plan_action.actions:
        parts.append("porteurs des actions : " + (", ".join(STAKEHOLDER_LABELS[o] for o in sorted(owners))
                                                   if owners else "non typés"))
        if "associations" not in owners:
            parts.append("aucune action n'a de porteur associatif")
        if without:
            parts.append("associés sans action portée : " + ", ".join(without))
    ok = len(associated) >= MIN_ASSOCIATED_TYPES and (not s.plan_action.actions or len(owners) >= 2)
    return LeverCheck(lever=LEVERS[3], ok=ok, detail=" ; ".join(parts))


def _sources(s: Strategy) -> list[tuple[object, bool]]:
    """(provenance, is_figure) of every item and figure."""
    found: list[tuple[object, bool]] = []
    for ref in iter_items(s):
        found.append((ref.item.provenance, False))
        found += [(f.provenance, True) for _, f in ref.item.figures() if isinstance(f, Figure)]
    return found


def _trust(s: Strategy) -> LeverCheck:
    sources = _sources(s)
    confirmed = sum(1 for p, _ in sources if p.confirmed)  # type: ignore[attr-defined]
    open_hypotheses = sum(1 for p, _ in sources if isinstance(p, HypothesisSource) and not p.confirmed)
    with_expectations = sum(1 for p in s.cadrage.stakeholders if p.expectations)
    parts = [f"{confirmed} élément(s) validé(s) sur {len(sources)}",
             f"{open_hypotheses} hypothèse(s) non confirmée(s)",
             f"attentes connues pour {with_expectations} partie(s) prenante(s) sur {len(s.cadrage.stakeholders)}"]
    ok = bool(sources) and confirmed == len(sources) and with_expectations == len(s.cadrage.stakeholders) > 0
    return LeverCheck(lever=LEVERS[4], ok=ok, detail=" ; ".join(parts))


def _transparency(s: Strategy) -> LeverCheck:
    figures = [p for p, is_figure in _sources(s) if is_figure]
    verifiable = sum(1 for p in figures if isinstance(p, (DocumentSource, OfficialDataSource)))
    hypotheses = sum(1 for p in figures if isinstance(p, HypothesisSource))
    kpis = s.tableau_de_bord.kpis
    sourced_kpis = sum(1 for k in kpis if k.source)
    parts = [f"{verifiable} chiffre(s) sur {len(figures)} vérifiable(s) (document ou donnée officielle)",
             f"{hypotheses} chiffre(s) hypothétique(s)",
             f"{sourced_kpis} indicateur(s) sur {len(kpis)} avec une source de mesure"]
    if s.overrides:
        parts.append(f"{len(s.overrides)} passage(s) d'étape forcé(s), raisons consignées")
    # Nothing measured yet is not transparency: the lever needs sourced indicators.
    ok = bool(kpis) and hypotheses == 0 and sourced_kpis == len(kpis) and (verifiable > 0 or not figures)
    return LeverCheck(lever=LEVERS[5], ok=ok, detail=" ; ".join(parts))


def check_levers(strategy: Strategy) -> list[LeverCheck]:
    """The six levers of the seed method, in its order."""
    return [f(strategy) for f in (_listening, _geography, _planning, _mobilisation, _trust, _transparency)]
