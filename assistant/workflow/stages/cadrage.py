"""Stage 0, cadrage: reading answers about the territory, the ambition and the stakeholders; drafting stakeholders."""

from __future__ import annotations

import re

from pydantic import Field, ValidationError

from ..agenda import Question
from ..artifacts import INSEE_PATTERN, SIREN_PATTERN, Ambition, Involvement, Item, Settlement, Stakeholder, Strategy, \
    Territory, TerritoryType
from ..extraction import (
    MAX_DRAFT_ELEMENTS, Change, DraftElement, DraftSpec, Extract, Extractor, Merged, SourceFactory, clean, subject,
    union,
)
from ..provenance import STAKEHOLDER_LABELS, Provenance, StakeholderType

STAGE = "cadrage"


class TerritoireExtrait(Extract):
    nom: str | None = Field(None, description="Nom du territoire")
    type: TerritoryType | None = None
    code: str | None = Field(None, description="Code INSEE (5 caractères pour une commune) ou SIREN (9 chiffres)")
    caractere: Settlement | None = None
    ambition: str | None = Field(None, description="Ce que la collectivité veut attirer ou retenir")


class AmbitionExtrait(Extract):
    ambition: str | None = None
    horizon: str | None = Field(None, description="Échéance, ex. 2030")


class PartiePrenanteExtraite(Extract):
    type: StakeholderType
    attentes: list[str] = []
    participation: Involvement | None = Field(None, description="non_associe seulement si elle ne participe pas")
    comment: str | None = Field(None, description="Comment elle participe : comité, atelier, enquête…")


class PartiesPrenantesExtrait(Extract):
    parties_prenantes: list[PartiePrenanteExtraite] = []


class AttentesExtrait(Extract):
    attentes: list[str] = []
    participation: Involvement | None = None
    comment: str | None = None


def _territory(s: Strategy, x: TerritoireExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    current = s.cadrage.territory
    data = current.model_dump() if current else {"provenance": source()}
    if current and not current.provenance.confirmed:
        data["provenance"] = source()  # the user now vouches for a drafted territory
    changed = []
    for key, value, label in (("name", clean(x.nom), "nom"), ("type", x.type, "type"),
                              ("settlement", x.caractere, "caractère")):
        if value and value != data.get(key):
            data[key] = value
            changed.append(label)
    code = re.sub(r"\s+", "", x.code or "").upper()
    if code:
        key = "siren" if re.match(SIREN_PATTERN, code) else "code_insee" if re.match(INSEE_PATTERN, code) else None
        if key and code != data.get(key):
            data[key] = code
            changed.append("SIREN" if key == "siren" else "code INSEE")
        elif key is None:
            merged.warnings.append(f"« {code} » n'est ni un code INSEE ni un numéro SIREN : code non enregistré")
    try:
        territory = Territory.model_validate(data)
    except ValidationError as e:
        # Only the INSEE code can contradict the type: keep everything else the user said.
        merged.warnings.append(f"code INSEE écarté : {e.errors()[0]['msg'].removeprefix('Value error, ')}")
        data["code_insee"] = None
        changed = [c for c in changed if c != "code INSEE"]
        if current and current.code_insee:
            changed.append("code INSEE")
        territory = Territory.model_validate(data)
    if changed:
        s.cadrage.territory = territory
        if current:
            merged.modified(STAGE, territory, "territoire", changed)
        else:
            merged.changes.append(_added(territory, "territoire"))
    if x.ambition and not s.cadrage.ambition:
        merged.add(s, STAGE, "ambition", Ambition(text=clean(x.ambition), provenance=source()), "ambition")
    return merged


def _added(item: Item, what: str) -> Change:
    return Change(action="ajout", stage=STAGE, item_id=item.id, what=what, label=item.label())


def _ambition(s: Strategy, x: AmbitionExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    if x.ambition:
        current = s.cadrage.ambition
        ambition = Ambition(text=clean(x.ambition), horizon=clean(x.horizon), provenance=source(),
                            **({"id": current.id} if current else {}))
        s.cadrage.ambition = ambition
        if current:
            merged.modified(STAGE, ambition, "ambition", ["texte", "horizon"])
        else:
            merged.changes.append(_added(ambition, "ambition"))
    return merged


def _involvement(value: Involvement | None, how: str) -> Involvement:
    # Saying how an actor takes part means it is at least consulted, whatever a small model picked (it tends to
    # pick the first choice of the list, « non_associe »).
    if how and value in (None, "non_associe"):
        return "consulte"
    return value or "non_associe"


def _stakeholders(s: Strategy, x: PartiesPrenantesExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    for pp in x.parties_prenantes:
        existing = next((p for p in s.cadrage.stakeholders if p.type == pp.type), None)
        if existing is None:
            how = clean(pp.comment)
            merged.add(s, STAGE, "stakeholders", Stakeholder(
                type=pp.type, expectations=union([], pp.attentes), involvement=_involvement(pp.participation, how),
                how=how, provenance=source()), "partie prenante")
        else:
            _complete(existing, pp.attentes, pp.participation, pp.comment, merged)
    return merged


def _complete(p: Stakeholder, attentes: list[str], participation: Involvement | None, how: str | None,
              merged: Merged) -> None:
    changed = []
    if added := union(p.expectations, attentes):
        p.expectations.extend(added)
        changed.append("attentes")
    if clean(how) and clean(how) != p.how:
        p.how = clean(how)
        changed.append("participation")
    level = _involvement(participation, p.how)
    if level != p.involvement and level != "non_associe":
        p.involvement = level
        changed.append("niveau d'association")
    merged.modified(STAGE, p, "partie prenante", changed)


def _expectations(s: Strategy, x: AttentesExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    p = subject(s, q, Stakeholder)
    if p is None:
        merged.warnings.append("la partie prenante visée par la question n'existe plus")
    else:
        _complete(p, x.attentes, x.participation, x.comment, merged)  # type: ignore[arg-type]
    return merged


class PartiePrenanteBrouillon(DraftElement):
    type: StakeholderType
    attente: str = Field(description="Ce que cet acteur attend de la démarche, d'après le passage")


class CadrageBrouillon(Extract):
    elements: list[PartiePrenanteBrouillon] = Field([], min_length=1, max_length=MAX_DRAFT_ELEMENTS)


def _draft_queries(s: Strategy) -> list[str]:
    name = s.cadrage.territory.name if s.cadrage.territory else ""
    return [f"{name} acteurs partenaires entreprises associations", f"{name} habitants attentes concertation",
            f"{name} établissements scolaires universités clubs sportifs"]


def _draft_build(s: Strategy, e: PartiePrenanteBrouillon, source: Provenance, merged: Merged) -> None:
    if any(p.type == e.type for p in s.cadrage.stakeholders):
        merged.warnings.append(f"{STAKEHOLDER_LABELS[e.type]} déjà présents : proposition « {e.attente} » "
                               "ignorée")
        return
    merged.add(s, STAGE, "stakeholders", Stakeholder(type=e.type, expectations=union([], [e.attente]),
                                                     provenance=source), "partie prenante")


EXTRACTORS = [
    Extractor("territoire", TerritoireExtrait, _territory),
    Extractor("ambition", AmbitionExtrait, _ambition),
    Extractor("parties_prenantes", PartiesPrenantesExtrait, _stakeholders),
    Extractor("attentes", AttentesExtrait, _expectations),
]
DRAFT = DraftSpec(STAGE, CadrageBrouillon, _draft_queries, _draft_build)
