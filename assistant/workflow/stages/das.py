"""Stage 2, DAS: reading the domains, their grouping criterion, mission, means and budget; drafting domains."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..agenda import Question
from ..artifacts import Das, Strategy
from ..extraction import (
    MAX_DRAFT_ELEMENTS, DraftElement, DraftSpec, Extract, Extractor, Merged, SourceFactory, clean, make_figure,
    match_targets, norm, subject, union,
)
from ..provenance import Provenance

STAGE = "das"


class DasExtrait(Extract):
    nom: str
    activites: list[str] = []
    cibles: list[str] = Field([], description="Noms des cibles prioritaires visées")


class DasListeExtrait(Extract):
    das: list[DasExtrait] = []


class DasCritereExtrait(Extract):
    critere: Literal["externe", "interne", "externe_et_interne"] | None = None
    justification: str | None = None
    cibles: list[str] = []


class DasMissionExtrait(Extract):
    mission: str | None = None
    objectifs: list[str] = []


class DasMoyensExtrait(Extract):
    facteurs_cles: list[str] = []
    ressources: list[str] = Field([], description="Ressources et compétences de la collectivité")


class BudgetExtrait(Extract):
    montant: float | None = Field(None, description="Montant en euros, sans unité")
    annee: int | None = None
    note: str | None = Field(None, description="Précision, ou « non chiffré »")


def _list(s: Strategy, x: DasListeExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    for d in x.das:
        name = clean(d.nom)
        existing = next((das for das in s.das.domains if norm(das.name) == norm(name)), None)
        target_ids = match_targets(s, d.cibles, merged)
        if existing:
            added = union(existing.activities, d.activites)
            existing.activities.extend(added)
            new_targets = [t for t in target_ids if t not in existing.target_ids]
            existing.target_ids.extend(new_targets)
            merged.modified(STAGE, existing, "DAS", (["activités"] if added else []) +
                            (["cibles"] if new_targets else []))
        elif name:
            merged.add(s, STAGE, "domains", Das(name=name, activities=union([], d.activites), target_ids=target_ids,
                                                provenance=source()), "DAS")
    return merged


def _with_das(fn):
    """Run ``fn`` on the DAS the question is about, or explain that it no longer exists."""
    def merge(s: Strategy, x: BaseModel, q: Question, source: SourceFactory) -> Merged:
        merged = Merged()
        das = subject(s, q, Das)
        if das is None:
            merged.warnings.append("le DAS visé par la question n'existe plus")
            return merged
        changed = fn(s, das, x, source, merged)
        merged.modified(STAGE, das, "DAS", changed)
        return merged
    return merge


def _criterion(s: Strategy, das: Das, x: DasCritereExtrait, source: SourceFactory, merged: Merged) -> list[str]:
    changed = []
    if x.critere:
        das.criterion = x.critere
        changed.append("critère")
    if clean(x.justification):
        das.rationale = clean(x.justification)
        changed.append("justification")
    new_targets = [t for t in match_targets(s, x.cibles, merged) if t not in das.target_ids]
    if new_targets:
        das.target_ids.extend(new_targets)
        changed.append("cibles")
    return changed


def _mission(s: Strategy, das: Das, x: DasMissionExtrait, source: SourceFactory, merged: Merged) -> list[str]:
    changed = []
    if clean(x.mission):
        das.mission = clean(x.mission)
        changed.append("mission")
    if added := union(das.objectives, x.objectifs):
        das.objectives.extend(added)
        changed.append("objectifs")
    return changed


def _means(s: Strategy, das: Das, x: DasMoyensExtrait, source: SourceFactory, merged: Merged) -> list[str]:
    changed = []
    if added := union(das.key_success_factors, x.facteurs_cles):
        das.key_success_factors.extend(added)
        changed.append("facteurs clés de succès")
    if added := union(das.resources, x.ressources):
        das.resources.extend(added)
        changed.append("ressources")
    return changed


def _budget(s: Strategy, das: Das, x: BudgetExtrait, source: SourceFactory, merged: Merged) -> list[str]:
    changed = []
    figure = make_figure(x.montant, "€", x.annee, source, merged, "budget")
    if figure:
        das.budget = figure
        changed.append("budget")
    if clean(x.note):
        das.budget_note = clean(x.note)
        changed.append("note de budget")
    return changed


class DasBrouillon(DraftElement):
    nom: str = Field(description="Nom court du domaine d'activité stratégique")
    activites: list[str] = []


class DasPortefeuilleBrouillon(Extract):
    elements: list[DasBrouillon] = Field([], min_length=1, max_length=MAX_DRAFT_ELEMENTS)


def _draft_queries(s: Strategy) -> list[str]:
    name = s.cadrage.territory.name if s.cadrage.territory else ""
    return [f"{name} services de la collectivité compétences", f"{name} tourisme développement économique",
            f"{name} culture sport équipements", f"{name} budget par politique publique"]


def _draft_build(s: Strategy, e: DasBrouillon, source: Provenance, merged: Merged) -> None:
    if clean(e.nom) and norm(e.nom) not in {norm(d.name) for d in s.das.domains}:
        merged.add(s, STAGE, "domains", Das(name=clean(e.nom), activities=union([], e.activites),
                                            provenance=source), "DAS")


EXTRACTORS = [
    Extractor("das_liste", DasListeExtrait, _list),
    Extractor("das_critere", DasCritereExtrait, _with_das(_criterion)),
    Extractor("das_mission", DasMissionExtrait, _with_das(_mission)),
    Extractor("das_moyens", DasMoyensExtrait, _with_das(_means)),
    Extractor("budget", BudgetExtrait, _with_das(_budget)),
]
DRAFT = DraftSpec(STAGE, DasPortefeuilleBrouillon, _draft_queries, _draft_build)
