"""Interview kit (guides per stakeholder type) and interview notes: pseudonymisation, statements, diagnostic."""

from __future__ import annotations

import json

import docx
import pytest
from odf.opendocument import OpenDocumentText
from odf.text import P
from typer.testing import CliRunner

from assistant import cli
from assistant.config import Settings
from assistant.core import Assistant
from assistant.errors import InputError
from assistant.exports import write_document
from assistant.exports.to_docx import read_docx_footnotes
from assistant.interview_notes import add_interview_notes
from assistant.interviews import DEFAULT_TYPES, build_guide, build_kit, interview_types, kit_document
from assistant.llm import FakeChat
from assistant.pseudonymize import pseudonymize
from assistant.workflow.provenance import STAKEHOLDER_LABELS, InterviewSource
from assistant.workflow.storage import ProjectStorage

from .dinan_project import STAKEHOLDER_TYPES, build_dinan, corpus_data

NOTES = """Entretien du 12 mars 2025 à Dinan
Personne interrogée : Jean-Pierre Le Gall, gérant d'hôtel, jp.legall@example.fr, 06 12 34 56 78.
Présente aussi : Mme Morvan (office de tourisme).
Jean-Pierre Le Gall estime que les clients viennent surtout en juillet et août.
Il trouve que la gare de Dinan manque de liaisons directes vers Rennes le dimanche.
Selon lui, les saisonniers ne trouvent pas de logement à proximité de la vieille ville.
Le Gall ajoute que Dinan Agglomération et le Conseil Départemental soutiennent les hôteliers."""
PEOPLE = ("Le Gall", "Jean-Pierre", "Morvan", "legall", "06 12 34 56 78")


# --- pseudonymisation ----------------------------------------------------------------------------------


def test_titles_pairs_emails_and_phones_are_replaced_consistently():
    r = pseudonymize(NOTES)
    assert not any(p in r.text for p in PEOPLE)
    assert "Personne interrogée : [personne 1], gérant d'hôtel, [courriel], [téléphone]." in r.text
    assert "Présente aussi : [personne 2] (office de tourisme)." in r.text
    # Same person, same number, even at the start of a sentence and by the surname alone.
    assert "[personne 1] estime que" in r.text and "[personne 1] ajoute que" in r.text
    assert "Dinan Agglomération et le Conseil Départemental" in r.text and "gare de Dinan" in r.text
    assert (r.people, r.emails, r.phones) == (2, 1, 1)
    assert r.summary() == "2 personne(s), 1 courriel(s) et 1 numéro(s) de téléphone remplacés"


@pytest.mark.parametrize("phone", ["06 12 34 56 78", "06.12.34.56.78", "0612345678", "+33 6 12 34 56 78",
                                   "+33612345678", "02-96-00-11-22"])
def test_french_phone_formats(phone):
    assert pseudonymize(f"Appeler le {phone} avant midi.").text == "Appeler le [téléphone] avant midi."


def test_places_organisations_and_sentence_starts_are_left_alone():
    text = ("Nous avons rencontré la CCI Côtes d'Armor à Saint-Malo. La Vallée de la Rance attire. "
            "Le Président de Dinan Agglomération viendra en Septembre Prochain. Office de Tourisme fermé.\n"
            "Marie Dupont ouvre la réunion.")
    r = pseudonymize(text, not_names=["Prochain"])
    assert r.text == text and r.people == 0  # a name only at the start of a line is not found by itself
    r = pseudonymize(text + " Ensuite, Marie Dupont conclut.")
    assert r.text.startswith(text.split("\n")[0]) and r.text.count("[personne 1]") == 2
    assert pseudonymize("Le rapport de M. le maire est prêt.").people == 0
    assert pseudonymize("Réunion avec Mme LE GOFF et Yann LE GOFF.").text == \
        "Réunion avec [personne 1] et [personne 1]."


# --- interview guides ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dinan(tmp_path_factory):
    root = tmp_path_factory.mktemp("interviews")
    storage = ProjectStorage(root / "data" / "projects")
    return storage, build_dinan(storage, corpus_data()), root


def test_kit_covers_every_stakeholder_type_of_the_project(dinan):
    _, strategy, _ = dinan
    types = interview_types(strategy)
    assert types[:8] == list(DEFAULT_TYPES) and set(STAKEHOLDER_TYPES) <= set(types)
    guides = build_kit(strategy)
    assert [g.stakeholder_type for g in guides] == types
    for guide in guides:
        titles = [s.title for s in guide.sections]
        assert titles[0] == "Présentation et consentement" and "Compléter le diagnostic" in titles
        expectations = next(s for s in guide.sections if s.title.startswith("Attentes"))
        assert expectations.questions and all(q.source for q in expectations.questions), guide.stakeholder_type
        assert "Tester la promesse" in titles  # the project has a promise to test
    with pytest.raises(InputError, match="types possibles"):
        interview_types(strategy, "journalistes")


def test_method_expectations_and_missing_axes_drive_the_questions(tmp_path):
    strategy = ProjectStorage(tmp_path).create("Lamballe")
    companies = build_guide(strategy, "entreprises")
    questions = [q for s in companies.sections for q in s.questions]
    assert any("main-d'œuvre qualifiée" in q.text and q.source.startswith("01_parties_prenantes.md") for q in questions)
    axes = [q for q in questions if q.source.startswith("02_diagnostic.md")]
    assert len(axes) == 5 and all(q.hint.startswith("Documents à demander") for q in axes)
    tourists = [q for s in build_guide(strategy, "touristes").sections for q in s.questions]
    assert {q.source.split(" — ")[1][:6] for q in tourists if q.source.startswith("02_")} == {"Axe 1 ", "Axe 4 "}
    elus = [q.text for s in build_guide(strategy, "elus").sections for q in s.questions]
    assert any(t.startswith("Quels publics ?") for t in elus)
    assert any(t.startswith("Est-ce déjà le cas pour Lamballe : un document de cadrage précise") for t in elus)
    agents = [q.text for s in build_guide(strategy, "agents").sections for q in s.questions]
    assert any("mêmes équipes" in t for t in agents)
    assert not any(s.title == "Tester la promesse" for s in companies.sections)


def test_kit_exports_as_markdown_and_docx(dinan, tmp_path):
    _, strategy, _ = dinan
    doc = kit_document(strategy, build_kit(strategy))
    md = write_document(doc, "md", tmp_path / "kit.md").read_text(encoding="utf-8")
    for kind in interview_types(strategy):
        assert f"## Guide d'entretien — {STAKEHOLDER_LABELS[kind]}" in md
    path = write_document(doc, "docx", tmp_path / "kit.docx")
    headings = [p.text for p in docx.Document(path).paragraphs if p.style.name == "Heading 1"]
    assert len(headings) == len(interview_types(strategy))
    notes = read_docx_footnotes(path)
    assert any(n.startswith("Méthode : 01_parties_prenantes.md — Attentes typiques") for n in notes)


def test_guide_cli(dinan, monkeypatch, tmp_path):
    _, _, root = dinan
    monkeypatch.setattr(cli, "_assistant", lambda: Assistant(Settings(data_dir=root / "data", _env_file=None),
                                                             chat=FakeChat([])))
    runner = CliRunner()
    result = runner.invoke(cli.app, ["entretiens", "guide", "--project", "Dinan", "--type", "touristes"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# Kit d'entretien — Dinan") and "Guide d'entretien — touristes" in result.stdout
    out = tmp_path / "kit.docx"
    result = runner.invoke(cli.app, ["entretiens", "guide", "--project", "Dinan", "--format", "docx", "--out", str(out)])
    assert result.exit_code == 0 and "10 guide(s)" in result.stdout and out.is_file()  # 8 + ess, clubs
    result = runner.invoke(cli.app, ["entretiens", "guide", "--project", "Dinan", "--type", "journalistes"])
    assert result.exit_code == 1 and "types possibles" in result.stderr


# --- interview notes -------------------------------------------------------------------------------------


def statements_reply(messages) -> str:
    prompt = messages[-1]["content"]
    assert not any(p in prompt for p in PEOPLE), "the model must only see pseudonymised notes"
    return json.dumps({"statements": [
        {"quote": "la gare de Dinan manque de liaisons directes vers Rennes", "axis": "transport",
         "summary": "Pas assez de trains directs vers Rennes le dimanche"},
        {"quote": "les saisonniers ne trouvent pas de logement", "axis": "qualite_vie",
         "summary": "Les saisonniers ne trouvent pas à se loger près de la vieille ville"},
        {"quote": "le maire promet un TGV direct", "axis": "transport", "summary": "Un TGV direct est promis"},
    ]}, ensure_ascii=False)


def write_notes(path):
    if path.suffix == ".docx":
        document = docx.Document()
        for line in NOTES.splitlines():
            document.add_paragraph(line)
        document.save(path)
    elif path.suffix == ".odt":
        document = OpenDocumentText()
        for line in NOTES.splitlines():
            document.text.addElement(P(text=line))
        document.save(str(path))
    else:
        path.write_text(NOTES, encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".txt", ".docx", ".odt"])
def test_notes_become_unconfirmed_stakeholder_opinions(tmp_path, suffix):
    storage = ProjectStorage(tmp_path / "projects")
    storage.create("Dinan")
    chat = FakeChat(statements_reply)
    result = add_interview_notes(storage, "dinan", write_notes(tmp_path / f"hotel{suffix}"), "entreprises", chat)
    assert result.added == ["Avis des entreprises : Pas assez de trains directs vers Rennes le dimanche "
                            "[infrastructures de transport]",
                            "Avis des entreprises : Les saisonniers ne trouvent pas à se loger près de la vieille "
                            "ville [qualité de vie]"]
    assert result.dropped == ["« Un TGV direct est promis » : extrait introuvable dans les notes"]
    evidence = storage.load("dinan").diagnostic.evidence
    assert [e.axis for e in evidence] == ["transport", "qualite_vie"]
    for e in evidence:
        assert isinstance(e.provenance, InterviewSource) and e.provenance.stakeholder_type == "entreprises"
        assert not e.provenance.confirmed and e.provenance.note.startswith("hotel-pseudonymise.txt — « ")
    kept = result.saved_to.read_text(encoding="utf-8")
    assert result.saved_to.parent.name == "entretiens" and not any(p in kept for p in PEOPLE)
    assert "[personne 1]" in kept and "[courriel]" in kept
    again = add_interview_notes(storage, "dinan", tmp_path / f"hotel{suffix}", "entreprises", chat)
    assert again.added == [] and len(storage.load("dinan").diagnostic.evidence) == 2


def test_notes_cli_with_and_without_model(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    chat = FakeChat(statements_reply)
    monkeypatch.setattr(cli, "_assistant", lambda: Assistant(Settings(data_dir=data_dir, _env_file=None), chat=chat))
    ProjectStorage(data_dir / "projects").create("Dinan")
    notes = write_notes(tmp_path / "entretien.txt")
    runner = CliRunner()
    result = runner.invoke(cli.app, ["entretiens", "notes", str(notes), "--project", "Dinan", "--type", "habitants"])
    assert result.exit_code == 0, result.stderr
    assert "2 personne(s), 1 courriel(s)" in result.stdout and "Bilan : 2 avis ajouté(s)" in result.stdout
    assert "écarté    « Un TGV direct est promis »" in result.stdout
    result = runner.invoke(cli.app, ["entretiens", "notes", str(notes), "--project", "Dinan", "--type", "habitants",
                                     "--sans-modele", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["added"] == [] and len(chat.calls) == 1
    result = runner.invoke(cli.app, ["entretiens", "notes", str(notes), "--project", "Dinan", "--type", "voisins"])
    assert result.exit_code == 1 and "Type de partie prenante inconnu" in result.stderr
    pdf = corpus_data().communes_csv  # not notes: a CSV table
    result = runner.invoke(cli.app, ["entretiens", "notes", str(pdf), "--project", "Dinan", "--type", "habitants"])
    assert result.exit_code == 1 and "pas des notes d'entretien" in result.stderr
