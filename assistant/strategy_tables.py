"""Stage artifacts as editable tables: items → rows (with their provenance), edited rows → item changes.

Plain data (headers and lists of cells), no UI library: the web UI shows them as data frames, and the same
functions can be tested alone. Links between items (targets of a DAS, KPIs of an action…) are shown by name
and stay read-only here: they are set by answering the method's questions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .errors import WorkflowError
from .workflow.artifacts import (
    ACTION_TYPE_LABELS, AXIS_LABELS, INVOLVEMENT_LABELS, STAGE_LABELS, Figure, Item, Strategy,
)
from .workflow.provenance import STAKEHOLDER_LABELS, HypothesisSource, UserSource, describe

ID_HEADER = "Réf."
PROVENANCE_HEADER = "Provenance"
LIST_SEP = " ; "

KIND_LABELS = {"document": "Document", "donnee_officielle": "Donnée officielle", "entretien": "Entretien",
               "utilisateur": "Utilisateur", "hypothese": "Hypothèse"}
TERRITORY_TYPES = {"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région"}
SETTLEMENTS = {"rural": "rural", "urbain": "urbain", "mixte": "mixte"}
NATURES = {"quantitatif": "quantitatif", "qualitatif": "qualitatif"}
FREQUENCIES = {f: f for f in ("mensuelle", "trimestrielle", "semestrielle", "annuelle", "ponctuelle")}
CRITERIA = {"externe": "externe", "interne": "interne", "externe_et_interne": "externe et interne"}


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    kind: str = "text"  # text | list | figure | enum | ref | refs
    choices: dict[str, str] = field(default_factory=dict)  # enum: value -> French label

    @property
    def editable(self) -> bool:
        return self.kind not in ("ref", "refs")

    @property
    def width(self) -> int:
        """Pixels: wide tables scroll sideways instead of squeezing their columns."""
        return {"list": 230, "figure": 170, "enum": 160, "ref": 160, "refs": 190}.get(self.kind, 210)


@dataclass(frozen=True)
class Table:
    """One list (or single item) of a stage artifact shown as a table."""

    stage: str
    field: str
    title: str
    item_type: str
    columns: tuple[Column, ...]
    single: bool = False
    addable: bool = True

    @property
    def key(self) -> str:
        return f"{self.stage}.{self.field}"

    # Display order: the item's name, its provenance (always in view), the other fields, the id last.
    @property
    def headers(self) -> list[str]:
        first, *rest = self.columns
        return [first.header, PROVENANCE_HEADER, *(c.header for c in rest), ID_HEADER]

    def to_row(self, cells: list[Any], provenance: str, item_id: str) -> list[Any]:
        return [cells[0], provenance, *cells[1:], item_id]

    def from_row(self, row: list[Any]) -> tuple[list[Any], str]:
        """Field cells in ``columns`` order, and the item id."""
        row = list(row) + [""] * (len(self.columns) + 2 - len(row))
        return [row[0], *row[2:len(self.columns) + 1]], _text(row[len(self.columns) + 1])

    @property
    def widths(self) -> list[str] | None:
        """Pixels for wide tables, which then scroll sideways instead of squeezing their columns."""
        if len(self.columns) <= 4:
            return None
        first, *rest = self.columns
        return [f"{first.width}px", "250px", *(f"{c.width}px" for c in rest), "110px"]

    @property
    def static_columns(self) -> list[int]:
        first, *rest = self.columns
        return [1, *(i + 2 for i, c in enumerate(rest) if not c.editable), len(self.columns) + 1]


def _swot(name: str, title: str) -> Table:
    return Table("diagnostic", name, title, "SwotItem",
                 (Column("text", "Élément"), Column("axis", "Axe", "enum", AXIS_LABELS)))


TABLES: dict[str, list[Table]] = {
    "cadrage": [
        Table("cadrage", "territory", "Territoire", "Territory", (
            Column("name", "Nom"), Column("type", "Type", "enum", TERRITORY_TYPES),
            Column("code_insee", "Code INSEE"), Column("siren", "SIREN"),
            Column("settlement", "Caractère", "enum", SETTLEMENTS), Column("perimeter", "Périmètre")), single=True),
        Table("cadrage", "ambition", "Ambition", "Ambition",
              (Column("text", "Ambition"), Column("horizon", "Horizon")), single=True),
        Table("cadrage", "stakeholders", "Parties prenantes", "Stakeholder", (
            Column("type", "Type d'acteur", "enum", STAKEHOLDER_LABELS), Column("name", "Acteur"),
            Column("expectations", "Attentes", "list"), Column("involvement", "Association", "enum", INVOLVEMENT_LABELS),
            Column("how", "Participation"))),
    ],
    "diagnostic": [
        _swot("strengths", "Forces"), _swot("weaknesses", "Faiblesses"),
        _swot("opportunities", "Opportunités"), _swot("threats", "Menaces"),
        Table("diagnostic", "evidence", "Constats chiffrés", "Evidence", (
            Column("axis", "Axe", "enum", AXIS_LABELS), Column("statement", "Constat"),
            Column("figure", "Chiffre", "figure"))),
        Table("diagnostic", "targets", "Cibles prioritaires", "Target",
              (Column("name", "Cible"), Column("rationale", "Pourquoi"))),
        Table("diagnostic", "competitors", "Territoires concurrents", "Competitor",
              (Column("name", "Territoire"), Column("reason", "Concurrent sur"))),
    ],
    "das": [
        Table("das", "domains", "Matrice des domaines d'activité stratégique (DAS)", "Das", (
            Column("name", "DAS"), Column("activities", "Activités", "list"),
            Column("target_ids", "Cibles", "refs"), Column("mission", "Mission"),
            Column("objectives", "Objectifs", "list"), Column("key_success_factors", "Facteurs clés de succès", "list"),
            Column("resources", "Ressources", "list"), Column("budget", "Budget", "figure"),
            Column("criterion", "Critère", "enum", CRITERIA))),
    ],
    "positionnement": [
        Table("positionnement", "positionings", "Positionnement par cible", "Positioning", (
            Column("target_id", "Cible", "ref"), Column("advantages", "Avantages compétitifs", "list"),
            Column("promise", "Promesse"), Column("identity_markers", "Marqueurs identitaires", "list"),
            Column("slogan", "Slogan")), addable=False),
    ],
    "plan_action": [
        Table("plan_action", "actions", "Plan d'action", "Action", (
            Column("title", "Action"), Column("type", "Type", "enum", ACTION_TYPE_LABELS),
            Column("target_ids", "Cibles", "refs"), Column("das_id", "DAS", "ref"), Column("channel", "Canal"),
            Column("owner", "Porteur"), Column("start", "Début (AAAA-MM)"), Column("end", "Fin (AAAA-MM)"),
            Column("period", "Période"), Column("budget", "Budget", "figure"), Column("kpi_ids", "Indicateurs", "refs"))),
    ],
    "tableau_de_bord": [
        Table("tableau_de_bord", "kpis", "Indicateurs", "Kpi", (
            Column("name", "Indicateur"), Column("nature", "Nature", "enum", NATURES),
            Column("formula", "Formule"), Column("source", "Source"), Column("baseline", "Départ", "figure"),
            Column("target", "Cible", "figure"), Column("frequency", "Fréquence", "enum", FREQUENCIES),
            Column("owner", "Responsable"), Column("action_ids", "Actions mesurées", "refs"))),
    ],
}
ALL_TABLES: list[Table] = [t for tables in TABLES.values() for t in tables]


# --- items → rows ---------------------------------------------------------------------------------------


def provenance_label(item: Item) -> str:
    """Where an item comes from, in a few words, and whether it waits for a person's review."""
    p = item.provenance
    if isinstance(p, HypothesisSource):
        text = describe(p)
    elif isinstance(p, UserSource):
        text = "Utilisateur"
    else:
        text = f"{KIND_LABELS[p.kind]} : {_short(describe(p), 140)}"
    for name, figure in item.figures():
        fp = figure.provenance
        if fp.kind != p.kind or not fp.confirmed:
            text += f" ; chiffre « {name} » : {KIND_LABELS[fp.kind].lower()}"
            text += "" if fp.confirmed else " (à valider)"
    return text


def figure_text(figure: Figure | None) -> str:
    if figure is None:
        return ""
    value = f"{figure.value:.6f}".rstrip("0").rstrip(".")
    unit = f" {figure.unit}" if figure.unit else ""
    year = f" ({figure.year})" if figure.year else ""
    return f"{value}{unit}{year}"


def _names(strategy: Strategy) -> dict[str, str]:
    from .workflow.items import iter_items

    return {ref.item.id: ref.item.label() for ref in iter_items(strategy)}


def _cell(item: Item, column: Column, names: dict[str, str]) -> Any:
    value = getattr(item, column.field)
    if column.kind == "list":
        return LIST_SEP.join(value)
    if column.kind == "figure":
        return figure_text(value)
    if column.kind == "enum":
        return column.choices.get(value, value) if value else ""
    if column.kind == "ref":
        return names.get(value, value) if value else ""
    if column.kind == "refs":
        return LIST_SEP.join(names.get(v, v) for v in value)
    return value if value is not None else ""


def items_of(strategy: Strategy, table: Table) -> list[Item]:
    value = getattr(strategy.artifact(table.stage), table.field)
    if table.single:
        return [value] if value is not None else []
    return list(value)


def rows(strategy: Strategy, table: Table) -> list[list[Any]]:
    names = _names(strategy)
    return [table.to_row([_cell(item, c, names) for c in table.columns], provenance_label(item), item.id)
            for item in items_of(strategy, table)]


# --- edited rows → changes ------------------------------------------------------------------------------

_FIGURE = re.compile(r"^\s*(-?[\d\s\u00a0\u202f]*[\d](?:[.,]\d+)?)\s*([^()]*?)\s*(?:\((\d{4})\))?\s*$")


def parse_figure(text: str) -> dict | None:
    """« 12 500 visiteurs (2023) » → {"value": 12500, "unit": "visiteurs", "year": 2023}; empty → None."""
    text = (text or "").strip()
    if not text:
        return None
    m = _FIGURE.match(text)
    if not m:
        raise ValueError(f"« {text} » n'est pas un chiffre : écrivez par ex. « 12500 visiteurs (2023) »")
    number = re.sub(r"[\s\u00a0\u202f]", "", m.group(1)).replace(",", ".")
    out: dict[str, Any] = {"value": float(number)}
    if m.group(2):
        out["unit"] = m.group(2).strip()
    if m.group(3):
        out["year"] = int(m.group(3))
    return out


def _parse(column: Column, raw: Any) -> Any:
    text = _text(raw)
    if column.kind == "list":
        return [part.strip() for part in re.split(r"\s*;\s*|\n", text) if part.strip()]
    if column.kind == "figure":
        return parse_figure(text)
    if column.kind == "enum":
        if not text:
            return None
        for value, label in column.choices.items():
            if text.casefold() in (value.casefold(), label.casefold()):
                return value
        raise ValueError(f"« {text} » n'est pas une valeur possible pour « {column.header} » : "
                         + ", ".join(column.choices.values()))
    return text or None


def _text(raw: Any) -> str:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return " ".join(str(raw).split())


@dataclass
class Edits:
    """What the edited table asks for: changes of existing items, and new items (typed by the person)."""

    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    additions: list[Item] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def diff(strategy: Strategy, table: Table, edited: list[list[Any]]) -> Edits:
    """Compare edited rows with the strategy; unparseable cells become French errors, the rest still applies."""
    from .workflow import artifacts

    edits = Edits()
    current = {item.id: item for item in items_of(strategy, table)}
    names = _names(strategy)
    for n, raw_row in enumerate(edited, 1):
        row, item_id = table.from_row(raw_row)
        item = current.get(item_id)
        parsed: dict[str, Any] = {}
        try:
            for column, raw in zip(table.columns, row):
                # Only cells the person changed are read back: an untouched figure keeps its provenance.
                if column.editable and (item is None or _text(raw) != _text(_cell(item, column, names))):
                    parsed[column.field] = _parse(column, raw)
        except ValueError as e:
            edits.errors.append(f"{table.title}, ligne {n} : {e}")
            continue
        if item is not None:
            # Text fields cannot be None in the models: a cleared cell becomes "".
            changes = {k: ("" if v is None and isinstance(getattr(item, k), str) else v) for k, v in parsed.items()}
            if changes:
                edits.updates.append((item.id, changes))
            continue
        if not any(v not in (None, "", []) for v in parsed.values()):
            continue  # an empty new row
        if not table.addable or (table.single and current):
            edits.errors.append(f"{table.title}, ligne {n} : ajout impossible dans ce tableau — répondez à la "
                                "question de l'étape pour en créer")
            continue
        cls = getattr(artifacts, table.item_type)
        data = {k: v for k, v in parsed.items() if v not in (None, "", [])}
        for key, value in list(data.items()):
            if isinstance(value, dict) and "value" in value:
                data[key] = {"unit": "", **value, "provenance": UserSource().model_dump()}
        try:
            edits.additions.append(cls.model_validate({**data, "provenance": UserSource().model_dump()}))
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first["loc"] if not isinstance(x, int))
            edits.errors.append(f"{table.title}, ligne {n} : {where} — {first['msg'].removeprefix('Value error, ')}")
    return edits


def apply(engine, slug: str, table: Table, edits: Edits) -> list[str]:
    """Save the edits through the workflow engine; returns French lines saying what changed or failed."""
    done = []
    for item_id, changes in edits.updates:
        try:
            engine.update_item(slug, table.stage, item_id, changes)
            done.append(f"{table.title} : élément modifié ({', '.join(_header(table, k) for k in changes)})")
        except WorkflowError as e:
            edits.errors.append(f"{table.title} : {e.user_message}")
    for item in edits.additions:
        try:
            engine.storage.add_item(slug, table.stage, table.field, item)
            done.append(f"{table.title} : « {item.label()} » ajouté")
        except WorkflowError as e:
            edits.errors.append(f"{table.title} : {e.user_message}")
    return done


def _header(table: Table, field_name: str) -> str:
    return next((c.header for c in table.columns if c.field == field_name), field_name).lower()


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def kpi_charts(strategy: Strategy) -> list[dict[str, Any]]:
    """Baseline and target of each KPI that has figures: one small bar chart each (units differ between KPIs)."""
    out = []
    for k in strategy.tableau_de_bord.kpis:
        bars = [{"Repère": f"{series} {figure.year or ''}".strip(), "Valeur": figure.value, "Série": series}
                for series, figure in (("Départ", k.baseline), ("Cible", k.target)) if figure is not None]
        if bars:
            unit = next((f.unit for f in (k.baseline, k.target) if f is not None and f.unit), "")
            out.append({"id": k.id, "name": k.name, "unit": unit, "bars": bars})
    return out


def stage_title(stage: str) -> str:
    return STAGE_LABELS[stage]
