"""A Dinan project built on real corpus documents and real official data, through the workflow storage API.

Shared by the export, interview and territory CLI tests. Every quote below is checked against the parsed
corpus file by ``test_exports.test_project_quotes_come_from_the_corpus``: the project is grounded, not invented.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from assistant.territory import TerritoryData
from assistant.territory_facts import add_card_to_diagnostic, add_competitors
from assistant.workflow.artifacts import (
    Action, Ambition, Das, Figure, Kpi, Positioning, Stakeholder, Strategy, SwotItem, Target, Territory,
)
from assistant.workflow.items import link
from assistant.workflow.provenance import DocumentSource, HypothesisSource, UserSource
from assistant.workflow.storage import ProjectStorage
from assistant.config import shared_dir

CORPUS = shared_dir() / "corpus"
PCAET = CORPUS / "lassembleuse__dinan-pcaet"
AVIS = PCAET / "avis-codev_pcaet_dinan_2022.pdf"
FICHE29 = PCAET / "pcaet_fiches_actions" / "fiche29.md"

QUOTE_TOURISM = ("Dinan Agglomération connaît une activité touristique et saisonnalité croissantes sur la côte et "
                 "à l’intérieur de ses terres.")
QUOTE_ACTIONS = "En juillet 2021, 40 actions sont déjà identifiées"
QUOTE_MOBILITY = "privilégiant les mobilités durables et moins dépendant de la voiture"
QUOTE_CITIZENS = "Un point de vigilance sur le partage de ces informations avec les citoyens."
QUOTE_BUDGET = "11 fiches concernent les moyens de favoriser les actions possibles des habitants du territoire, " \
               "pour un budget 8,6 millions d'euro"
QUOTES = {AVIS: [(1, QUOTE_CITIZENS), (2, QUOTE_BUDGET)],
          FICHE29: [(None, QUOTE_TOURISM), (None, QUOTE_ACTIONS), (None, QUOTE_MOBILITY)]}

CODE = "22050"
STAKEHOLDER_TYPES = ("entreprises", "associations", "habitants", "touristes", "elus", "ess", "clubs_sportifs")


@lru_cache(maxsize=1)
def corpus_data() -> TerritoryData:
    """The real official files, read once per test session (about a second)."""
    return TerritoryData.from_corpus(CORPUS)


def fiche(quote: str) -> DocumentSource:
    return DocumentSource(file=FICHE29.name, section="Présentation de l'action", quote=quote, confirmed=True,
                          confirmed_at="2025-01-01T00:00:00+00:00")


def avis(page: int, quote: str) -> DocumentSource:
    return DocumentSource(file=AVIS.name, page=page, quote=quote)  # a model draft nobody validated yet


def build_dinan(storage: ProjectStorage, data: TerritoryData, slug: str = "dinan") -> Strategy:
    """Every stage filled; official figures of Dinan and two kept competitors from the real CSV files."""
    s = storage.create("Dinan", slug=slug)
    you = UserSource()
    s.cadrage.territory = Territory(name="Dinan", type="commune", code_insee=CODE, settlement="mixte",
                                    perimeter="ville-centre de Dinan Agglomération", provenance=you)
    s.cadrage.ambition = Ambition(text="Faire de Dinan une destination de tourisme durable toute l'année",
                                  horizon="2030", provenance=you)
    for kind in STAKEHOLDER_TYPES:
        s.cadrage.stakeholders.append(Stakeholder(type=kind, expectations=["être associés à la démarche"],
                                                  involvement="consulte", how="atelier", provenance=you))
    d = s.diagnostic
    d.strengths += [SwotItem(text="Activité touristique croissante sur la côte et dans les terres", axis="atouts_economiques",
                             provenance=fiche(QUOTE_TOURISM)),
                    SwotItem(text="Cité médiévale et vallée de la Rance", axis="qualite_vie", provenance=you)]
    d.weaknesses += [SwotItem(text="Forte saisonnalité de la fréquentation", axis="atouts_economiques",
                              provenance=fiche(QUOTE_TOURISM)),
                     SwotItem(text="Dépendance à la voiture pour venir et circuler", axis="transport",
                              provenance=HypothesisSource(rationale="fréquent dans les villes moyennes bretonnes"))]
    d.opportunities.append(SwotItem(text="Attentes de mobilités durables des visiteurs", axis="transport",
                                    provenance=fiche(QUOTE_MOBILITY)))
    d.threats.append(SwotItem(text="Partage insuffisant des informations avec les citoyens",
                              provenance=avis(1, QUOTE_CITIZENS)))
    tourists = Target(name="touristes de proximité hors saison", rationale="étaler la fréquentation",
                      provenance=you)
    families = Target(name="nouvelles familles", provenance=HypothesisSource(rationale="ambition des élus"))
    d.targets += [tourists, families]
    budget = Figure(value=80000, unit="€", year=2025, provenance=HypothesisSource(rationale="ordre de grandeur"))
    das = Das(name="Destination durable", activities=["promotion touristique", "navettes estivales"],
              target_ids=[tourists.id], mission="Étaler la fréquentation dans l'année",
              objectives=["plus de séjours hors saison"], key_success_factors=["offre sans voiture"],
              resources=["office de tourisme"], budget=budget, criterion="externe",
              rationale="même cible", provenance=you)
    s.das.domains.append(das)
    s.positionnement.positionings.append(Positioning(
        target_id=tourists.id, advantages=["cité médiévale", "Rance navigable"],
        promise="Dinan, l'escapade médiévale sans voiture, en toute saison", identity_markers=["remparts"],
        slogan="Dinan, toute l'année", provenance=you))
    citizen_budget = Figure(value=8.6, unit="M€", year=2022, provenance=avis(2, QUOTE_BUDGET))
    a1 = Action(title="Séjours sans voiture hors saison", type="campagne_ciblee", target_ids=[tourists.id],
                das_id=das.id, channel="site de l'office de tourisme", owner="Office de tourisme",
                start="2026-03", end="2026-11", budget=Figure(value=15000, unit="€", year=2026,
                                                             provenance=HypothesisSource()), provenance=you)
    a2 = Action(title="Accueil des nouvelles familles", type="evenement", target_ids=[families.id],
                owner="Ville de Dinan", channel="journée d'accueil", period="chaque septembre",
                budget=citizen_budget, provenance=you)
    s.plan_action.actions += [a1, a2]
    k1 = Kpi(name="Actions du programme tourisme durable", definition="actions identifiées du programme",
             source="fiche action 29 du PCAET", baseline=Figure(value=40, year=2021, provenance=fiche(QUOTE_ACTIONS)),
             target=Figure(value=60, year=2026, provenance=HypothesisSource(rationale="objectif proposé")),
             frequency="annuelle", owner="service tourisme", provenance=you)
    k2 = Kpi(name="Satisfaction des nouvelles familles", nature="qualitatif", definition="enquête d'accueil",
             source="questionnaire", frequency="annuelle", owner="Ville de Dinan", provenance=you)
    s.tableau_de_bord.kpis += [k1, k2]
    link(s, a1.id, k1.id)
    link(s, a2.id, k2.id)
    storage.save(s)
    card = data.card(CODE)
    add_card_to_diagnostic(storage, slug, card)
    add_competitors(storage, slug, card, [data.card(c) for c in ("22187", "22093")])
    return storage.load(slug)
