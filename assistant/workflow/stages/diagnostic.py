"""Stage 1, diagnostic: reading evidence per axis, SWOT, targets and competitors; drafting them from documents."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from ..agenda import Question
from ..artifacts import AXIS_LABELS, Competitor, Evidence, Strategy, SwotItem, Target
from ..extraction import (
    MAX_DRAFT_ELEMENTS, DraftElement, DraftSpec, Extract, Extractor, Merged, SourceFactory, clean, make_figure,
    norm,
)
from ..provenance import OfficialDataSource, Provenance, now_iso

STAGE = "diagnostic"
_SWOT_FIELDS = {"force": ("strengths", "force"), "faiblesse": ("weaknesses", "faiblesse"),
                "opportunite": ("opportunities", "opportunité"), "menace": ("threats", "menace")}


class Chiffre(Extract):
    libelle: str = Field(description="Ce que mesure le chiffre, avec les mots de l'utilisateur")
    valeur: float
    unite: str = ""
    annee: int | None = None


class AxeExtrait(Extract):
    forces: list[str] = []
    faiblesses: list[str] = []
    chiffres: list[Chiffre] = []


class SwotExtrait(Extract):
    forces: list[str] = []
    faiblesses: list[str] = []


class EnvironnementExtrait(Extract):
    opportunites: list[str] = []
    menaces: list[str] = []


class ConstatSource(Extract):
    categorie: Literal["force", "faiblesse"]
    texte: str = Field(description="Le constat, en une phrase courte")
    source: str | None = Field(None, description="Document ou jeu de données cité, ex. INSEE, recensement")
    annee: int | None = Field(None, description="Année de la source")


class SwotSourceExtrait(Extract):
    constats: list[ConstatSource] = []


class Nomme(Extract):
    nom: str
    raison: str = ""


class CiblesExtrait(Extract):
    cibles: list[Nomme] = []


class ConcurrentsExtrait(Extract):
    concurrents: list[Nomme] = []


def _add_swot(s: Strategy, kind: str, texts: list[str], axis: str | None, source: SourceFactory,
              merged: Merged) -> None:
    field, what = _SWOT_FIELDS[kind]
    existing = getattr(s.diagnostic, field)
    for text in texts:
        text = clean(text)
        if text and norm(text) not in {norm(i.text) for i in existing}:
            merged.add(s, STAGE, field, SwotItem(text=text, axis=axis, provenance=source()), what)


def _axis(s: Strategy, x: AxeExtrait, q: Question, source: SourceFactory) -> Merged:
    merged, axis = Merged(), q.subject_id
    if axis not in AXIS_LABELS:
        merged.warnings.append(f"axe inconnu : {axis}")
        return merged
    _add_swot(s, "force", x.forces, axis, source, merged)
    _add_swot(s, "faiblesse", x.faiblesses, axis, source, merged)
    for c in x.chiffres:
        figure = make_figure(c.valeur, c.unite, c.annee, source, merged, "chiffre")
        if clean(c.libelle):
            merged.add(s, STAGE, "evidence", Evidence(axis=axis, statement=clean(c.libelle), figure=figure,
                                                      provenance=source()), f"constat ({AXIS_LABELS[axis]})")
    return merged


def _swot(s: Strategy, x: SwotExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    _add_swot(s, "force", x.forces, None, source, merged)
    _add_swot(s, "faiblesse", x.faiblesses, None, source, merged)
    return merged


def _environment(s: Strategy, x: EnvironnementExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    _add_swot(s, "opportunite", x.opportunites, None, source, merged)
    _add_swot(s, "menace", x.menaces, None, source, merged)
    return merged


def _sourced(s: Strategy, x: SwotSourceExtrait, q: Question, source: SourceFactory) -> Merged:
    """Forces and faiblesses with a source the person names: an official dataset with its year, confirmed by
    that person. A constat already present gets the source; one without a source is an ordinary answer."""
    merged = Merged()
    for c in x.constats:
        text, dataset = clean(c.texte), clean(c.source)
        if not text:
            continue
        if not dataset:
            _add_swot(s, c.categorie, [text], None, source, merged)
            merged.warnings.append(f"« {text} » enregistré sans source : précisez le document ou le jeu de "
                                   "données")
            continue
        year = c.annee if c.annee is not None else _last_year(dataset)  # « INSEE, recensement 2021 »
        if year is None or not 1800 <= year <= 2100:
            merged.warnings.append(f"source « {dataset} » sans année : « {text} » non enregistré comme sourcé, "
                                   "précisez l'année des données")
            continue
        cited = OfficialDataSource(dataset=dataset, year=year, confirmed=True, confirmed_at=now_iso())
        field, what = _SWOT_FIELDS[c.categorie]
        existing = next((i for i in getattr(s.diagnostic, field) if norm(i.text) == norm(text)), None)
        if existing is not None:
            existing.provenance = cited
            merged.modified(STAGE, existing, what, ["source"])
        else:
            merged.add(s, STAGE, field, SwotItem(text=text, provenance=cited), what)
    return merged


def _last_year(text: str) -> int | None:
    years = re.findall(r"\b(1[89]\d\d|20\d\d)\b", text)
    return int(years[-1]) if years else None


def _add_named(s: Strategy, field: str, cls: type, what: str, name: str, reason: str, source: Provenance,
               merged: Merged) -> None:
    name = clean(name)
    existing = getattr(s.diagnostic, field)
    if not name or norm(name) in {norm(i.name) for i in existing}:
        return
    extra = {"rationale": clean(reason)} if cls is Target else {"reason": clean(reason)}
    merged.add(s, STAGE, field, cls(name=name, provenance=source, **extra), what)


def _targets(s: Strategy, x: CiblesExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    for c in x.cibles:
        _add_named(s, "targets", Target, "cible prioritaire", c.nom, c.raison, source(), merged)
    return merged


def _competitors(s: Strategy, x: ConcurrentsExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    for c in x.concurrents:
        _add_named(s, "competitors", Competitor, "territoire concurrent", c.nom, c.raison, source(), merged)
    return merged


class ConstatBrouillon(DraftElement):
    categorie: Literal["force", "faiblesse", "opportunite", "menace", "cible", "concurrent"]
    texte: str = Field(description="Le constat, la cible ou le territoire concurrent, en une phrase courte")


class DiagnosticBrouillon(Extract):
    elements: list[ConstatBrouillon] = Field([], min_length=1, max_length=MAX_DRAFT_ELEMENTS)


def _draft_queries(s: Strategy) -> list[str]:
    name = s.cadrage.territory.name if s.cadrage.territory else ""
    return [f"{name} {label}" for label in AXIS_LABELS.values()] + [
        f"{name} cibles attractivité nouveaux habitants touristes entreprises", f"{name} territoires concurrents"]


def _draft_build(s: Strategy, e: ConstatBrouillon, source: Provenance, merged: Merged) -> None:
    if e.categorie == "cible":
        _add_named(s, "targets", Target, "cible prioritaire", e.texte, "", source, merged)
    elif e.categorie == "concurrent":
        _add_named(s, "competitors", Competitor, "territoire concurrent", e.texte, "", source, merged)
    else:
        _add_swot(s, e.categorie, [e.texte], None, lambda: source, merged)


EXTRACTORS = [
    Extractor("axe", AxeExtrait, _axis),
    Extractor("swot", SwotExtrait, _swot),
    Extractor("swot_source", SwotSourceExtrait, _sourced),
    Extractor("environnement", EnvironnementExtrait, _environment),
    Extractor("cibles", CiblesExtrait, _targets),
    Extractor("concurrents", ConcurrentsExtrait, _competitors),
]
DRAFT = DraftSpec(STAGE, DiagnosticBrouillon, _draft_queries, _draft_build)
