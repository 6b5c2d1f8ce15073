"""Stage 5, tableau de bord: one or more KPIs per action, with definition, source, baseline and target."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..agenda import Question
from ..artifacts import Action, Frequency, Kpi, Strategy
from ..extraction import (
    MAX_DRAFT_ELEMENTS, DraftElement, DraftSpec, Extract, Extractor, Merged, SourceFactory, clean, make_figure,
    norm, subject,
)
from ..items import link
from ..provenance import Provenance

STAGE = "tableau_de_bord"
_NATURE_QUESTIONS = ("tableau_de_bord.quantitatif", "tableau_de_bord.qualitatif")


class KpiExtrait(Extract):
    nom: str
    nature: Literal["quantitatif", "qualitatif"] = "quantitatif"
    formule: str | None = Field(None, description="Comment on calcule l'indicateur")
    source: str | None = Field(None, description="D'où vient la mesure : outil, enquête, jeu de données")
    frequence: Frequency | None = None
    responsable: str | None = None


class KpiValeursExtrait(Extract):
    valeur_initiale: float | None = None
    annee_initiale: int | None = None
    valeur_cible: float | None = None
    annee_cible: int | None = None
    unite: str | None = None


def _kpi(s: Strategy, x: KpiExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    action = subject(s, q, Action)
    if action is None:
        merged.warnings.append("l'action visée par la question n'existe plus")
        return merged
    existing = next((k for k in s.tableau_de_bord.kpis if norm(k.name) == norm(x.nom)), None)
    # The question asked for a missing nature: the answer is of that nature, whatever the model read.
    nature = q.id.rsplit(".", 1)[-1] if q.id in _NATURE_QUESTIONS else x.nature
    if existing is None:
        existing = merged.add(s, STAGE, "kpis", Kpi(
            name=clean(x.nom) or f"indicateur de « {action.title} »", nature=nature, formula=clean(x.formule),
            source=clean(x.source), frequency=x.frequence, owner=clean(x.responsable), objective=action.title,
            provenance=source()), "indicateur")
    link(s, action.id, existing.id)
    return merged


def _values(s: Strategy, x: KpiValeursExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    kpi = subject(s, q, Kpi)
    if kpi is None:
        merged.warnings.append("l'indicateur visé par la question n'existe plus")
        return merged
    changed = []
    unit = clean(x.unite)
    for field, value, year, label in (("baseline", x.valeur_initiale, x.annee_initiale, "valeur de départ"),
                                      ("target", x.valeur_cible, x.annee_cible, "valeur cible")):
        if value is None:
            continue
        if year is None:
            merged.warnings.append(f"{label} {value:g} non enregistrée : précisez son année")
            continue
        figure = make_figure(value, unit, year, source, merged, label)
        if figure:
            setattr(kpi, field, figure)
            changed.append(label)
    merged.modified(STAGE, kpi, "indicateur", changed)
    return merged


class IndicateurBrouillon(DraftElement):
    nom: str
    nature: Literal["quantitatif", "qualitatif"] = "quantitatif"
    valeur_initiale: float | None = Field(None, description="Valeur de départ écrite dans l'extrait, sinon vide")
    annee: int | None = None


class TableauBrouillon(Extract):
    elements: list[IndicateurBrouillon] = Field([], min_length=1, max_length=MAX_DRAFT_ELEMENTS)


def _draft_queries(s: Strategy) -> list[str]:
    name = s.cadrage.territory.name if s.cadrage.territory else ""
    return [f"{name} fréquentation nombre de visiteurs", f"{name} population évolution emploi",
            f"{name} enquête satisfaction habitants"]


def _draft_build(s: Strategy, e: IndicateurBrouillon, source: Provenance, merged: Merged) -> None:
    if norm(e.nom) in {norm(k.name) for k in s.tableau_de_bord.kpis} or not clean(e.nom):
        return
    baseline = None
    if e.valeur_initiale is not None:
        if e.annee is None:
            merged.warnings.append(f"« {e.nom} » : valeur de départ sans année ignorée")
        else:
            baseline = make_figure(e.valeur_initiale, "", e.annee, lambda: source.model_copy(), merged,
                                   f"valeur de départ de « {e.nom} »")
            if baseline is None:
                return  # the figure is not in its quote: the whole proposal is unreliable
    merged.add(s, STAGE, "kpis", Kpi(name=clean(e.nom), nature=e.nature, baseline=baseline,
                                     source=getattr(source, "file", ""), provenance=source), "indicateur")


EXTRACTORS = [
    Extractor("kpi", KpiExtrait, _kpi),
    Extractor("kpi_valeurs", KpiValeursExtrait, _values),
]
DRAFT = DraftSpec(STAGE, TableauBrouillon, _draft_queries, _draft_build)
