"""The guided method through the real CLI (typer's CliRunner) with a scripted fake model and real corpus documents.

The seam: ``assistant.cli._assistant`` builds the Assistant of every command; tests replace it with one that
injects a ``ScriptedChat`` and the ``HashingEmbedder``, over a temporary data folder. Each command builds a new
Assistant, as a new process would: nothing survives between two commands but the files on disk.

Documents: ``lassembleuse__dinan-pcaet`` (MIT repo; fiches of Dinan Agglomération and the opinion of its Conseil
de développement on the PCAET 2021-2026), see ``../shared/corpus/SOURCES.md``. The commune is fictional.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

import assistant.cli as cli
from assistant.config import shared_dir, Settings
from assistant.core import Assistant
from assistant.embeddings import HashingEmbedder
from assistant.errors import InputError
from assistant.llm import FakeChat, block_real_models
from assistant.workflow import STAGES, ProjectStorage, Strategy, WorkflowEngine, check_steps, resolve_stage
from assistant.workflow.items import iter_items
from assistant.workflow.provenance import DocumentSource
from assistant.workflow.quotes import quote_occurs

REPO = Path(__file__).resolve().parents[1]
PROJECT = "Plouvenec (commune fictive)"
SLUG = "plouvenec-commune-fictive"
FICHE = "lassembleuse__dinan-pcaet/pcaet_fiches_actions/fiche29.md"
AVIS = "lassembleuse__dinan-pcaet/avis-codev_pcaet_dinan_2022.pdf"


@pytest.fixture(autouse=True)
def _no_real_models():
    block_real_models(True)
    yield


class ScriptedChat(FakeChat):
    """Replies chosen by what the model is asked: the user's answer (extractions) or the schema (drafts).

    A reply is a dict (sent as JSON) or a string sent as is (to test malformed output)."""

    def __init__(self, answers: dict[str, dict | str], drafts: dict[str, dict] | None = None) -> None:
        super().__init__(self._reply)
        self.answers, self.drafts = answers, drafts or {}

    def _reply(self, messages: list[dict]) -> str:
        title = self.schemas[-1].get("title")
        if title in self.drafts:
            return json.dumps(self.drafts[title], ensure_ascii=False)
        found = re.search(r'"""\n(.*)\n"""', messages[1]["content"], re.S)
        assert found, f"no user answer in the prompt: {messages[1]['content'][:200]}"
        reply = self.answers[found.group(1)]
        return reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)


class Cli:
    """Runs commands as a person would, each one with a fresh Assistant on the same data folder."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, data_dir: Path, chat: FakeChat) -> None:
        self.data_dir, self.chat, self.runner = data_dir, chat, CliRunner()
        self.assistants = 0

        def factory() -> Assistant:
            self.assistants += 1
            return Assistant(Settings(data_dir=data_dir, _env_file=None), chat=self.chat, embedder=HashingEmbedder())

        monkeypatch.setattr(cli, "_assistant", factory)

    def __call__(self, *args: str, input: str | None = None, code: int = 0):
        result = self.runner.invoke(cli.app, [str(a) for a in args], input=input)
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr, result.exception)
        return result

    def replay(self, turns: list, code: int = 0, *extra: str):
        script = self.data_dir / f"script-{time.monotonic_ns()}.json"
        script.write_text(json.dumps(turns, ensure_ascii=False), encoding="utf-8")
        return self("workflow", "replay", "--project", PROJECT, "--script", script, *extra, code=code)

    def strategy(self) -> Strategy:
        return ProjectStorage(self.data_dir / "projects").load(SLUG)

    def assistant(self) -> Assistant:
        return Assistant(Settings(data_dir=self.data_dir, _env_file=None), chat=self.chat, embedder=HashingEmbedder())


# --- the scripted conversation: what the user types, and what the model reads from it ----------------------

A_CADRAGE = ("Plouvenec est une commune rurale qui veut attirer de jeunes familles et des visiteurs hors saison "
             "d'ici 2030.")
A_ACTEURS = ("Les entreprises du tourisme (main-d'œuvre, saison plus longue) en comité de pilotage ; les "
             "associations (salles, bénévoles) en ateliers ; les habitants (tranquillité) par une enquête ; les élus "
             "(résultats).")
A_TRANSPORT = "La gare de Dinan est à 15 minutes en voiture, mais aucun bus ne circule le dimanche."
A_EMPLOI = "Les artisans du bâtiment recrutent, mais les jeunes qualifiés partent étudier à Rennes."
A_VIE = "Le bourg a une école et des sentiers au bord de la Rance ; il n'y a plus de médecin depuis 2022."
A_CIBLES = "Nous visons en priorité les jeunes familles actives qui travaillent à Dinan ou Saint-Malo."
A_CONCURRENTS = "Quévert et Taden attirent les mêmes familles avec leurs lotissements proches de Dinan."
A_DAS = "Un domaine « Accueil des familles » : école, périscolaire, petite enfance, pour les jeunes familles."
A_CRITERE = "Ces services visent tous les jeunes familles : c'est un critère externe."
A_MISSION = ("Sa mission : que chaque famille trouve à Plouvenec une école et une garde ; objectif : 30 familles de "
             "plus.")
A_MOYENS = "Facteurs clés : places en crèche et horaires du périscolaire ; ressources : l'école et l'ALSH communal."
A_BUDGET = "85 000 euros par an à partir de 2025."
A_POSITION = ("Pour les jeunes familles : école à taille humaine et nature au bord de la Rance ; promesse « grandir "
              "au vert à 15 minutes de Dinan » ; marqueurs : la Rance, le bourg ; slogan « Plouvenec, l'enfance "
              "au vert ».")
A_ACTIONS = ("Une journée portes ouvertes de l'école chaque printemps, annoncée sur Facebook, portée par "
             "l'association des parents.")
A_CALENDRIER = "De mars à mai 2025, avec 3 000 euros."
A_KPI = "Nombre de familles venues aux portes ouvertes, compté à l'accueil, chaque année, par la mairie."
A_KPI_VALEURS = "12 familles en 2024, nous visons 30 familles en 2026."
A_KPI_QUALI = ("La satisfaction des familles venues, mesurée par un questionnaire de l'association des parents, "
               "chaque année.")
A_KPI_QUALI_VALEURS = "70 % de satisfaits en 2024 ; objectif 85 % en 2026."

ANSWERS: dict[str, dict | str] = {
    A_CADRAGE: {"nom": None, "type": None, "code": None, "caractere": "rural",
                "ambition": "attirer de jeunes familles et des visiteurs hors saison d'ici 2030"},
    A_ACTEURS: {"parties_prenantes": [
        {"type": "entreprises", "attentes": ["main-d'œuvre", "saison plus longue"], "participation": "co_construit",
         "comment": "comité de pilotage"},
        {"type": "associations", "attentes": ["salles", "bénévoles"], "participation": "consulte",
         "comment": "ateliers"},
        {"type": "habitants", "attentes": ["tranquillité"], "participation": "consulte", "comment": "enquête"},
        {"type": "elus", "attentes": ["résultats"], "participation": "co_construit", "comment": None}]},
    A_TRANSPORT: {"forces": ["gare de Dinan à 15 minutes"], "faiblesses": ["aucun bus le dimanche"],
                  "chiffres": [{"libelle": "trajet en voiture jusqu'à la gare de Dinan", "valeur": 15,
                                "unite": "min", "annee": 2024}]},
    A_EMPLOI: {"forces": ["artisans du bâtiment qui recrutent"], "faiblesses": ["départ des jeunes qualifiés"],
               "chiffres": []},
    A_VIE: {"forces": ["école et sentiers au bord de la Rance"], "faiblesses": ["plus de médecin depuis 2022"],
            "chiffres": []},
    A_CIBLES: {"cibles": [{"nom": "jeunes familles actives", "raison": "emplois à Dinan et Saint-Malo"}]},
    A_CONCURRENTS: {"concurrents": [{"nom": "Quévert", "raison": "lotissements"},
                                    {"nom": "Taden", "raison": "lotissements"}]},
    A_DAS: {"das": [{"nom": "Accueil des familles", "activites": ["école", "périscolaire", "petite enfance"],
                     "cibles": ["jeunes familles"]}]},
    A_CRITERE: {"critere": "externe", "justification": "services tournés vers les jeunes familles", "cibles": []},
    A_MISSION: {"mission": "que chaque famille trouve une école et une garde", "objectifs": ["30 familles de plus"]},
    A_MOYENS: {"facteurs_cles": ["places en crèche", "horaires du périscolaire"],
               "ressources": ["école", "ALSH communal"]},
    A_BUDGET: {"montant": 85000, "annee": 2025, "note": None},
    A_POSITION: {"avantages": ["école à taille humaine", "nature au bord de la Rance"],
                 "promesse": "grandir au vert à 15 minutes de Dinan", "marqueurs": ["la Rance", "le bourg"],
                 "slogan": "Plouvenec, l'enfance au vert"},
    A_ACTIONS: {"actions": [{"titre": "Portes ouvertes de l'école", "type": "evenement", "canal": "Facebook",
                             "porteur": "association des parents", "type_porteur": "associations"}]},
    A_CALENDRIER: {"debut": "2025-03", "fin": "2025-05", "periode": None, "budget": 3000, "note_budget": None},
    A_KPI: {"nom": "familles venues aux portes ouvertes", "nature": "quantitatif", "formule": "comptage à l'accueil",
            "source": "registre d'accueil", "frequence": "annuelle", "responsable": "mairie"},
    A_KPI_VALEURS: {"valeur_initiale": 12, "annee_initiale": 2024, "valeur_cible": 30, "annee_cible": 2026,
                    "unite": "familles"},
    A_KPI_QUALI: {"nom": "satisfaction des familles", "nature": "qualitatif", "formule": "part de satisfaits",
                  "source": "questionnaire de l'association des parents", "frequence": "annuelle",
                  "responsable": "association des parents"},
    A_KPI_QUALI_VALEURS: {"valeur_initiale": 70, "annee_initiale": 2024, "valeur_cible": 85, "annee_cible": 2026,
                          "unite": "%"},
}

QUOTE_DESTINATION = ("Développer l’attractivité de la destination « Dinan-Cap Fréhel » et promouvoir une "
                     "destination touristique durable et de proximité")
QUOTE_MEETINGS = "aucune réunion n’est, à notre connaissance, prévue pour présenter ce PCAET dans les communes"
QUOTE_BUDGET = "Les moyens financiers ne sont pas précisés"
DRAFTS = {"DiagnosticBrouillon": {"elements": [
    {"extrait": QUOTE_DESTINATION, "passage": 6, "categorie": "force",
     "texte": "Une destination touristique durable et de proximité, « Dinan-Cap Fréhel »"},
    {"extrait": QUOTE_MEETINGS, "passage": 6, "categorie": "faiblesse",
     "texte": "Aucune réunion prévue dans les communes pour présenter le plan climat"},
    {"extrait": QUOTE_BUDGET, "passage": 1, "categorie": "menace",  # wrong number: found in passage 4 anyway
     "texte": "Des actions publiques annoncées sans moyens financiers"},
    {"extrait": "Plouvenec possède une gare TGV directe vers Paris", "passage": 2, "categorie": "force",
     "texte": "Gare TGV"},
    {"extrait": "", "passage": None, "categorie": "opportunite", "texte": "Navettes estivales vers les plages"},
]}}

FULL_SCRIPT = [
    {"comment": "Plouvenec est une commune FICTIVE ; les documents cités sont réels (Dinan Agglomération)."},
    A_CADRAGE, A_ACTEURS, "/suivant",
    {"command": "/brouillon"},
    "/etat",
    "/supprimer 3",  # the hypothesis (strengths, weaknesses, opportunities, threats: it is n° 3)
    "/confirmer tout",
    A_TRANSPORT, "/passer", A_EMPLOI, A_VIE, A_CIBLES, A_CONCURRENTS, "/suivant",
    A_DAS, A_CRITERE, A_MISSION, A_MOYENS, A_BUDGET, "/suivant",
    A_POSITION, "/suivant",
    A_ACTIONS, A_CALENDRIER, "/suivant",
    A_KPI, A_KPI_VALEURS, A_KPI_QUALI, A_KPI_QUALI_VALEURS,
    "/etat",
]


@pytest.fixture
def run(monkeypatch, tmp_path) -> Cli:
    return Cli(monkeypatch, tmp_path / "data", ScriptedChat(ANSWERS, DRAFTS))


def new_project(run: Cli, *, documents: bool = False) -> None:
    out = run("project", "new", PROJECT, "--type", "commune", "--code", "22999").stdout
    assert f"Projet « {PROJECT} » créé" in out
    if documents:
        corpus = shared_dir() / "corpus"
        run("ingest", corpus / FICHE, corpus / AVIS, "--project", PROJECT)


def saved_json(run: Cli) -> dict:
    return json.loads((run.data_dir / "projects" / SLUG / "strategy.json").read_text(encoding="utf-8"))


# --- the acceptance walk --------------------------------------------------------------------------------


def test_replay_goes_from_cadrage_to_tableau_de_bord_with_valid_json_and_sources(run, tmp_path):
    new_project(run, documents=True)
    start = time.perf_counter()
    out = run.replay(FULL_SCRIPT).stdout
    elapsed = time.perf_counter() - start
    for n, stage in enumerate(["Cadrage et parties prenantes", "Diagnostic du territoire",
                               "Domaines d'activité stratégique (DAS)", "Positionnement et promesse",
                               "Plan d'action marketing", "Tableau de bord de suivi"], 1):
        assert f"=== Étape {n}/6 : {stage} ===" in out
    assert "# Plouvenec est une commune FICTIVE" in out
    assert "La stratégie est complète" in out
    # The draft: two verified quotes kept, an invented one dropped, a hypothesis shown as such.
    assert "l'extrait cité ne figure dans aucun passage" in out
    assert "HYPOTHÈSE à confirmer" in out
    assert "fiche29.md" in out and "avis-codev_pcaet_dinan_2022.pdf" in out

    s = run.strategy()
    assert s.current_stage == "tableau_de_bord" and not s.overrides
    assert all(step.ok for step in check_steps(s))
    assert [o.text for o in s.diagnostic.opportunities] == []  # the hypothesis was deleted, not kept
    assert all(k.baseline and k.target and k.source for k in s.tableau_de_bord.kpis)
    assert {k.nature for k in s.tableau_de_bord.kpis} == {"quantitatif", "qualitatif"}

    # Schemas as a person gets them (CLI), and the saved file validates against them.
    schemas = tmp_path / "schemas"
    run("schema", "--out", schemas)
    data = saved_json(run)
    jsonschema.validate(data, json.loads((schemas / "strategy.schema.json").read_text(encoding="utf-8")))
    for stage in STAGES:
        jsonschema.validate(data[stage], json.loads((schemas / f"{stage}.schema.json").read_text(encoding="utf-8")))

    # Provenance: every document item cites a real passage of the file it names, verbatim.
    assistant = run.assistant()
    documents = [ref for ref in _items(s) if isinstance(ref.provenance, DocumentSource)]
    assert {d.provenance.file for d in documents} == {"fiche29.md", "avis-codev_pcaet_dinan_2022.pdf"}
    for item in documents:
        p = item.provenance
        assert p.confirmed and p.confirmed_at  # confirmed by /confirmer, at a known time
        texts = [c.text for c in assistant.docstore.chunks(PROJECT) if (c.file, c.page) == (p.file, p.page)]
        assert any(quote_occurs(p.quote, t) for t in texts), (p.file, p.page, p.quote)
    # PDF pages are 1-based and exact: checked against pypdf's own text of that page, not our chunks.
    pdf = PdfReader(shared_dir() / "corpus" / AVIS)
    cited = {(d.provenance.page, d.provenance.quote) for d in documents if d.provenance.file.endswith(".pdf")}
    assert {page for page, _ in cited} == {1}
    assert all(quote_occurs(quote, pdf.pages[page - 1].extract_text()) for page, quote in cited)

    shown = json.loads(run("project", "show", PROJECT, "--json").stdout)
    assert all(st["ok"] for st in shown["stages"]) and shown["pending"] == [] and shown["hypotheses"] == []
    assert shown["documents"] == ["avis-codev_pcaet_dinan_2022.pdf", "fiche29.md"]
    assert elapsed < 60, f"replay took {elapsed:.1f} s"


def _items(strategy: Strategy):
    return [ref.item for ref in iter_items(strategy)]


# --- gates and overrides --------------------------------------------------------------------------------


def test_gate_refuses_then_override_is_recorded_with_its_reason(run, tmp_path):
    new_project(run)
    out = run.replay(["/suivant", "/forcer cadrage validé en réunion publique le 3 mars"]).stdout
    assert "n'est pas terminée. Il manque :" in out
    assert "au moins 3 types de parties prenantes (0 pour l'instant)" in out
    assert "/forcer RAISON" in out
    assert "Passage forcé de l'étape « Cadrage et parties prenantes », raison consignée" in out
    assert "=== Étape 2/6 : Diagnostic du territoire ===" in out

    s = run.strategy()
    [override] = s.overrides
    assert override.stage == "cadrage" and override.reason == "cadrage validé en réunion publique le 3 mars"
    assert "l'ambition de la démarche (publics, horizon)" in override.reasons_overridden and override.at

    # Visible in show (text and JSON), in the step checks, and in the saved JSON, which stays valid.
    text = run("project", "show", PROJECT).stdout
    assert "Passage forcé : Cadrage et parties prenantes — passage forcé le" in text
    assert "cadrage validé en réunion publique le 3 mars" in text
    shown = json.loads(run("project", "show", PROJECT, "--json").stdout)
    assert shown["overrides"][0]["reason"] == "cadrage validé en réunion publique le 3 mars"
    assert "passage forcé" in shown["steps"][0]["detail"]
    jsonschema.validate(saved_json(run), json.loads(run("schema", "strategy").stdout))

    # An empty reason is refused, and nothing moves.
    out = run.replay(["/forcer   "], 1).stdout
    assert "Erreur : La raison du passage forcé est vide" in out
    assert run.strategy().current_stage == "diagnostic"


def test_engine_override_rules(tmp_path):
    engine = WorkflowEngine(FakeChat([]), ProjectStorage(tmp_path))
    engine.start("Dinan", territory_type="commune", code="22050")
    with pytest.raises(InputError, match="raison du passage forcé est vide"):
        engine.advance("dinan", override_reason="  \n")
    with pytest.raises(Exception, match="n'est pas terminée.*passez outre en donnant une raison"):
        engine.advance("dinan")
    assert engine.storage.load("dinan").current_stage == "cadrage"
    engine.advance("dinan", override_reason="atelier du 3 mars")
    s = engine.storage.load("dinan")
    assert s.current_stage == "diagnostic" and s.overrides[0].reasons_overridden
    assert s.cadrage.territory.code_insee == "22050" and s.cadrage.territory.provenance.kind == "utilisateur"


def test_diagnostic_gate_wants_three_and_three_with_one_sourced(run):
    new_project(run)
    run.replay(["/forcer test du diagnostic", A_TRANSPORT, A_EMPLOI, A_VIE])
    out = run.replay(["/suivant"]).stdout
    assert "au moins 1 force ou faiblesse sourcée par un document ou une donnée officielle" in out
    assert "3 forces et 3 faiblesses" not in out  # 3 and 3 were given
    # A source typed by the user: an official dataset with its year.
    sourced = "Selon la DREES (APL 2015), l'accès aux médecins généralistes est faible."
    run.chat.answers[sourced] = {"constats": [{"categorie": "faiblesse", "texte": "accès aux médecins faible",
                                               "source": "DREES, APL", "annee": 2015}]}
    out = run.replay([sourced, "/etat"]).stdout
    assert "sourcée" not in out.split("> /etat")[1].split("Leviers")[0]
    weak = [w for w in run.strategy().diagnostic.weaknesses if w.provenance.kind == "donnee_officielle"]
    assert weak and weak[0].provenance.year == 2015
    # The year written inside the source is enough (what the real model does); no year at all is refused.
    with_year = "Faiblesse : pas de bus le dimanche. Source : PCAET 2021-2026 de Dinan Agglomération, année 2021."
    no_year = "Faiblesse : peu de commerces. Source : enquête de la mairie."
    run.chat.answers[with_year] = {"constats": [{"categorie": "faiblesse", "texte": "pas de bus le dimanche",
                                                 "source": "PCAET 2021-2026 de Dinan Agglomération, année 2021",
                                                 "annee": None}]}
    run.chat.answers[no_year] = {"constats": [{"categorie": "faiblesse", "texte": "peu de commerces",
                                               "source": "enquête de la mairie", "annee": None}]}
    out = run.replay([{"say": with_year, "question": "diagnostic.sources"},
                      {"say": no_year, "question": "diagnostic.sources"}]).stdout
    assert "« enquête de la mairie » sans année" in out
    years = {w.text: w.provenance.year for w in run.strategy().diagnostic.weaknesses
             if w.provenance.kind == "donnee_officielle"}
    assert years == {"accès aux médecins faible": 2015, "pas de bus le dimanche": 2021}


# --- going back, resuming, malformed replies --------------------------------------------------------------


def test_going_back_keeps_content_and_refuses_going_forward(run):
    new_project(run)
    run.replay([A_CADRAGE, A_ACTEURS, "/suivant", A_TRANSPORT])
    out = run.replay(["/retour cadrage"]).stdout
    assert "Retour à l'étape « Cadrage et parties prenantes » : son contenu est conservé" in out
    s = run.strategy()
    assert s.current_stage == "cadrage" and s.diagnostic.strengths  # later content kept
    out = run.replay(["/retour 5"], 1).stdout
    assert "n'est pas une étape antérieure" in out
    out = run.replay(["/suivant", "/retour diag", "/retour inconnue"], 1).stdout
    assert "=== Étape 2/6 : Diagnostic du territoire ===" in out and "Étape inconnue : « inconnue »" in out


def test_resume_after_restart_in_a_new_process(run, monkeypatch):
    new_project(run)
    run.replay([A_CADRAGE])
    before = run.assistants
    # A new Assistant and a new model: only the files remain. The conversation resumes at the next question.
    run.chat = ScriptedChat(ANSWERS, DRAFTS)
    out = run("workflow", "--project", PROJECT, input=f"{A_ACTEURS}\n/quitter\n").stdout
    assert run.assistants == before + 1
    assert "Question : Quelles parties prenantes associer" in out.split(">")[0]
    assert "J'ai enregistré :" in out and "Au revoir" in out
    assert len(run.strategy().cadrage.stakeholders) == 4
    # A real new Python process reads the same state (no model needed to show it).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(run.data_dir)
    proc = subprocess.run([sys.executable, "-m", "assistant", "project", "show", PROJECT, "--json"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["stages"][0]["ok"] and shown["version"] == run.strategy().version


def test_malformed_model_reply_twice_gives_a_french_error_and_loses_nothing(run):
    new_project(run)
    run.replay([A_CADRAGE])
    before = run.strategy()
    garbled = "Les associations et les écoles, surtout."
    run.chat.answers[garbled] = "voici les parties prenantes : associations, écoles"  # not JSON, twice
    calls = len(run.chat.calls)
    result = run.replay([garbled, A_ACTEURS], 1)
    assert len(run.chat.calls) == calls + 3  # one try and one repair for the bad turn, then the next turn
    assert "Erreur : Le modèle fake n'a pas produit de JSON valide" in result.stdout
    assert "Rien n'a été modifié : la question reste posée." in result.stdout
    assert "Erreur : 1 tour(s) du script ont échoué (n° 1)" in result.stderr
    after = run.strategy()
    assert after.cadrage.ambition == before.cadrage.ambition  # nothing lost
    assert len(after.cadrage.stakeholders) == 4  # and the conversation went on


# --- project commands, schema, interactive mode, scripts ------------------------------------------------


def test_project_new_list_show_delete(run):
    err = run("project", "new", "Erquy", "--type", "commune", "--code", "22", code=1).stderr
    assert err.startswith("Erreur : Territoire refusé") and " — " in err
    err = run("project", "new", "Erquy", "--type", "ville", code=1).stderr
    assert "Type de territoire inconnu : « ville » — types possibles : commune, epci, departement, region" in err
    new_project(run, documents=True)
    run("project", "new", PROJECT, code=1)
    rows = json.loads(run("project", "list", "--json").stdout)
    assert rows == [{"name": PROJECT, "slug": SLUG, "documents": 2, "stage": "cadrage", "version": 1,
                     "updated_at": rows[0]["updated_at"]}]
    assert "Plouvenec (commune fictive) — étape : Cadrage et parties prenantes" in run("project", "list").stdout
    text = run("project", "show", PROJECT).stdout
    assert "Question en cours : Plouvenec (commune fictive) est-il plutôt rural, urbain ou mixte ?" in text
    assert "Leviers :" in text and "Documents indexés (2)" in text
    assert "n'a pas encore de stratégie" in run("project", "show", "Inconnu", code=1).stderr

    err = run("project", "delete", PROJECT, code=1).stderr
    assert "Suppression non confirmée" in err and "2 document(s)" in err and "--oui" in err
    assert (run.data_dir / "projects" / SLUG).is_dir()
    out = run("project", "delete", PROJECT, "--oui").stdout
    assert "supprimé (2 document(s) retiré(s) de l'index)" in out
    assert not (run.data_dir / "projects" / SLUG).exists()
    assert run.assistant().documents(PROJECT) == [] and run.assistant().search("tourisme", PROJECT,
                                                                               include_knowledge=False).passages == []
    assert "n'existe pas" in run("project", "delete", PROJECT, "--oui", code=1).stderr


def test_schema_command(run, tmp_path):
    diagnostic = json.loads(run("schema", "diagnostic").stdout)
    assert diagnostic["$id"] == "diagnostic.schema.json" and "strengths" in diagnostic["properties"]
    assert json.loads(run("schema", "2").stdout) == diagnostic
    assert "overrides" in json.loads(run("schema", "strategy").stdout)["properties"]
    assert "Étape inconnue" in run("schema", "budget", code=1).stderr
    assert "Aucune étape indiquée" in run("schema", code=1).stderr
    written = run("schema", "--out", tmp_path / "s").stdout.split()
    assert len(written) == len(STAGES) + 1 and all(Path(p).is_file() for p in written)


def test_interactive_conversation_and_commands(run):
    assert "Aucun projet indiqué" in run("workflow", code=1).stderr
    result = run("workflow", "--project", "Nouvelle Commune", input="/aide\n/etat\n/passer\n/inconnue\n")
    out = result.stdout
    assert "Question : Quel territoire porte la démarche ?" in out  # created on first use
    assert "/forcer RAISON" in out and "Étapes de la méthode :" in out
    assert "Question reportée" in out
    assert "Erreur : Commande inconnue : « /inconnue » — tapez /aide" in result.stderr  # EOF ends the loop


def test_bad_scripts_are_refused_in_french(run, tmp_path):
    new_project(run)
    bad = tmp_path / "bad.json"
    bad.write_text("[\"ok\", ", encoding="utf-8")
    err = run("workflow", "replay", "--project", PROJECT, "--script", bad, code=1).stderr
    assert err.startswith("Erreur : Le script bad.json n'est pas du JSON valide")
    bad.write_text(json.dumps(["ok", {"dire": "x"}]), encoding="utf-8")
    assert "Tour n° 2 du script : clé(s) « dire » inattendue(s)" in run(
        "workflow", "replay", "--project", PROJECT, "--script", bad, code=1).stderr
    assert "Script illisible" in run("workflow", "replay", "--project", PROJECT, "--script", tmp_path / "x.json",
                                     code=1).stderr


def test_script_turn_can_name_the_question_it_answers(run):
    new_project(run)
    run.replay([A_CADRAGE, A_ACTEURS, "/suivant"])
    # The next question is about transport; the script answers the targets question instead.
    out = run.replay([{"say": A_CIBLES, "question": "diagnostic.cibles"},
                      {"say": A_CONCURRENTS, "question": "das.liste"}], 1).stdout
    assert "ajout — cible prioritaire : « jeunes familles actives »" in out
    assert "Erreur : La question « das.liste » n'est pas posée à l'étape « Diagnostic du territoire »" in out
    assert [t.name for t in run.strategy().diagnostic.targets] == ["jeunes familles actives"]
    assert run.strategy().diagnostic.competitors == []


def test_replay_json_output(run):
    new_project(run)
    data = json.loads(run.replay([{"comment": "essai"}, A_CADRAGE, "/quitter", A_ACTEURS], 0, "--json").stdout)
    assert data["turns"][0] == {"n": 1, "comment": "essai"}
    assert data["turns"][1]["input"] == A_CADRAGE and "J'ai enregistré" in data["turns"][1]["reply"]
    assert len(data["turns"]) == 3 and data["failed"] == []  # /quitter stops the replay


def test_resolve_stage():
    assert resolve_stage("2") == "diagnostic" and resolve_stage("Plan") == "plan_action"
    assert resolve_stage("tableau de bord") == "tableau_de_bord" and resolve_stage("DAS") == "das"
    with pytest.raises(InputError, match="Étape inconnue"):
        resolve_stage("7")
