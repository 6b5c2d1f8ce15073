"""Stage artifacts of the method (cadrage → tableau de bord), the ``Strategy`` that holds them, their JSON Schemas.

Every item has a stable id (``das-3fa2b1``) so it can be edited, linked and deleted, and a required
``provenance``. Every figure (budget, baseline, target, evidence) is a ``Figure`` with its own provenance:
a number cannot enter a strategy without saying where it comes from, and a hypothesis stays marked until a
person confirms it (``items.pending_review``).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import WorkflowError
from .provenance import (
    STAKEHOLDER_LABELS, DocumentSource, HypothesisSource, OfficialDataSource, Provenance, StakeholderType,
    describe, now_iso,
)
from .quotes import figure_supported

Stage = Literal["cadrage", "diagnostic", "das", "positionnement", "plan_action", "tableau_de_bord"]
STAGES: tuple[Stage, ...] = ("cadrage", "diagnostic", "das", "positionnement", "plan_action", "tableau_de_bord")
STAGE_LABELS: dict[str, str] = {
    "cadrage": "Cadrage et parties prenantes",
    "diagnostic": "Diagnostic du territoire",
    "das": "Domaines d'activité stratégique (DAS)",
    "positionnement": "Positionnement et promesse",
    "plan_action": "Plan d'action marketing",
    "tableau_de_bord": "Tableau de bord de suivi",
}
TerritoryType = Literal["commune", "epci", "departement", "region"]
Settlement = Literal["rural", "urbain", "mixte"]
Involvement = Literal["non_associe", "informe", "consulte", "co_construit"]
INVOLVEMENT_LABELS = {"non_associe": "non associé", "informe": "informé", "consulte": "consulté",
                      "co_construit": "co-construit"}
Axis = Literal["transport", "fiscalite", "main_oeuvre", "qualite_vie", "atouts_economiques"]
AXIS_LABELS: dict[str, str] = {
    "transport": "infrastructures de transport",
    "fiscalite": "fiscalité",
    "main_oeuvre": "qualification de la main-d'œuvre",
    "qualite_vie": "qualité de vie",
    "atouts_economiques": "atouts économiques",
}
ActionType = Literal["campagne_ciblee", "evenement", "site_web_multilingue", "reseaux_sociaux", "autre"]
ACTION_TYPE_LABELS = {"campagne_ciblee": "campagne ciblée", "evenement": "événement",
                      "site_web_multilingue": "site web multilingue", "reseaux_sociaux": "réseaux sociaux",
                      "autre": "autre"}
Frequency = Literal["mensuelle", "trimestrielle", "semestrielle", "annuelle", "ponctuelle"]
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,47}$"
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
INSEE_PATTERN = r"^(\d{2}|2[AB]|97[1-6]|\d{5}|2[AB]\d{3})$"
SIREN_PATTERN = r"^\d{9}$"


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


class Figure(BaseModel):
    """A number and where it comes from. A document figure must be written in its quote."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    value: float
    unit: str = Field("", description="Unité : €, %, habitants, visiteurs…")
    year: int | None = Field(None, ge=1800, le=2100, description="Année de la valeur")
    provenance: Provenance

    @model_validator(mode="after")
    def _figure_is_sourced(self) -> Figure:
        p = self.provenance
        if isinstance(p, DocumentSource) and not figure_supported(self.value, p.quote):
            raise ValueError(f"la valeur {self.value:g} n'apparaît pas dans l'extrait cité « {p.quote[:80]} »")
        if isinstance(p, OfficialDataSource) and self.year is None and p.year is None:
            raise ValueError("une donnée officielle doit indiquer son millésime (year)")
        return self

    def label(self) -> str:
        number = f"{self.value:,.2f}".rstrip("0").rstrip(".").replace(",", "\u202f").replace(".", ",")
        unit = f" {self.unit}" if self.unit else ""
        year = f" ({self.year})" if self.year else ""
        marker = f" [{describe(self.provenance)}]" if isinstance(self.provenance, HypothesisSource) or \
            not self.provenance.confirmed else ""
        return f"{number}{unit}{year}{marker}"


class Item(BaseModel):
    """Base of every editable element: a stable id and a provenance."""

    model_config = ConfigDict(extra="forbid")
    id_prefix: ClassVar[str] = "item"

    id: str = Field(pattern=ID_PATTERN, description="Identifiant stable de l'élément")
    provenance: Provenance

    @model_validator(mode="before")
    @classmethod
    def _assign_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("id"):
            data = {**data, "id": new_id(cls.id_prefix)}
        return data

    def label(self) -> str:
        return self.id

    def figures(self) -> list[tuple[str, Figure]]:
        return [(name, value) for name in type(self).model_fields
                if isinstance(value := getattr(self, name), Figure)]


# --- 0. cadrage -----------------------------------------------------------------------------------------


class Territory(Item):
    id_prefix: ClassVar[str] = "ter"
    name: str = ""
    type: TerritoryType | None = None
    code_insee: str | None = Field(None, pattern=INSEE_PATTERN, description="Code officiel géographique INSEE")
    siren: str | None = Field(None, pattern=SIREN_PATTERN, description="Numéro SIREN (EPCI, collectivité)")
    settlement: Settlement | None = Field(None, description="Caractère rural, urbain ou mixte")
    perimeter: str = Field("", description="Périmètre : communes concernées, destination promue")

    @model_validator(mode="after")
    def _code_matches_type(self) -> Territory:
        expected = {"commune": (5,), "departement": (2, 3), "region": (2,)}.get(self.type or "")
        if self.code_insee and expected and len(self.code_insee) not in expected:
            raise ValueError(f"le code INSEE « {self.code_insee} » ne correspond pas à un(e) {self.type}")
        return self

    def label(self) -> str:
        return self.name or "territoire"


class Ambition(Item):
    id_prefix: ClassVar[str] = "amb"
    text: str = Field(min_length=1)
    horizon: str = Field("", description="Horizon de temps, ex. 2030")

    def label(self) -> str:
        return self.text


class Stakeholder(Item):
    id_prefix: ClassVar[str] = "pp"
    type: StakeholderType
    name: str = Field("", description="Acteur précis, ex. « CCI des Côtes-d'Armor »")
    expectations: list[str] = Field(default_factory=list, description="Attentes vis-à-vis de la démarche")
    involvement: Involvement = "non_associe"
    how: str = Field("", description="Comment il participe : comité, atelier, enquête…")

    def label(self) -> str:
        return self.name or STAKEHOLDER_LABELS[self.type]


class Cadrage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    territory: Territory | None = None
    ambition: Ambition | None = None
    stakeholders: list[Stakeholder] = Field(default_factory=list)


# --- 1. diagnostic --------------------------------------------------------------------------------------


class Evidence(Item):
    id_prefix: ClassVar[str] = "ev"
    axis: Axis
    statement: str = Field(min_length=1)
    figure: Figure | None = None

    def label(self) -> str:
        return self.statement + (f" : {self.figure.label()}" if self.figure else "")


class SwotItem(Item):
    id_prefix: ClassVar[str] = "sw"
    text: str = Field(min_length=1)
    axis: Axis | None = None

    def label(self) -> str:
        return self.text


class Target(Item):
    id_prefix: ClassVar[str] = "cib"
    name: str = Field(min_length=1, description="Cible prioritaire, ex. « familles avec jeunes enfants »")
    rationale: str = ""

    def label(self) -> str:
        return self.name


class Competitor(Item):
    id_prefix: ClassVar[str] = "conc"
    name: str = Field(min_length=1)
    reason: str = Field("", description="Sur quelles cibles il est concurrent")

    def label(self) -> str:
        return self.name


class Diagnostic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evidence: list[Evidence] = Field(default_factory=list)
    strengths: list[SwotItem] = Field(default_factory=list)
    weaknesses: list[SwotItem] = Field(default_factory=list)
    opportunities: list[SwotItem] = Field(default_factory=list)
    threats: list[SwotItem] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    competitors: list[Competitor] = Field(default_factory=list)


# --- 2. DAS ---------------------------------------------------------------------------------------------


class Das(Item):
    id_prefix: ClassVar[str] = "das"
    name: str = Field(min_length=1)
    activities: list[str] = Field(default_factory=list)
    target_ids: list[str] = Field(default_factory=list, description="Cibles (acteurs) visées : critère externe")
    mission: str = ""
    objectives: list[str] = Field(default_factory=list)
    key_success_factors: list[str] = Field(default_factory=list, description="Facteurs clés de succès (FCS)")
    resources: list[str] = Field(default_factory=list, description="Ressources et compétences : critère interne")
    budget: Figure | None = Field(None, description="Budget propre du DAS")
    budget_note: str = ""
    criterion: Literal["externe", "interne", "externe_et_interne"] | None = Field(
        None, description="Critère de regroupement des activités")
    rationale: str = Field("", description="Pourquoi ces activités sont regroupées (ou séparées)")

    def label(self) -> str:
        return self.name


class DasPortfolio(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domains: list[Das] = Field(default_factory=list)


# --- 3. positionnement ----------------------------------------------------------------------------------


class Positioning(Item):
    id_prefix: ClassVar[str] = "pos"
    target_id: str
    advantages: list[str] = Field(default_factory=list, description="Avantages compétitifs")
    promise: str = Field("", description="Promesse faite à la cible")
    identity_markers: list[str] = Field(default_factory=list, description="Marqueurs identitaires")
    slogan: str = ""

    def label(self) -> str:
        return self.promise or self.slogan or f"positionnement ({self.target_id})"


class Positionnement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    positionings: list[Positioning] = Field(default_factory=list)


# --- 4. plan d'action -----------------------------------------------------------------------------------


class Action(Item):
    id_prefix: ClassVar[str] = "act"
    title: str = Field(min_length=1)
    type: ActionType = "autre"
    target_ids: list[str] = Field(default_factory=list)
    das_id: str | None = None
    channel: str = Field("", description="Canal : presse, salon, site, Instagram…")
    owner: str = Field("", description="Porteur de l'action (acteur)")
    owner_type: StakeholderType | None = None
    start: str | None = Field(None, pattern=MONTH_PATTERN, description="Début, AAAA-MM")
    end: str | None = Field(None, pattern=MONTH_PATTERN, description="Fin, AAAA-MM")
    period: str = Field("", description="Période en clair si pas de dates, ex. « chaque été »")
    budget: Figure | None = None
    budget_note: str = Field("", description="Obligatoire si le budget n'est pas chiffré")
    kpi_ids: list[str] = Field(default_factory=list, description="Indicateurs qui mesurent l'action")

    @model_validator(mode="after")
    def _calendar_in_order(self) -> Action:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"la fin ({self.end}) précède le début ({self.start})")
        return self

    def label(self) -> str:
        return self.title


class PlanAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actions: list[Action] = Field(default_factory=list)


# --- 5. tableau de bord ---------------------------------------------------------------------------------


class Kpi(Item):
    id_prefix: ClassVar[str] = "kpi"
    name: str = Field(min_length=1)
    nature: Literal["quantitatif", "qualitatif"] = "quantitatif"
    definition: str = ""
    formula: str = ""
    source: str = Field("", description="Source de la mesure (outil, enquête, jeu de données)")
    baseline: Figure | None = Field(None, description="Valeur de départ, avec son année")
    target: Figure | None = Field(None, description="Valeur visée, avec son année")
    frequency: Frequency | None = None
    owner: str = ""
    action_ids: list[str] = Field(default_factory=list)
    objective: str = ""

    @model_validator(mode="after")
    def _dated_values(self) -> Kpi:
        for name in ("baseline", "target"):
            figure = getattr(self, name)
            if figure is not None and figure.year is None:
                raise ValueError(f"{name} : l'année de la valeur est obligatoire")
        return self

    def label(self) -> str:
        return self.name


class TableauDeBord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kpis: list[Kpi] = Field(default_factory=list)


STAGE_MODELS: dict[str, type[BaseModel]] = {
    "cadrage": Cadrage, "diagnostic": Diagnostic, "das": DasPortfolio,
    "positionnement": Positionnement, "plan_action": PlanAction, "tableau_de_bord": TableauDeBord,
}


class GateOverride(BaseModel):
    """A stage left although its gate refused: what was missing, and why the person chose to go on anyway."""

    model_config = ConfigDict(extra="forbid")

    stage: Stage = Field(description="Étape quittée malgré le contrôle")
    reasons_overridden: list[str] = Field(min_length=1, description="Ce qui manquait au moment du passage")
    reason: str = Field(min_length=1, description="Raison donnée par l'utilisateur pour passer outre")
    at: str = Field(default_factory=now_iso, description="Horodatage ISO 8601 du passage forcé")

    def label(self) -> str:
        return (f"{STAGE_LABELS[self.stage]} — passage forcé le {self.at[:16].replace('T', ' ')} : "
                f"« {self.reason} » ({len(self.reasons_overridden)} manque(s) : "
                + " ; ".join(self.reasons_overridden[:3]) + (" …" if len(self.reasons_overridden) > 3 else "") + ")")


class Strategy(BaseModel):
    """One territory's strategy: all stage artifacts, the current stage and a version bumped at every save."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")
    title: str = Field(min_length=1)
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    version: int = Field(0, ge=0)
    current_stage: Stage = "cadrage"
    skipped: list[str] = Field(default_factory=list, description="Questions reportées par l'utilisateur")
    overrides: list[GateOverride] = Field(
        default_factory=list, description="Passages d'étape forcés malgré le contrôle, avec leur raison")
    cadrage: Cadrage = Field(default_factory=Cadrage)
    diagnostic: Diagnostic = Field(default_factory=Diagnostic)
    das: DasPortfolio = Field(default_factory=DasPortfolio)
    positionnement: Positionnement = Field(default_factory=Positionnement)
    plan_action: PlanAction = Field(default_factory=PlanAction)
    tableau_de_bord: TableauDeBord = Field(default_factory=TableauDeBord)

    def artifact(self, stage: str) -> BaseModel:
        return getattr(self, check_stage(stage))


def check_stage(stage: str) -> Stage:
    if stage not in STAGES:
        raise WorkflowError(f"Étape inconnue : « {stage} »", fix="étapes possibles : " + ", ".join(STAGES))
    return stage  # type: ignore[return-value]


def stage_schema(stage: str) -> dict:
    """JSON Schema of one stage artifact (what ``strategy.json`` holds under that key)."""
    schema = STAGE_MODELS[check_stage(stage)].model_json_schema()
    schema["$id"] = f"{stage}.schema.json"
    return schema


def strategy_schema() -> dict:
    schema = Strategy.model_json_schema()
    schema["$id"] = "strategy.schema.json"
    return schema


def export_schemas(directory: Path) -> list[Path]:
    """Write ``<stage>.schema.json`` for each stage and ``strategy.schema.json`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in [*((s, stage_schema(s)) for s in STAGES), ("strategy", strategy_schema())]:
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
