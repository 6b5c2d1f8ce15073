"""Official figures of the fiche territoire as diagnostic material: sourced evidence and chosen competitors.

The fiche (``territory.TerritoryCard``) says what the files hold; this module turns it into items of a
project's strategy, each with a ``donnee_officielle`` provenance (dataset, millésime, code). The person running
the command chose to add them, and the values are copied from the files, not drafted by a model: the items are
recorded as confirmed. A figure needs a millésime (``Figure`` refuses official data without one), so a value
whose file states no year enters as a statement without a figure, saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .territory import NO_YEAR, TerritoryCard, format_value
from .workflow.artifacts import AXIS_LABELS, Competitor, Evidence, Figure, Strategy, Territory
from .workflow.provenance import OfficialDataSource, confirm
from .workflow.storage import ProjectStorage

__all__ = ["FactsResult", "INDICATOR_AXES", "add_card_to_diagnostic", "add_competitors", "card_evidence",
           "comparison_markdown", "comparison_panels", "competitor_item", "load_or_create"]

# Which of the method's five axes each figure informs (knowledge/02_diagnostic.md). Broadband sits with
# transport because the method treats digital coverage as the complement of physical access.
INDICATOR_AXES: dict[str, str] = {
    "population_municipale": "atouts_economiques",
    "population_totale": "atouts_economiques",
    "ID_1": "transport",           # commutes longer than 30 min
    "ID_2": "qualite_vie",         # access to a general practitioner
    "ID_3": "transport",           # very-high-speed broadband
    "ID_4": "main_oeuvre",         # young people neither in employment nor in education
    "ID_5": "qualite_vie",         # time to a cinema or theatre
    "ID_6": "main_oeuvre",         # employment rate
    "ID_7": "qualite_vie",         # vacant housing
    "ID_8": "qualite_vie",         # turnout
    "ID_9": "atouts_economiques",  # median disposable income
}


@dataclass
class FactsResult:
    """What a command changed in the project, for the French report printed to the user."""

    project: str
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version: int = 0


def _year(text: str | None) -> int | None:
    match = re.search(r"(18|19|20)\d{2}", text or "")
    return int(match.group(0)) if match else None


def _official(dataset: str, year: int | None, code: str) -> OfficialDataSource:
    source = OfficialDataSource(dataset=dataset, year=year, code=code)
    confirm(source)
    return source


def card_evidence(card: TerritoryCard) -> list[Evidence]:
    """One evidence item per available figure of the card (missing values are left out, never guessed)."""
    items: list[Evidence] = []
    population_year = _year(card.population_year)
    for key, label, value in (("population_municipale", "Population municipale", card.population_municipale),
                              ("population_totale", "Population totale", card.population_totale)):
        if value is None:
            continue
        items.append(_evidence(card, key, label, float(value), "habitants", card.population_source,
                               population_year))
    for ind in card.indicators:
        if ind.value is None:
            continue
        dataset = f"{ind.source}, via Observatoire des territoires ({ind.dataset}, {ind.id})"
        items.append(_evidence(card, ind.id, ind.label, ind.value, ind.unit or "", dataset, _year(ind.year)))
    return items


def _evidence(card: TerritoryCard, key: str, label: str, value: float, unit: str, dataset: str,
              year: int | None) -> Evidence:
    shown = format_value(value, unit or None)
    statement = f"{label} — {card.name} ({card.code}) : {shown}"
    provenance = _official(dataset, year, card.code)
    if year is None:
        return Evidence(axis=INDICATOR_AXES.get(key, "atouts_economiques"), provenance=provenance,
                        statement=f"{statement} ({NO_YEAR})")
    figure = Figure(value=value, unit=unit, year=year, provenance=_official(dataset, year, card.code))
    return Evidence(axis=INDICATOR_AXES.get(key, "atouts_economiques"), statement=statement, figure=figure,
                    provenance=provenance)


def _key(provenance) -> tuple[str, str] | None:
    if isinstance(provenance, OfficialDataSource):
        return provenance.code or "", provenance.dataset
    return None


def load_or_create(storage: ProjectStorage, slug: str, title: str) -> Strategy:
    """The project's strategy, created empty (as the web UI does) when the project has none yet."""
    return storage.load(slug) if storage.exists(slug) else storage.create(title, slug=slug)


def _check_territory(strategy: Strategy, card: TerritoryCard, result: FactsResult) -> None:
    territory = strategy.cadrage.territory
    if territory is None:
        strategy.cadrage.territory = Territory(
            name=card.name, type="commune", code_insee=card.code,
            provenance=_official(card.population_source, _year(card.population_year), card.code))
        result.added.append(f"territoire du projet : {card.name} ({card.code})")
    elif territory.code_insee and territory.code_insee != card.code:
        result.warnings.append(f"le projet porte sur {territory.name or 'un autre territoire'} (code "
                               f"{territory.code_insee}) : les chiffres de {card.name} ({card.code}) sont ajoutés "
                               "comme éléments de comparaison")


def add_card_to_diagnostic(storage: ProjectStorage, slug: str, card: TerritoryCard, *,
                           title: str | None = None) -> FactsResult:
    """Add the card's figures as diagnostic evidence; figures already present (same code and dataset) are kept."""
    strategy = load_or_create(storage, slug, title or slug)
    result = FactsResult(project=strategy.slug)
    _check_territory(strategy, card, result)
    present = {_key(e.provenance) for e in strategy.diagnostic.evidence}
    for evidence in card_evidence(card):
        if _key(evidence.provenance) in present:
            result.skipped.append(evidence.statement)
            continue
        strategy.diagnostic.evidence.append(evidence)
        result.added.append(f"{evidence.statement} [{AXIS_LABELS[evidence.axis]}]")
    if result.added:
        result.version = storage.save(strategy).version
    else:
        result.version = strategy.version
    return result


def competitor_item(target: TerritoryCard, card: TerritoryCard, *, reason: str = "") -> Competitor:
    """A territoire concurrent chosen by the user, with the official figures that make it comparable."""
    own = format_value(card.population_municipale, "habitants")
    theirs = format_value(target.population_municipale, "habitants")
    same = "même département" if card.departement == target.departement else (
        "même région" if card.region == target.region else f"région {card.region}")
    text = reason or (f"Commune comparable à {target.name} ({same}) : population municipale {own} contre {theirs} ; "
                      "indicateurs comparés dans la fiche territoire")
    return Competitor(name=f"{card.name} ({card.code})", reason=text,
                      provenance=_official(card.population_source, _year(card.population_year), card.code))


def add_competitors(storage: ProjectStorage, slug: str, target: TerritoryCard, cards: list[TerritoryCard], *,
                    title: str | None = None) -> FactsResult:
    """Store the communes the user kept as territoires concurrents (once each)."""
    strategy = load_or_create(storage, slug, title or slug)
    result = FactsResult(project=strategy.slug)
    _check_territory(strategy, target, result)
    present = {c.provenance.code for c in strategy.diagnostic.competitors
               if isinstance(c.provenance, OfficialDataSource)}
    for card in cards:
        item = competitor_item(target, card)
        if card.code in present or card.code == target.code:
            result.skipped.append(item.name)
            continue
        strategy.diagnostic.competitors.append(item)
        present.add(card.code)
        result.added.append(item.name)
    result.version = storage.save(strategy).version if result.added else strategy.version
    return result


# ------------------------------------------------------------------------------------------------ comparison

_META = ("Indicateur", "Unité", "Source", "Millésime")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def comparison_markdown(rows: list[dict]) -> str:
    """``TerritoryData.comparison_table`` rows as a Markdown table: one column per commune, values in French."""
    communes = [k for k in rows[0] if k not in _META]
    lines = ["| Indicateur | " + " | ".join(_cell(c) for c in communes) + " | Source | Millésime |",
             "|---|" + "---:|" * len(communes) + "---|---|"]
    for row in rows:
        values = [format_value(row[c], row["Unité"]) for c in communes]
        lines.append(f"| {_cell(row['Indicateur'])} | " + " | ".join(values)
                     + f" | {_cell(row['Source'])} | {_cell(row['Millésime'])} |")
    return "\n".join(lines) + "\n"


def comparison_panels(rows: list[dict]):
    """One chart panel per indicator, one bar per commune (see ``charts.draw_panels``)."""
    from .charts import Bar, Panel

    panels = []
    for row in rows:
        if row["Indicateur"] == "Population totale":
            continue  # the municipal population already gives the size; two population panels add nothing
        communes = [k for k in row if k not in _META]
        bars = [Bar(label=c, value=row[c], text=format_value(row[c], row["Unité"])) for c in communes]
        year = f" ({row['Millésime']})" if row["Millésime"] != NO_YEAR else ""
        panels.append(Panel(title=f"{row['Indicateur']}{year}", bars=bars,
                            note=f"Source : {row['Source']}"))
    return panels
