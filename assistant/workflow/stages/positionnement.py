"""Stage 3, positionnement: per priority target, advantages, promise, identity markers and slogan."""

from __future__ import annotations

from pydantic import Field

from ..agenda import Question
from ..artifacts import Positioning, Strategy, Target
from ..extraction import (
    MAX_DRAFT_ELEMENTS, DraftElement, DraftSpec, Extract, Extractor, Merged, SourceFactory, clean, match_target,
    subject, union,
)
from ..provenance import Provenance

STAGE = "positionnement"


class PositionnementExtrait(Extract):
    avantages: list[str] = Field([], description="Avantages compétitifs pour cette cible")
    promesse: str | None = None
    marqueurs: list[str] = Field([], description="Marqueurs identitaires")
    slogan: str | None = None


def _apply(s: Strategy, target: Target, avantages: list[str], promesse: str | None, marqueurs: list[str],
           slogan: str | None, source: Provenance, merged: Merged) -> None:
    current = next((p for p in s.positionnement.positionings if p.target_id == target.id), None)
    if current is None:
        merged.add(s, STAGE, "positionings", Positioning(
            target_id=target.id, advantages=union([], avantages), promise=clean(promesse),
            identity_markers=union([], marqueurs), slogan=clean(slogan), provenance=source),
            f"positionnement ({target.name})")
        return
    changed = []
    if added := union(current.advantages, avantages):
        current.advantages.extend(added)
        changed.append("avantages")
    if added := union(current.identity_markers, marqueurs):
        current.identity_markers.extend(added)
        changed.append("marqueurs identitaires")
    for field, value, label in (("promise", clean(promesse), "promesse"), ("slogan", clean(slogan), "slogan")):
        if value and value != getattr(current, field):
            setattr(current, field, value)
            changed.append(label)
    merged.modified(STAGE, current, f"positionnement ({target.name})", changed)


def _positioning(s: Strategy, x: PositionnementExtrait, q: Question, source: SourceFactory) -> Merged:
    merged = Merged()
    target = subject(s, q, Target)
    if target is None:
        merged.warnings.append("la cible visée par la question n'existe plus dans le diagnostic")
    else:
        _apply(s, target, x.avantages, x.promesse, x.marqueurs, x.slogan, source(), merged)
    return merged


class PositionnementBrouillon(DraftElement):
    cible: str = Field(description="Nom de la cible prioritaire concernée")
    avantages: list[str] = []
    promesse: str = ""
    slogan: str = ""


class PositionnementsBrouillon(Extract):
    elements: list[PositionnementBrouillon] = Field([], min_length=1, max_length=MAX_DRAFT_ELEMENTS)


def _draft_queries(s: Strategy) -> list[str]:
    name = s.cadrage.territory.name if s.cadrage.territory else ""
    return [f"{name} atouts {t.name}" for t in s.diagnostic.targets[:3]] + [f"{name} image identité patrimoine"]


def _draft_build(s: Strategy, e: PositionnementBrouillon, source: Provenance, merged: Merged) -> None:
    target = match_target(s, e.cible)
    if target is None:
        merged.warnings.append(f"proposition ignorée : « {e.cible} » n'est pas une cible prioritaire du diagnostic")
    elif any(p.target_id == target.id for p in s.positionnement.positionings):
        merged.warnings.append(f"« {target.name} » a déjà un positionnement : proposition ignorée")
    else:
        _apply(s, target, e.avantages, e.promesse, [], e.slogan, source, merged)


EXTRACTORS = [Extractor("positionnement", PositionnementExtrait, _positioning)]
DRAFT = DraftSpec(STAGE, PositionnementsBrouillon, _draft_queries, _draft_build)
