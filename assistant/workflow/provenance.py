"""Provenance: where every item and every figure of a strategy comes from, and whether a person confirmed it.

Five kinds, one discriminated union on ``kind``:

- ``document``: a passage of an indexed document (file, page, verbatim quote);
- ``donnee_officielle``: an official dataset (INSEE, Observatoire des territoires…) with its year;
- ``entretien``: an interview of a stakeholder (its type);
- ``utilisateur``: typed by the person using the assistant;
- ``hypothese``: proposed without a source; shown as a hypothesis until a person confirms it.

``confirmed`` is True only after a human act: what the user types is confirmed by definition, anything the
model drafted (even from a document) waits for review.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

StakeholderType = Literal[
    "entreprises", "ess", "associations", "ecoles", "universites", "clubs_sportifs",
    "habitants", "etudiants", "touristes", "investisseurs", "elus", "agents",
]
STAKEHOLDER_LABELS: dict[str, str] = {
    "entreprises": "entreprises",
    "ess": "acteurs de l'économie sociale et solidaire",
    "associations": "associations",
    "ecoles": "écoles et établissements scolaires",
    "universites": "universités et établissements d'enseignement supérieur",
    "clubs_sportifs": "clubs et établissements sportifs",
    "habitants": "habitants",
    "etudiants": "étudiants",
    "touristes": "touristes",
    "investisseurs": "investisseurs",
    "elus": "élus",
    "agents": "agents de la collectivité",
}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmed: bool = Field(False, description="Vrai seulement après validation par une personne")
    confirmed_at: str | None = Field(None, description="Horodatage ISO 8601 de la validation")
    recorded_at: str = Field(default_factory=now_iso, description="Horodatage ISO 8601 de l'enregistrement")


class DocumentSource(_Source):
    kind: Literal["document"] = "document"
    file: str = Field(min_length=1, description="Nom du fichier source")
    page: int | None = Field(None, ge=1, description="Page (1 = première page), absente hors PDF")
    section: str | None = Field(None, description="Section du document, hors PDF")
    quote: str = Field(min_length=1, description="Extrait verbatim vérifié dans le passage")


class OfficialDataSource(_Source):
    kind: Literal["donnee_officielle"] = "donnee_officielle"
    dataset: str = Field(min_length=1, description="Jeu de données, ex. « INSEE, populations légales »")
    year: int | None = Field(None, ge=1800, le=2100, description="Millésime des données")
    code: str | None = Field(None, description="Code du territoire dans le jeu de données")


class InterviewSource(_Source):
    kind: Literal["entretien"] = "entretien"
    confirmed: bool = True
    stakeholder_type: StakeholderType
    note: str = Field("", description="Contexte de l'entretien (date, personne, réunion…)")


class UserSource(_Source):
    kind: Literal["utilisateur"] = "utilisateur"
    confirmed: bool = True
    question: str | None = Field(None, description="Identifiant de la question à laquelle l'utilisateur répondait")


class HypothesisSource(_Source):
    kind: Literal["hypothese"] = "hypothese"
    rationale: str = Field("", description="Pourquoi cette hypothèse a été proposée")

    @model_validator(mode="after")
    def _confirmation_is_a_human_act(self) -> HypothesisSource:
        # A hypothesis must never look confirmed unless someone confirmed it (and we know when).
        if self.confirmed and not self.confirmed_at:
            raise ValueError("une hypothèse ne peut être confirmée que par une validation datée (confirmed_at)")
        return self


Provenance = Annotated[
    DocumentSource | OfficialDataSource | InterviewSource | UserSource | HypothesisSource,
    Field(discriminator="kind"),
]
ProvenanceKind = Literal["document", "donnee_officielle", "entretien", "utilisateur", "hypothese"]


def is_sourced(source: _Source) -> bool:
    """Verifiable by someone else: a cited document or an official dataset (not a claim, not a guess)."""
    return isinstance(source, (DocumentSource, OfficialDataSource))


def confirm(source: _Source) -> None:
    source.confirmed = True
    source.confirmed_at = now_iso()


def describe(source: _Source) -> str:
    """French one-liner shown next to an item: where it comes from, and whether it awaits review."""
    if isinstance(source, DocumentSource):
        where = f"p. {source.page}" if source.page else (source.section or "")
        text = f"« {source.quote} » ({source.file}{', ' + where if where else ''})"
    elif isinstance(source, OfficialDataSource):
        text = f"{source.dataset} ({source.year or 'millésime non précisé'})"
    elif isinstance(source, InterviewSource):
        text = f"entretien ({STAKEHOLDER_LABELS[source.stakeholder_type]})"
    elif isinstance(source, UserSource):
        text = "indiqué par l'utilisateur"
    elif isinstance(source, HypothesisSource):
        return "hypothèse validée" if source.confirmed else "HYPOTHÈSE à confirmer"
    else:  # pragma: no cover - exhaustive union
        text = "source inconnue"
    return text if source.confirmed else f"{text} — proposition à valider"
