"""The guided workflow through FakeChat: a full walk, agenda, gates, drafts and quote checks, hypotheses.

One test (marked ``real_model``) reads an answer with the real embedded model.
"""

from __future__ import annotations

import functools
import json
import time

import jsonschema
import pytest

from assistant.errors import ConfigError, InputError, WorkflowError
from assistant.llm import FakeChat, block_real_models
from assistant.schemas import Chunk, Passage
from assistant.workflow import (
    STAGES, ProjectStorage, WorkflowEngine, agenda, can_advance, check_levers, check_steps, pending_review,
    stage_schema, strategy_schema,
)
from assistant.workflow.agenda import Question
from assistant.workflow.artifacts import Action, Figure, Stakeholder, Target
from assistant.workflow.items import iter_items
from assistant.workflow.prompting import load_prompt
from assistant.workflow.provenance import DocumentSource, HypothesisSource, UserSource
from assistant.workflow.quotes import figure_supported, numbers_in, quote_occurs
from assistant.workflow.stages import EXTRACTORS


@pytest.fixture(autouse=True)
def _no_real_models():
    block_real_models(True)
    yield


class Replies:
    """FakeChat whose next reply the test decides just before each call (and can inspect what was sent)."""

    def __init__(self) -> None:
        self.queue: list[dict] = []
        self.chat = FakeChat(lambda messages: self.queue.pop(0))


@pytest.fixture
def setup(tmp_path):
    replies = Replies()
    storage = ProjectStorage(tmp_path / "projects")
    engine = WorkflowEngine(replies.chat, storage)
    engine.start("Dinan")
    return engine, storage, replies


def passage(text: str, file: str = "diagnostic.pdf", page: int = 3, n: int = 0) -> Passage:
    chunk = Chunk(id=f"c{n}-{file}-{page}", project="dinan", file=file, doc_type="pdf", page=page, start=0,
                  end=len(text), text=text, content_hash="h", ingested_at="2024-01-01T00:00:00+00:00")
    return Passage(chunk=chunk, score=1.0 - n / 10)


@functools.cache
def validator(stage: str | None) -> jsonschema.Draft202012Validator:
    schema = stage_schema(stage) if stage else strategy_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def assert_saved_json_valid(storage: ProjectStorage, slug: str = "dinan") -> None:
    """The file on disk (not the object in memory) validates against the exported schemas."""
    data = json.loads((storage.project_dir(slug) / "strategy.json").read_text(encoding="utf-8"))
    validator(None).validate(data)
    for stage in STAGES:
        validator(stage).validate(data[stage])


# --- a full walk ----------------------------------------------------------------------------------------


def reply_for(q: Question, strategy) -> dict:
    """What a user would say to each question of the walk, already as the small model's JSON."""
    subject_name = next((i.label() for st in STAGES for i in _items(strategy, st) if i.id == q.subject_id), "")
    n_kpis = len(strategy.tableau_de_bord.kpis)
    return {
        "territoire": {"nom": "Dinan", "type": "commune", "code": "22050", "caractere": "urbain",
                       "ambition": "Attirer des familles et des entreprises du numérique d'ici 2030"},
        "parties_prenantes": {"parties_prenantes": [
            {"type": "entreprises", "attentes": ["main-d'œuvre qualifiée"], "participation": "co_construit",
             "comment": "comité de pilotage"},
            {"type": "associations", "attentes": ["visibilité"], "comment": "ateliers"},
            {"type": "habitants", "attentes": ["tranquillité"], "participation": "consulte",
             "comment": "enquête en ligne"},
            {"type": "elus", "attentes": ["résultats visibles"], "participation": "co_construit"}]},
        "axe": {"forces": [f"force {q.subject_id}"], "faiblesses": [f"faiblesse {q.subject_id}"],
                "chiffres": [{"libelle": f"mesure {q.subject_id}", "valeur": 55, "unite": "min", "annee": 2024}]},
        "swot_source": {"constats": [{"categorie": "faiblesse", "texte": "Peu de médecins généralistes",
                                      "source": "DREES, accessibilité potentielle localisée", "annee": 2015}]},
        "cibles": {"cibles": [{"nom": "familles avec enfants", "raison": "écoles"},
                              {"nom": "entreprises du numérique", "raison": "fibre"}]},
        "concurrents": {"concurrents": [{"nom": "Saint-Malo", "raison": "mêmes familles"}]},
        "das_liste": {"das": [{"nom": "Accueil des familles", "activites": ["petite enfance", "écoles"],
                               "cibles": ["familles"]},
                              {"nom": "Économie numérique", "activites": ["tiers-lieu"],
                               "cibles": ["entreprises du numérique"]}]},
        "das_critere": {"critere": "externe", "justification": "activités tournées vers les mêmes publics",
                        "cibles": []},
        "das_mission": {"mission": f"mission de {subject_name}", "objectifs": ["objectif 1"]},
        "das_moyens": {"facteurs_cles": ["qualité d'accueil"], "ressources": [f"service {subject_name}"]},
        "budget": {"montant": 120000, "annee": 2025, "note": None},
        "positionnement": {"avantages": ["cadre de vie"], "promesse": f"promesse pour {subject_name}",
                           "marqueurs": ["cité médiévale"], "slogan": "Dinan, ville à vivre"},
        "actions": {"actions": [{"titre": f"Campagne {subject_name}", "type": "campagne_ciblee",
                                 "canal": "réseaux sociaux", "porteur": "Office de tourisme",
                                 "type_porteur": "associations" if "famille" in subject_name else "entreprises"}]},
        "action_calendrier": {"debut": "2025-03", "fin": "2025-06", "budget": 15000},
        "kpi": {"nom": f"indicateur {subject_name}", "nature": "qualitatif" if n_kpis % 2 else "quantitatif",
                "formule": "nombre de contacts", "source": "CRM", "frequence": "trimestrielle",
                "responsable": "service communication"},
        "kpi_valeurs": {"valeur_initiale": 10, "annee_initiale": 2024, "valeur_cible": 50, "annee_cible": 2027,
                        "unite": "contacts"},
    }[q.extractor]


# Every number of the replies above, as the user wrote them: a number the user did not write is not recorded.
USER_TEXT = ("réponse de l'utilisateur : 55 min (2024) ; budget de 120 000 € (2025) ; 15 000 € ; de 10 contacts (2024) "
             "à 50 (2027) ; DREES 2015")


def _items(strategy, stage):
    return [ref.item for ref in iter_items(strategy, stage)]


def test_full_walk_through_all_stages(setup):
    engine, storage, replies = setup
    visited, answers = [], 0
    while True:
        strategy = storage.load("dinan")
        view = agenda(strategy)
        if view.gate.ok:
            assert_saved_json_valid(storage)  # each stage's artifact, as saved, against its schema
            visited.append(view.stage)
            if view.stage == STAGES[-1]:
                break
            engine.advance("dinan")
            continue
        q = view.next
        assert q is not None and q.required, view.gate.reasons
        replies.queue.append(reply_for(q, strategy))
        result = engine.answer("dinan", USER_TEXT)
        assert result.changes, (q.id, result.message)
        assert "J'ai enregistré" in result.message
        answers += 1
        assert answers < 60, "the walk does not converge"

    assert visited == list(STAGES)
    s = storage.load("dinan")
    assert s.current_stage == "tableau_de_bord"
    assert all(step.ok for step in check_steps(s)), check_steps(s)
    # Links are kept both ways, and every action is measured.
    for action in s.plan_action.actions:
        assert action.kpi_ids and all(action.id in k.action_ids for k in s.tableau_de_bord.kpis
                                      if k.id in action.kpi_ids)
    assert pending_review(s) == []  # what the user typed is confirmed by definition
    levers = {c.lever: c for c in check_levers(s)}
    assert levers["écoute des habitants"].ok
    assert levers["mobilisation des acteurs"].ok, levers["mobilisation des acteurs"].detail
    # Every figure came from the user, none from a document: transparency says so instead of passing.
    assert not levers["transparence"].ok
    assert "0 chiffre(s) sur" in levers["transparence"].detail
    assert all(f.provenance.kind == "utilisateur" for d in s.das.domains for f in [d.budget])
    [sourced] = [w for w in s.diagnostic.weaknesses if w.provenance.kind == "donnee_officielle"]
    assert sourced.provenance.year == 2015 and sourced.provenance.confirmed
    assert all(k.baseline and k.target and k.source for k in s.tableau_de_bord.kpis)
    assert s.version == len(storage.versions("dinan")) >= answers


def test_every_agenda_question_has_an_extractor(setup):
    engine, storage, replies = setup
    s = storage.load("dinan")
    for stage in STAGES:
        for q in agenda(s, stage).questions:
            assert q.extractor in EXTRACTORS


# --- agenda and gates -----------------------------------------------------------------------------------


def test_agenda_moves_on_as_items_are_added(setup):
    engine, storage, replies = setup
    assert engine.next_question("dinan").id == "cadrage.territoire"
    replies.queue.append({"nom": "Dinan", "type": "commune", "code": None, "caractere": None, "ambition": None})
    result = engine.answer("dinan", "Nous sommes la commune de Dinan")
    assert result.next_question.id == "cadrage.code"
    assert "22050" in result.next_question.text  # the example shows the expected format
    replies.queue.append({"nom": None, "type": None, "code": "22 050", "caractere": "urbain"})
    result = engine.answer("dinan", "22050, c'est urbain")
    s = storage.load("dinan")
    assert s.cadrage.territory.code_insee == "22050" and s.cadrage.territory.settlement == "urbain"
    assert result.next_question.id == "cadrage.ambition"
    assert "le code INSEE ou le numéro SIREN" not in agenda(s).missing


def test_numbers_the_user_did_not_write_are_not_recorded(setup):
    engine, storage, replies = setup
    s = storage.load("dinan")
    s.current_stage = "diagnostic"
    storage.save(s)
    replies.queue.append({"forces": ["les artisans recrutent"], "faiblesses": ["les jeunes partent"], "chiffres": [
        {"libelle": "artisans qui recrutent", "valeur": 1000, "unite": "personnes", "annee": 2024},
        {"libelle": "trajet vers la gare", "valeur": 15, "unite": "min", "annee": 2023}]})
    result = engine.answer("dinan", "Les artisans recrutent, les jeunes partent ; la gare est à 15 minutes.",
                           question_id="diagnostic.axe.main_oeuvre")
    s = storage.load("dinan")
    [evidence] = s.diagnostic.evidence  # the invented 1 000 is gone, with its constat
    assert evidence.figure.value == 15 and evidence.figure.year is None  # and so is the invented year
    assert "le nombre 1000 ne figure pas dans votre réponse : il n'est pas enregistré" in result.warnings
    assert any("2023" in w for w in result.warnings)
    assert [x.text for x in s.diagnostic.strengths] == ["les artisans recrutent"]


def test_invalid_code_is_refused_with_a_warning(setup):
    engine, storage, replies = setup
    replies.queue.append({"nom": "Dinan", "type": "commune", "code": "22"})
    result = engine.answer("dinan", "Dinan, dans le 22")
    assert storage.load("dinan").cadrage.territory.code_insee is None
    assert any("code INSEE" in w for w in result.warnings)


def test_gate_blocks_and_explains(setup):
    engine, storage, replies = setup
    with pytest.raises(WorkflowError) as err:
        engine.advance("dinan")
    assert "le nom du territoire" in str(err.value) and "au moins 3 types de parties prenantes" in str(err.value)
    s = storage.load("dinan")
    s.current_stage = "diagnostic"
    storage.save(s)
    replies.queue.append({"forces": ["Gare TER"], "faiblesses": ["Pas de TGV"], "chiffres": []})
    engine.answer("dinan", "Gare TER, mais pas de TGV")
    gate = can_advance(storage.load("dinan"))
    assert not gate.ok
    assert "au moins 3 forces et 3 faiblesses (1 et 1 pour l'instant)" in gate.reasons
    assert any("sourcée par un document ou une donnée officielle" in r for r in gate.reasons)
    assert "au moins 1 cible prioritaire" in gate.reasons


def test_nothing_extracted_says_so_and_skip_postpones(setup):
    engine, storage, replies = setup
    replies.queue.append({"nom": None, "type": None, "code": None, "caractere": None, "ambition": None})
    version = storage.load("dinan").version
    result = engine.answer("dinan", "je ne sais pas")
    assert result.changes == [] and "rien trouvé" in result.message
    assert storage.load("dinan").version == version  # nothing changed, nothing saved
    nxt = engine.skip("dinan")
    assert nxt.id != "cadrage.territoire"
    assert agenda(storage.load("dinan")).questions[-1].id == "cadrage.territoire"


def test_answer_input_errors(setup):
    engine, _, _ = setup
    with pytest.raises(InputError):
        engine.answer("dinan", "   ")
    with pytest.raises(InputError, match="trop longue"):
        engine.answer("dinan", "x" * 5000)
    with pytest.raises(InputError, match="partie prenante inconnu"):
        engine.answer("dinan", "bonjour", interview_with="voisins")
    with pytest.raises(WorkflowError, match="n'est plus d'actualité"):
        engine.answer("dinan", "bonjour", question_id="diagnostic.inexistante")


def test_extraction_prompt_is_small_and_carries_question_and_answer(setup):
    engine, _, replies = setup
    replies.queue.append({"nom": "Dinan"})
    engine.answer("dinan", "Nous sommes Dinan")
    messages, schema = replies.chat.calls[-1], replies.chat.schemas[-1]
    user = messages[-1]["content"]
    assert "Nous sommes Dinan" in user and "Quel territoire porte la démarche" in user and "- code (" in user
    assert len(schema["properties"]) <= 6  # a small schema for a 1.5B model
    assert sum(len(m["content"]) for m in messages) < 4000  # far below a 4k-token context


def test_interview_answers_carry_the_stakeholder(setup):
    engine, storage, replies = setup
    s = storage.load("dinan")
    s.current_stage = "diagnostic"
    storage.save(s)
    replies.queue.append({"forces": ["marchés animés"], "faiblesses": ["stationnement difficile"],
                          "chiffres": []})
    engine.answer("dinan", "Les habitants nous ont dit…", question_id="diagnostic.swot", interview_with="habitants")
    s = storage.load("dinan")
    assert s.diagnostic.strengths[0].provenance.kind == "entretien"
    assert s.diagnostic.strengths[0].provenance.stakeholder_type == "habitants"
    listening = check_levers(s)[0]
    assert listening.ok and "2 élément(s) issu(s) d'entretiens avec des habitants" in listening.detail


def test_mobilisation_lever_names_missing_associative_owner(setup):
    engine, storage, replies = setup
    s = storage.load("dinan")
    for t in ("entreprises", "associations", "elus"):
        s.cadrage.stakeholders.append(Stakeholder(type=t, involvement="consulte", provenance=UserSource()))
    s.plan_action.actions.append(Action(title="Salon", owner="CCI", owner_type="entreprises", provenance=UserSource()))
    lever = {c.lever: c for c in check_levers(s)}["mobilisation des acteurs"]
    assert "3 type(s) de parties prenantes sur 12 associé(s)" in lever.detail
    assert "aucune action n'a de porteur associatif" in lever.detail
    assert not lever.ok  # one owner type only


# --- drafts, quotes and hypotheses ----------------------------------------------------------------------


DOC = ("Dinan bénéficie d'une gare TER reliant Rennes en 55 minutes. "
       "L'offre de santé reste insuffisante dans le centre historique.")


def test_draft_keeps_verified_quotes_and_drops_invented_ones(tmp_path):
    replies = Replies()
    storage = ProjectStorage(tmp_path)
    other = passage("Le port de plaisance accueille chaque été des milliers de visiteurs britanniques, "
                    "venus en ferry par Saint-Malo.",
                    file="tourisme.pdf", page=7, n=1)
    engine = WorkflowEngine(replies.chat, storage, search=lambda q: [passage(DOC), other])
    engine.start("Dinan")
    replies.queue.append({"elements": [
        # Verbatim, with a typographic apostrophe and another case: kept, cited to page 3.
        {"extrait": "dinan bénéficie d\u2019une gare TER reliant Rennes en 55 minutes", "passage": 1,
         "categorie": "force", "texte": "Gare TER à 55 minutes de Rennes"},
        # Invented sentence: dropped.
        {"extrait": "Dinan possède un aéroport international très fréquenté", "passage": 1,
         "categorie": "force", "texte": "Aéroport international"},
        # Genuine quote but a figure that is not in it: dropped.
        {"extrait": "L'offre de santé reste insuffisante dans le centre historique", "passage": 1,
         "categorie": "faiblesse", "texte": "Seulement 3 médecins pour 10000 habitants"},
        # Right quote, wrong passage number: attributed to the passage where it occurs.
        {"extrait": "Le port de plaisance accueille chaque été des milliers de visiteurs", "passage": 1,
         "categorie": "cible", "texte": "Touristes britanniques"},
        # No quote at all: a hypothesis.
        {"extrait": "", "passage": None, "categorie": "concurrent", "texte": "Saint-Malo"},
    ]})
    result = engine.propose_draft("dinan", "diagnostic")
    s = storage.load("dinan")
    force = s.diagnostic.strengths[0]
    assert [x.text for x in s.diagnostic.strengths] == ["Gare TER à 55 minutes de Rennes"]
    assert isinstance(force.provenance, DocumentSource)
    assert (force.provenance.file, force.provenance.page) == ("diagnostic.pdf", 3)
    assert quote_occurs(force.provenance.quote, DOC)
    assert s.diagnostic.weaknesses == []
    assert s.diagnostic.targets[0].provenance.file == "tourisme.pdf"
    assert isinstance(s.diagnostic.competitors[0].provenance, HypothesisSource)
    assert len(result.dropped) == 2
    assert any("ne figure dans aucun passage" in d for d in result.dropped)
    assert any("chiffre(s) absent(s) de l'extrait (3, 10000)" in d for d in result.dropped)
    assert result.passages == ["diagnostic.pdf, p. 3", "tourisme.pdf, p. 7"]
    # The passages were shown numbered to the model.
    assert "[1] diagnostic.pdf, p. 3" in replies.chat.calls[-1][-1]["content"]
    assert not any(p.confirmed for p in [force.provenance, s.diagnostic.competitors[0].provenance])


STATS = ("En 2023, l'office de tourisme a compté 48 500 visiteurs au château de Dinan, un record. La fréquentation "
         "des remparts suit la même tendance.")


def test_drafts_of_the_later_stages(tmp_path):
    replies = Replies()
    storage = ProjectStorage(tmp_path)
    engine = WorkflowEngine(replies.chat, storage, search=lambda q: [passage(STATS, file="bilan.pdf", page=12)])
    s = engine.start("Dinan")
    s.diagnostic.targets.append(Target(name="familles avec enfants", provenance=UserSource()))
    storage.save(s)
    replies.queue += [
        {"elements": [{"extrait": "", "passage": None, "nom": "Accueil des familles", "activites": ["crèches"]}]},
        {"elements": [{"extrait": "", "passage": None, "cible": "familles", "avantages": ["cadre de vie"],
                       "promesse": "Grandir à Dinan", "slogan": "Dinan, côté famille"},
                      {"extrait": "", "passage": None, "cible": "retraités", "avantages": [], "promesse": "",
                       "slogan": ""}]},
        {"elements": [{"extrait": "", "passage": None, "titre": "Salon de l'habitat", "type": "evenement",
                       "cible": "familles", "canal": "salon"}]},
        {"elements": [
            {"extrait": "l'office de tourisme a compté 48 500 visiteurs au château de Dinan", "passage": 1,
             "nom": "Visiteurs du château", "nature": "quantitatif", "valeur_initiale": 48500, "annee": 2023},
            {"extrait": "l'office de tourisme a compté 48 500 visiteurs au château de Dinan", "passage": 1,
             "nom": "Visiteurs du musée", "nature": "quantitatif", "valeur_initiale": 52000, "annee": 2023}]},
    ]
    results = {stage: engine.propose_draft("dinan", stage)
               for stage in ("das", "positionnement", "plan_action", "tableau_de_bord")}
    s = storage.load("dinan")
    target_id = s.diagnostic.targets[0].id
    assert s.das.domains[0].name == "Accueil des familles"
    assert s.positionnement.positionings[0].target_id == target_id
    assert any("retraités" in w for w in results["positionnement"].warnings)  # not a target: not invented
    assert s.plan_action.actions[0].target_ids == [target_id] and s.plan_action.actions[0].type == "evenement"
    [kpi] = s.tableau_de_bord.kpis  # the museum figure is not in its quote: dropped
    assert kpi.baseline.value == 48500 and kpi.baseline.provenance.kind == "document"
    assert kpi.baseline.provenance.page == 12 and kpi.source == "bilan.pdf"
    assert len(pending_review(s)) == 5  # four items and one figure, none confirmed


def test_hypotheses_stay_marked_until_confirmed(setup):
    engine, storage, replies = setup
    replies.queue.append({"elements": [
        {"extrait": "", "type": "entreprises", "attente": "foncier disponible"},
        {"extrait": "", "type": "associations", "attente": "des salles"}]})
    result = engine.propose_draft("dinan")  # no search: everything is a hypothesis
    assert "hypothèses à confirmer" in result.message
    s = storage.load("dinan")
    pending = pending_review(s)
    assert {p.kind for p in pending} == {"hypothese"} and len(pending) == 2
    assert all(p.status == "HYPOTHÈSE à confirmer" for p in pending)
    assert any("proposition(s) à valider ou supprimer" in r for r in can_advance(s).reasons)

    item_id = s.cadrage.stakeholders[0].id
    change = engine.confirm("dinan", item_id)
    assert change.action == "validation"
    s = storage.load("dinan")
    confirmed = s.cadrage.stakeholders[0].provenance
    assert confirmed.kind == "hypothese" and confirmed.confirmed and confirmed.confirmed_at
    assert len(pending_review(s)) == 1
    assert any("restent à sourcer" in w for w in can_advance(s).warnings)
    with pytest.raises(ValueError, match="validation datée"):
        HypothesisSource(confirmed=True)  # no silent confirmation


def test_hypothetical_figure_is_labelled():
    figure = Figure(value=120000, unit="€", year=2025, provenance=HypothesisSource())
    assert figure.label() == "120\u202f000 € (2025) [HYPOTHÈSE à confirmer]"
    with pytest.raises(ValueError, match="n'apparaît pas"):
        Figure(value=12, provenance=DocumentSource(file="a.pdf", quote="la commune compte 14 000 habitants"))


def test_draft_ignores_passages_too_short_to_prove_anything(tmp_path):
    replies = Replies()
    short = passage("Pilotage\n\n- Service tourisme", file="fiche29.md", page=None, n=1)
    engine = WorkflowEngine(replies.chat, ProjectStorage(tmp_path), search=lambda q: [short, passage(DOC)])
    engine.start("Dinan")
    replies.queue.append({"elements": [{"extrait": "", "passage": None, "categorie": "force", "texte": "x"}]})
    result = engine.propose_draft("dinan", "diagnostic")
    assert result.passages == ["diagnostic.pdf, p. 3"]
    assert "Service tourisme" not in replies.chat.calls[-1][-1]["content"]


def test_draft_drops_quotes_that_are_only_a_section_title(tmp_path):
    replies = Replies()
    text = ("Axe 1 : Garantir une bonne accessibilité du territoire\n- création d'un réseau de transport périurbain "
            "DINAMO! (4 lignes : Taden, Lanvallay, Quévert, Dinan)")
    chunk = passage(text, file="fiche24.md", page=None)
    chunk.chunk.section = "Présentation de l'action > Axe 1 : Garantir une bonne accessibilité du territoire"
    engine = WorkflowEngine(replies.chat, ProjectStorage(tmp_path), search=lambda q: [chunk])
    engine.start("Dinan")
    replies.queue.append({"elements": [
        {"extrait": "Axe 1 : Garantir une bonne accessibilité du territoire", "passage": 1, "categorie": "force",
         "texte": "Bonne accessibilité"},
        {"extrait": "création d'un réseau de transport périurbain DINAMO!", "passage": 1, "categorie": "force",
         "texte": "Un réseau de transport périurbain"}]})
    result = engine.propose_draft("dinan", "diagnostic")
    assert [c.label for c in result.changes] == ["Un réseau de transport périurbain"]
    assert result.dropped == ["« force / Bonne accessibilité » : l'extrait cité est un titre de section, pas un constat"]


def test_quote_and_number_helpers():
    assert quote_occurs("« Dinan bénéficie d'une gare TER »", DOC)
    assert not quote_occurs("gare TER", DOC)  # too short to prove anything
    assert {14000.0, 12.5} <= numbers_in("14 000 habitants, 12,5 %")
    assert figure_supported(1_200_000, "1,2 million de visiteurs")
    assert not figure_supported(1300, "1 200 emplois")


def test_prompt_loader_refuses_missing_and_unused_values():
    with pytest.raises(ConfigError, match="attend"):
        load_prompt("workflow_system")
    with pytest.raises(ConfigError, match="n'utilise pas"):
        load_prompt("workflow_system", stage="cadrage", intrus="x")
    assert "cadrage" in load_prompt("workflow_system", stage="cadrage")


# --- the real embedded model ----------------------------------------------------------------------------


@pytest.mark.real_model
def test_real_model_reads_a_cadrage_answer(tmp_path):
    from assistant.config import Settings
    from assistant.llm import build_chat_model

    block_real_models(False)
    try:
        s = Settings()
        chat = build_chat_model(s.llm, s.models_dir)
        storage = ProjectStorage(tmp_path)
        engine = WorkflowEngine(chat, storage)
        engine.start("Dinan")
        start = time.perf_counter()
        result = engine.answer("dinan", "Notre commune de Dinan (22050) veut attirer des familles et des "
                               "entreprises du numérique")
        print(f"extraction réelle : {time.perf_counter() - start:.1f} s\n{result.message}")
        strategy = storage.load("dinan")
        territory = strategy.cadrage.territory
        assert "dinan" in territory.name.lower()
        assert territory.code_insee in (None, "22050")  # never an invented code
        assert territory.provenance.kind == "utilisateur"
        assert_saved_json_valid(storage)
    finally:
        block_real_models(True)
