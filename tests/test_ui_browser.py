"""The web UI in a real headless Chromium: upload, sourced answers, the guided method, exports, settings.

The app runs in this process on 127.0.0.1 with a free port and a temporary data folder, the real e5 embedder and
real Chroma; the chat model is a ``FakeChat`` that answers from the passages it is given (first sentence of
passage [1], cited [1]), so what is checked is the UI and the wiring, fast. One test goes through the real
embedded model. Screenshots of every screen land in ``test-output/screenshots/``.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote

import docx
import jsonschema
import openpyxl
import pytest
from odf import teletype
from odf.opendocument import load as load_odf

from assistant.config import Settings
from assistant.core import Assistant
from assistant.errors import WorkflowError
from assistant.exports import sheets
from assistant.grounding import NOT_COVERED
from assistant.llm import FakeChat
from assistant.workflow.artifacts import STAGE_LABELS, Ambition, Figure, Kpi, Strategy, strategy_schema
from assistant.workflow.provenance import HypothesisSource, UserSource
from assistant.workflow.storage import ProjectStorage

from .dinan_project import build_dinan, corpus_data

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PDF = Path("lassembleuse__dinan-pcaet/avis-codev_pcaet_dinan_2022.pdf")
IMAGE_PDF = Path("observatoire-territoires__KitsCarto-GdDebat/PORTRAIT_84_auvergne-rhone-alpes_image_only.pdf")
QUESTION = "Quelle fiche action concerne la précarité énergétique des ménages ?"
FOLLOW_UP = "Et avec quel budget ?"
REWRITTEN = "Quel budget pour la fiche sur la précarité énergétique des ménages ?"
WAIT = 30_000  # ms, for a server round trip on a busy 2-core machine
TERRITORY_REPLY = {"nom": "Dinan Agglomération", "type": "epci", "code": None, "caractere": "mixte",
                   "ambition": "Attirer de jeunes actifs"}


# Contrast of visible text against the first opaque background behind it (WCAG relative luminance).
CONTRAST_JS = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92
                                                   : Math.pow((v + 0.055) / 1.055, 2.4); })
                                  .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                                 if (c.length === 3 || c[3] > 0.9) return c.slice(0, 3); } return [255, 255, 255]; };
  const low = [];
  for (const el of document.querySelectorAll('button, label span, p, li, a, th, td, h1, [role=tab]')) {
    if (!el.offsetParent || !el.textContent.trim()) continue;
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) low.push(el.textContent.trim().slice(0, 40) + ' : ' + ratio.toFixed(2));
  }
  return low;
}"""


def fake_reply(messages: list[dict]) -> str:
    """Plays every role of the chat model, as the real one would be prompted."""
    user = messages[-1]["content"]
    if "Question de suivi" in user:  # rewrite of a follow-up question
        return REWRITTEN
    if "Question posée" in user:  # the method reads an answer
        return json.dumps(TERRITORY_REPLY if "Quel territoire porte" in user else {})
    if "<documents>" not in user:  # the method drafts from documents: one unsourced stakeholder
        return json.dumps({"elements": [{"extrait": "", "passage": None, "type": "habitants",
                                         "attente": "Être consultés sur les projets"}]})
    if "Tokyo" in user:
        return NOT_COVERED
    m = re.search(r"\[1\] \([^)]*\)\n(.+?[.!?])(?:\s|$)", user, re.S)
    return " ".join(m.group(1).split()) + " [1]" if m else NOT_COVERED


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(assistant: Assistant):
    from assistant import ui

    port = _free_port()
    app = ui.start(assistant, "127.0.0.1", port, block=False)
    return app, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def server(tmp_path_factory, e5):
    data = tmp_path_factory.mktemp("ui") / "data"
    settings = Settings(data_dir=data, llm={"api_key": "sk-ne-jamais-afficher"}, _env_file=None)  # never shown
    chat = FakeChat(fake_reply)
    assistant = Assistant(settings, chat=chat, embedder=e5)
    app, url = _serve(assistant)
    yield SimpleNamespace(url=url, assistant=assistant, settings=settings, chat=chat)
    app.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium introuvable ({CHROMIUM}) : installez le paquet Debian « chromium »")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(output_dir) -> Path:
    path = output_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _open(browser, url: str):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)  # a busy 2-core machine can be slow
    page.goto(url, wait_until="load")
    page.get_by_label("Territoire (projet)").wait_for(state="visible")
    return context, page


@pytest.fixture
def page(browser, server):
    context, page, errors = _open_watched(browser, server.url)
    yield page
    context.close()
    assert not errors, errors


def _open_watched(browser, url: str):
    """A page whose script errors are collected (each test asserts there were none)."""
    context, page = _open(browser, url)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def choose_project(page, name: str) -> None:
    box = page.get_by_label("Territoire (projet)")
    box.click()
    box.fill(name)
    box.press("Enter")
    page.locator("#statut-projet").get_by_text(f"Territoire {name}").wait_for()


def check_contrast(page) -> None:
    low = page.evaluate(CONTRAST_JS)
    assert not low, f"contraste insuffisant : {low}"


def wait_for(check, timeout: float = 30.0):
    """Poll a server-side condition (the browser cannot see what the model was asked)."""
    end = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > end:
            raise AssertionError("condition non remplie dans le délai")
        time.sleep(0.2)
    return result


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


# --- tests ----------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_page_is_french_labelled_and_announces_statuses(page, shots):
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.title() == "Assistant de stratégie territoriale"
    page.get_by_role("button", name=re.compile("Comment définir un domaine")).wait_for()  # rendered last
    # Every visible control has an accessible name (label, aria-label or text).
    unnamed = page.evaluate("""() => [...document.querySelectorAll('input, textarea, select, button')]
        .filter(el => el.offsetParent !== null && el.type !== 'file')
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !el.getAttribute('aria-labelledby') && !el.getAttribute('title')
                      && !el.textContent.trim())
        .map(el => el.outerHTML.slice(0, 120))""")
    assert not unnamed, unnamed
    live = page.locator("#statut-discussion")
    assert live.get_attribute("aria-live") == "polite" and live.get_attribute("role") == "status"
    # Text and controls keep a contrast of at least 4.5:1 (WCAG AA, RGAA 3.2).
    check_contrast(page)
    # Keyboard: tabs open with Enter, the question box takes the focus (Enter sends: see the chat test).
    page.get_by_role("tab", name="Documents").focus()
    page.keyboard.press("Enter")
    page.get_by_text("Formats acceptés").wait_for()
    page.get_by_role("tab", name="Discussion").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Votre question").focus()
    assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
    page.screenshot(path=str(shots / "01-accueil.png"), full_page=True)


@pytest.mark.browser
def test_upload_then_sourced_answer_with_link_to_the_cited_page(page, server, corpus_dir, shots):
    choose_project(page, "Dinan")
    open_tab(page, "Documents")
    page.locator("#depot input[type=file]").set_input_files([str(corpus_dir / PDF), str(corpus_dir / IMAGE_PDF)])
    status = page.locator("#statut-documents")
    status.get_by_text("2 fichier(s) traité(s)").wait_for(timeout=120_000)
    report = page.locator("#rapport").inner_text()
    assert "indexé" in report and "pas de couche texte" in report and IMAGE_PDF.name in report
    # The French error names the file and says the fix.
    assert f"« {IMAGE_PDF.name} »" in status.inner_text() and "OCR" in status.inner_text()
    listed = page.locator("#documents-liste").inner_text()
    assert PDF.name in listed and IMAGE_PDF.name not in listed
    check_contrast(page)
    page.screenshot(path=str(shots / "02-documents.png"), full_page=True)
    # The original is kept under a safe name, and only indexed files are kept.
    uploads = server.settings.projects_dir / "dinan" / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == [PDF.name]

    open_tab(page, "Discussion")
    page.get_by_label("Votre question").fill(QUESTION)
    page.get_by_label("Votre question").press("Enter")
    chat = page.locator("#discussion")
    chat.get_by_text("Sources vérifiées").wait_for(timeout=60_000)
    link = chat.get_by_role("link", name=re.compile(re.escape(PDF.name)))
    href = link.first.get_attribute("href")
    assert href.endswith("#page=4"), href  # « 1 fiches (22) a pour sujet PRECARITE ENERGETIQUE DES MENAGES »
    assert "PRECARITE ENERGETIQUE" in chat.inner_text().upper()
    # The link serves the stored PDF; nothing outside the project's upload folder is served.
    base = server.url + href.split("#")[0]
    with urllib.request.urlopen(base) as r:
        assert r.status == 200 and r.read(5) == b"%PDF-"
    outside = server.url + "gradio_api/file=" + unquote(href.split("file=")[1].split("#")[0]).replace(
        f"uploads/{PDF.name}", "uploads.json")
    with pytest.raises(urllib.error.HTTPError) as refused_file:
        urllib.request.urlopen(outside)
    assert refused_file.value.code == 403
    assert chat.get_by_role("button", name=re.compile("copy|copier", re.I)).count() >= 1

    # A follow-up is rewritten with the history of the conversation.
    page.get_by_label("Votre question").fill(FOLLOW_UP)
    page.get_by_role("button", name="Envoyer").click()
    chat.get_by_text(FOLLOW_UP).wait_for()
    expect(page.get_by_role("button", name="Envoyer")).to_be_enabled()  # off while the answer is written
    rewrites = wait_for(lambda: [c for c in server.chat.calls if "Question de suivi" in c[-1]["content"]])
    assert QUESTION in rewrites[-1][-1]["content"]

    # A question the documents do not cover gets a distinct note, not an answer.
    page.get_by_label("Votre question").fill("Quel est le prix du ticket de métro à Tokyo ?")
    page.get_by_role("button", name="Envoyer").click()
    note = chat.locator("blockquote", has_text="Non couvert par les documents")
    note.wait_for()
    assert note.evaluate("el => getComputedStyle(el).borderTopStyle") == "solid"
    check_contrast(page)
    page.screenshot(path=str(shots / "03-discussion.png"), full_page=True)

    # Removing a document asks for confirmation, then drops its passages and its stored original.
    open_tab(page, "Documents")
    page.get_by_label("Document à retirer").click()
    page.get_by_role("option", name=PDF.name).click()
    page.get_by_role("button", name="Retirer ce document").click()
    page.get_by_role("button", name="Confirmer le retrait").click()
    expect(page.locator("#statut-documents")).to_contain_text(f"« {PDF.name} » a été retiré")
    assert PDF.name not in page.locator("#documents-liste").inner_text()
    assert not any(uploads.iterdir()) and server.assistant.documents("Dinan") == []


@pytest.mark.browser
def test_guided_method_stage_updates_its_artifact(page, server, shots):
    choose_project(page, "Val de Rance")
    open_tab(page, "Démarche")
    page.locator("#question-demarche").get_by_text("Quel territoire porte la démarche").first.wait_for()
    assert page.locator("#etapes li[aria-current=step]").inner_text().startswith("1. Cadrage")
    page.get_by_label("Votre réponse").fill("Dinan Agglomération, une agglomération mixte ; nous voulons attirer "
                                            "de jeunes actifs.")
    page.get_by_role("button", name="Enregistrer la réponse").click()
    page.locator("#statut-demarche").get_by_text("J'ai enregistré").first.wait_for()
    territory = page.locator("#table-cadrage-territory")
    expect(territory).to_contain_text("Dinan Agglomération")
    assert "Utilisateur" in territory.inner_text()  # provenance of what the person typed
    assert "Attirer de jeunes actifs" in page.locator("#table-cadrage-ambition").inner_text()

    # A draft without a passage is a hypothesis until a person confirms it.
    page.get_by_role("button", name="Proposer à partir des documents").click()
    page.locator("#statut-demarche").get_by_text("proposition(s) ajoutée(s)").first.wait_for()
    stakeholders = page.locator("#table-cadrage-stakeholders")
    expect(stakeholders).to_contain_text("HYPOTHÈSE à confirmer")
    check_contrast(page)
    page.screenshot(path=str(shots / "04-demarche.png"), full_page=True)
    picker = page.get_by_label("Élément à valider ou à supprimer")
    picker.click()
    page.get_by_role("option", name=re.compile(r"^\[à valider\] habitants")).click()
    page.get_by_role("button", name="Valider l'élément").click()
    page.locator("#statut-tableaux").get_by_text("Validé").first.wait_for()
    expect(stakeholders).to_contain_text("hypothèse validée")
    # Cells are editable: the horizon typed in the table is saved with the ambition.
    ambition = page.locator("#table-cadrage-ambition")
    cell = ambition.get_by_test_id("cell-0-2")  # the « Horizon » cell
    cell.dblclick()
    # Type only once the cell's editor is there: on a loaded machine, keys sent earlier were lost ("30").
    editor = cell.locator("input, textarea").first
    editor.wait_for(state="visible")
    editor.fill("2030")
    editor.press("Enter")
    page.get_by_role("button", name="Enregistrer les modifications des tableaux").click()
    expect(page.locator("#statut-tableaux")).to_contain_text("Ambition : élément modifié (horizon)")
    strategy = ProjectStorage(server.settings.projects_dir).load("val-de-rance")
    assert strategy.cadrage.territory.name == "Dinan Agglomération"
    assert strategy.cadrage.stakeholders[0].provenance.confirmed
    assert strategy.cadrage.ambition.horizon == "2030"


@pytest.mark.browser
def test_dashboard_shows_editable_kpis_and_a_baseline_to_target_chart(page, server, shots):
    storage = ProjectStorage(server.settings.projects_dir)
    strategy = Strategy(slug="cap-frehel", title="Cap Fréhel", current_stage="tableau_de_bord")
    strategy.tableau_de_bord.kpis = [
        Kpi(name="Nuitées touristiques", baseline=Figure(value=120000, unit="nuitées", year=2023,
                                                          provenance=UserSource()),
            target=Figure(value=150000, unit="nuitées", year=2027, provenance=UserSource()), provenance=UserSource()),
        Kpi(name="Notoriété", nature="qualitatif", provenance=HypothesisSource(),
            baseline=Figure(value=12, unit="%", year=2024, provenance=HypothesisSource()),
            target=Figure(value=25, unit="%", year=2028, provenance=UserSource())),
    ]
    storage.save(strategy)
    choose_project(page, "Cap Fréhel")
    open_tab(page, "Démarche")
    table = page.locator("#table-tableau_de_bord-kpis")
    expect(table).to_contain_text("120000 nuitées (2023)")
    assert "HYPOTHÈSE à confirmer" in table.inner_text()
    charts = page.locator(".graphique-kpi")
    charts.first.wait_for()
    assert charts.count() == 2
    charts.first.locator("canvas, svg").first.wait_for()
    check_contrast(page)
    page.screenshot(path=str(shots / "05-tableau-de-bord.png"), full_page=True)


@pytest.mark.browser
def test_export_downloads_the_strategy_json_valid_against_its_schema(page, server, shots):
    choose_project(page, "Val de Rance")
    open_tab(page, "Exports")
    expect(page.locator("#statut-exports")).to_contain_text("Stratégie « Val de Rance »")
    expect(page.locator("#statut-exports")).to_contain_text("Fichier conforme au schéma")
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger la stratégie (JSON)").click()
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    jsonschema.validate(data, strategy_schema())
    assert data["slug"] == "val-de-rance" and data["cadrage"]["territory"]["name"] == "Dinan Agglomération"
    with page.expect_download() as schema_download:
        page.get_by_role("button", name="Télécharger le schéma JSON").click()
    assert json.loads(Path(schema_download.value.path()).read_text(encoding="utf-8"))["$id"] == "strategy.schema.json"
    check_contrast(page)
    page.screenshot(path=str(shots / "06-exports.png"), full_page=True)


@pytest.mark.browser
def test_exports_download_the_strategy_document_and_the_action_plan(page, server, shots, tmp_path):
    storage = ProjectStorage(server.settings.projects_dir)
    # A strategy with one item only: the document says which stages are empty, the spreadsheet is refused.
    partial = storage.create("Plancoët")
    partial.cadrage.ambition = Ambition(text="Faire vivre le port toute l'année", provenance=UserSource())
    storage.save(partial)
    choose_project(page, "Plancoët")
    open_tab(page, "Exports")
    status = page.locator("#statut-livrables")
    get_file = page.get_by_role("button", name=re.compile("^Télécharger (le livrable|« )"))
    expect(get_file).to_be_disabled(timeout=WAIT)
    page.get_by_label("Plan d'action — Excel (XLSX)").check()
    page.get_by_role("button", name="Préparer le livrable").click()
    expect(status).to_contain_text("Le plan d'action est vide", timeout=WAIT)
    expect(get_file).to_be_disabled(timeout=WAIT)
    page.get_by_label("Document de stratégie — Word (DOCX)").check()
    expect(status).to_have_text("", timeout=WAIT)  # another format: the previous message goes
    page.get_by_role("button", name="Préparer le livrable").click()
    expect(status).to_contain_text("Étape(s) encore vide(s)", timeout=WAIT)
    assert "Attention" in status.inner_text() and STAGE_LABELS["diagnostic"] in status.inner_text()
    assert STAGE_LABELS["cadrage"] not in status.inner_text()

    # Every stage filled (Dinan's real figures and quotes): the document, the spreadsheet and the ODT.
    full = build_dinan(storage, corpus_data(), slug="dinan-livrables")
    full.title = "Dinan Livrables"
    storage.save(full)
    choose_project(page, "Dinan Livrables")
    expect(get_file).to_be_disabled(timeout=WAIT)  # the Plancoët file is not offered for another territory
    files = {}
    for label, fmt in [("Document de stratégie — Word (DOCX)", "docx"), ("Plan d'action — Excel (XLSX)", "xlsx"),
                       ("Document de stratégie — OpenDocument (ODT)", "odt")]:
        page.get_by_label(label).check()
        expect(get_file).to_be_disabled(timeout=WAIT)  # a file prepared in another format is not offered
        page.get_by_role("button", name="Préparer le livrable").click()
        expect(status).to_contain_text("Prêt à télécharger", timeout=WAIT)
        expect(get_file).to_be_enabled(timeout=WAIT)
        name = "plan-action" if fmt == "xlsx" else "strategie"
        expect(get_file).to_have_text(f"Télécharger « {name}-dinan-livrables.{fmt} »", timeout=WAIT)
        if fmt == "docx":
            check_contrast(page)
            page.screenshot(path=str(shots / "09-exports-livrables.png"), full_page=True)
        with page.expect_download() as download:
            get_file.click()
        assert download.value.suggested_filename == f"{name}-dinan-livrables.{fmt}"
        files[fmt] = tmp_path / download.value.suggested_filename  # openpyxl goes by the extension
        download.value.save_as(files[fmt])

    document = docx.Document(files["docx"])
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    for label in STAGE_LABELS.values():
        assert any(label in h for h in headings), (label, headings)
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert any("Séjours sans voiture hors saison" in c for c in cells)
    assert any("Faire de Dinan une destination de tourisme durable" in p.text for p in document.paragraphs)

    sheet = openpyxl.load_workbook(files["xlsx"]).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == sheets.HEADERS
    actions = {r[sheets.HEADERS.index("Action")]: r for r in rows[1:]}
    assert set(actions) == {"Séjours sans voiture hors saison", "Accueil des nouvelles familles"}
    assert actions["Séjours sans voiture hors saison"][sheets.HEADERS.index("Budget")] == 15000

    odt = teletype.extractText(load_odf(str(files["odt"])).text)
    assert STAGE_LABELS["plan_action"] in odt and "Accueil des nouvelles familles" in odt


@pytest.mark.browser
def test_a_refused_gate_is_passed_only_with_a_recorded_reason(page, server, shots):
    choose_project(page, "Lanvallay")
    open_tab(page, "Démarche")
    page.locator("#question-demarche").get_by_text("Quel territoire porte la démarche").first.wait_for()
    current = page.locator("#etapes li[aria-current=step]")
    expect(current).to_contain_text("1. Cadrage", timeout=WAIT)
    override = page.get_by_label("Raison pour passer outre")
    panel = page.get_by_role("button", name="Passer outre (raison obligatoire)")
    expect(panel).to_be_visible(timeout=WAIT)  # there while the gate refuses, closed until a refused advance
    assert not override.is_visible()
    page.get_by_role("button", name="Étape suivante").click()
    status = page.locator("#statut-demarche")
    expect(status).to_contain_text("n'est pas terminée", timeout=WAIT)
    expect(override).to_be_visible(timeout=WAIT)
    missing = page.locator("#passage-etape li").all_inner_texts()
    assert missing and all(m in status.inner_text() for m in missing)

    # An empty reason (spaces only) is refused: the stage stays.
    override.fill("   ")
    page.get_by_role("button", name="Forcer le passage").click()
    expect(status).to_contain_text("La raison du passage forcé est vide", timeout=WAIT)
    assert status.inner_text().startswith("Erreur")
    expect(current).to_contain_text("1. Cadrage", timeout=WAIT)
    check_contrast(page)
    page.screenshot(path=str(shots / "10-passage-refuse.png"), full_page=True)
    stored = server.settings.projects_dir / "lanvallay" / "strategy.json"
    assert json.loads(stored.read_text(encoding="utf-8"))["overrides"] == []

    reason = "Cadrage validé en comité de pilotage le 3 mars"
    override.fill(reason)
    page.get_by_role("button", name="Forcer le passage").click()
    expect(current).to_contain_text("2. Diagnostic", timeout=WAIT)
    expect(status).to_contain_text(f"raison consignée : « {reason} »", timeout=WAIT)
    progress = page.locator("#etapes")
    expect(progress).to_contain_text("1. Cadrage et parties prenantes (passage forcé)", timeout=WAIT)
    expect(progress).to_contain_text(f"« {reason} »", timeout=WAIT)
    expect(override).to_be_hidden(timeout=WAIT)
    check_contrast(page)
    page.screenshot(path=str(shots / "11-passage-force.png"), full_page=True)

    data = json.loads(stored.read_text(encoding="utf-8"))
    jsonschema.validate(data, strategy_schema())
    assert data["current_stage"] == "diagnostic"
    [forced] = data["overrides"]
    assert forced["stage"] == "cadrage" and forced["reason"] == reason
    assert forced["reasons_overridden"] == missing



def count_switches(monkeypatch, assistant: Assistant) -> Counter:
    """Territory switches of the served app, by name: each one lists the territory's documents once."""
    switches: Counter = Counter()
    documents = assistant.documents

    def counted(project):
        switches[project] += 1
        return documents(project)

    monkeypatch.setattr(assistant, "documents", counted)
    return switches


def json_exports(slug: str) -> set[Path]:
    """The strategy JSON prepared for the Exports screen: one new folder each time a territory is shown."""
    from assistant.session import export_dir

    return set(export_dir().glob(f"{slug}-*/strategie-{slug}.json"))


def settle(page, seconds: float = 4) -> None:
    """Leave time to any late event of the territory selector (they came at 0.8 s intervals)."""
    page.wait_for_timeout(seconds * 1000)


@pytest.mark.browser
def test_one_territory_choice_is_one_switch_and_the_same_one_keeps_the_conversation(browser, server, monkeypatch):
    ProjectStorage(server.settings.projects_dir).create("Saint-Cast")  # listed in the selector
    switches = count_switches(monkeypatch, server.assistant)
    before = {slug: json_exports(slug) for slug in ("saint-cast", "erquy")}
    context, page, errors = _open_watched(browser, server.url)
    try:
        choose_project(page, "Saint-Cast")
        wait_for(lambda: json_exports("saint-cast") - before["saint-cast"])
        settle(page)
        assert switches["Saint-Cast"] == 1, switches
        assert len(json_exports("saint-cast") - before["saint-cast"]) == 1

        question = "Quelles parties prenantes associer à la démarche de Saint-Cast ?"
        page.get_by_label("Votre question").fill(question)
        page.get_by_label("Votre question").press("Enter")
        status = page.locator("#statut-discussion")
        expect(status).to_contain_text(re.compile("Réponse sourcée|non couverte"), timeout=WAIT)
        chat = page.locator("#discussion")
        expect(chat).to_contain_text(question)

        # The same territory again, typed (with the spaces a hurried hand adds) or picked in the list: nothing moves.
        box = page.get_by_label("Territoire (projet)")
        for typed in ("Saint-Cast", " Saint-Cast "):
            box.click()
            box.fill(typed)
            box.press("Enter")
            settle(page, 2)
        box.click()
        page.get_by_role("option", name="Saint-Cast", exact=True).click()
        settle(page)
        assert switches["Saint-Cast"] == 1, switches
        assert len(json_exports("saint-cast") - before["saint-cast"]) == 1
        expect(chat).to_contain_text(question)
        expect(status).to_contain_text(re.compile("Réponse sourcée|non couverte"))
        # The conversation memory is kept too: a follow-up is read with the first question.
        asked = len(server.chat.calls)
        page.get_by_label("Votre question").fill(FOLLOW_UP)
        page.get_by_label("Votre question").press("Enter")
        expect(chat).to_contain_text(FOLLOW_UP, timeout=WAIT)
        expect(page.get_by_role("button", name="Envoyer")).to_be_enabled(timeout=WAIT)
        rewrites = wait_for(lambda: [c for c in server.chat.calls[asked:] if "Question de suivi" in c[-1]["content"]])
        assert question in rewrites[0][-1]["content"]

        # Another territory: one switch, the conversation starts afresh (shown and remembered).
        choose_project(page, "Erquy")
        wait_for(lambda: json_exports("erquy") - before["erquy"])
        settle(page)
        assert switches["Erquy"] == 1 and switches["Saint-Cast"] == 1, switches
        assert len(json_exports("erquy") - before["erquy"]) == 1
        assert len(json_exports("saint-cast") - before["saint-cast"]) == 1
        expect(chat).not_to_contain_text(question)
        expect(chat).not_to_contain_text(FOLLOW_UP)
        asked = len(server.chat.calls)
        page.get_by_label("Votre question").fill(FOLLOW_UP)
        page.get_by_label("Votre question").press("Enter")
        expect(status).to_contain_text(re.compile("Réponse sourcée|non couverte"), timeout=WAIT)
        assert not [c for c in server.chat.calls[asked:] if "Question de suivi" in c[-1]["content"]]
        assert switches["Erquy"] == 1, switches
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.browser
def test_a_territory_typed_while_the_page_loads_is_kept(browser, server, monkeypatch):
    """On a busy machine the list of territories comes late: it must not replace the territory chosen meanwhile."""
    from assistant import session

    ProjectStorage(server.settings.projects_dir).create("Aaa Premier")  # the first of the list, shown by default
    listed = session.list_projects

    def slow(assistant):
        time.sleep(3)
        return listed(assistant)

    monkeypatch.setattr(session, "list_projects", slow)
    switches = count_switches(monkeypatch, server.assistant)
    context, page, errors = _open_watched(browser, server.url)
    try:
        # From the keyboard, as fast as possible: the field takes the name once it can keep it.
        box = page.get_by_label("Territoire (projet)")
        expect(box).to_be_enabled(timeout=WAIT)
        box.focus()
        page.keyboard.press("Control+a")  # the first territory may be shown there already
        page.keyboard.type("Pléneuf")
        page.keyboard.press("Enter")
        page.locator("#statut-projet").get_by_text("Territoire Pléneuf").wait_for()
        settle(page, 6)
        expect(page.locator("#statut-projet")).to_contain_text("Territoire Pléneuf")
        assert box.input_value() == "Pléneuf"
        assert switches["Pléneuf"] == 1, switches
        box.click()  # the list came meanwhile
        expect(page.get_by_role("option", name="Aaa Premier", exact=True)).to_be_visible()
    finally:
        context.close()
    assert not errors, errors

@pytest.mark.browser
def test_a_new_territory_whose_name_begins_an_existing_one_is_created(browser, server, monkeypatch):
    """« Saint-Malo » typed while « Saint-Malo Agglomération » exists: the commune is created, not the
    agglomeration chosen for it (the list filters as one types, and Enter must not take the first match)."""
    from assistant import session

    ProjectStorage(server.settings.projects_dir).create("Saint-Malo Agglomération")
    switches = count_switches(monkeypatch, server.assistant)
    context, page, errors = _open_watched(browser, server.url)
    try:
        box = page.get_by_label("Territoire (projet)")
        expect(box).to_be_enabled(timeout=WAIT)
        settle(page)
        shown_first = switches["Saint-Malo Agglomération"]  # 1 if it is the first of the list, shown on load
        box.click()
        box.fill("Saint-Malo")
        box.press("Enter")
        expect(page.locator("#statut-projet")).to_contain_text("Territoire Saint-Malo :", timeout=WAIT)
        settle(page)
        assert box.input_value() == "Saint-Malo"
        assert switches["Saint-Malo"] == 1 and switches["Saint-Malo Agglomération"] == shown_first, switches
        # The longer name is still there to be picked from the list: with the arrow keys, then Enter…
        box.click()
        expect(page.get_by_role("option", name="Saint-Malo", exact=True)).to_be_attached()  # the list, refreshed
        box.fill("")
        box.press_sequentially("Saint-Malo")  # key by key, as typed: the list highlights its first match
        expect(page.get_by_role("option", name="Saint-Malo Agglomération", exact=True)).to_be_visible()
        box.press("ArrowDown")
        box.press("Enter")
        expect(page.locator("#statut-projet")).to_contain_text("Territoire Saint-Malo Agglomération :", timeout=WAIT)
        # … or with the mouse; and the commune, typed exactly, is found again rather than created twice.
        box.click()
        box.fill("Saint")
        page.get_by_role("option", name="Saint-Malo", exact=True).click()
        expect(page.locator("#statut-projet")).to_contain_text("Territoire Saint-Malo :", timeout=WAIT)
        settle(page)
        assert switches["Saint-Malo"] == 2 and switches["Saint-Malo Agglomération"] == shown_first + 1, switches
        assert session.list_projects(server.assistant).count("Saint-Malo") == 1
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.browser
def test_settings_show_model_and_provider_without_secrets(page, shots):
    open_tab(page, "Paramètres")
    summary = page.locator("#parametres-resume")
    summary.get_by_text("Modèle de réponse").first.wait_for()
    text = summary.inner_text()
    assert "qwen2.5-coder-1.5b" in text and "embedded" in text
    page.get_by_text("Tous les réglages (secrets masqués)").click()
    page.get_by_text("********").first.wait_for()
    assert "sk-ne-jamais-afficher" not in page.content()
    check_contrast(page)
    page.screenshot(path=str(shots / "07-parametres.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.real_model
def test_real_local_model_answers_in_french(browser, tmp_path, corpus_dir, real_models, shots):
    assistant = Assistant(Settings(data_dir=tmp_path / "data", _env_file=None))
    assert assistant.ingest([corpus_dir / PDF], "Dinan")[0].status == "indexed"
    app, url = _serve(assistant)
    context, page = _open(browser, url)
    try:
        choose_project(page, "Dinan")
        page.get_by_label("Votre question").fill("Quel avis le conseil de développement donne-t-il sur le PCAET ?")
        t0 = time.perf_counter()
        page.get_by_role("button", name="Envoyer").click()
        page.locator("#statut-discussion").get_by_text("Chargement du modèle local").first.wait_for()
        status = page.locator("#statut-discussion").get_by_text(re.compile("Réponse sourcée|non couverte|Erreur"))
        status.wait_for(timeout=240_000)
        print(f"réponse du modèle réel en {time.perf_counter() - t0:.1f} s")
        assert "Erreur" not in status.inner_text()
        bot = page.locator("#discussion .message.bot, #discussion [data-testid=bot]").last
        assert len(bot.inner_text().strip()) > 40
        page.screenshot(path=str(shots / "08-discussion-modele-reel.png"), full_page=True)
    finally:
        context.close()
        app.close()


@pytest.mark.browser
def test_password_protects_the_app(browser, tmp_path, e5):
    settings = Settings(data_dir=tmp_path / "data", server={"auth_user": "elu", "auth_password": "marais-2030"},
                        _env_file=None)
    app, url = _serve(Assistant(settings, chat=FakeChat(fake_reply), embedder=e5))
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
        page.get_by_text("Connexion à l'assistant de stratégie territoriale").wait_for()
        with pytest.raises(urllib.error.HTTPError) as denied:  # the API is closed too, not just the page
            urllib.request.urlopen(url + "config")
        assert denied.value.code == 401
        page.get_by_label("nom d'utilisateur").fill("elu")
        page.get_by_label("mot de passe").fill("marais-2030")
        page.get_by_role("button", name="Connexion").click()
        page.get_by_label("Territoire (projet)").wait_for()
    finally:
        context.close()
        app.close()


# --- what the UI relies on, without a browser ------------------------------------------------------------


@pytest.mark.parametrize("raw, display, stored", [
    ("rapport.pdf", "rapport.pdf", "rapport.pdf"),
    ("../../etc/passwd", "passwd", "passwd"),
    ("C:\\Users\\élu\\Diagnostic 2024.pdf", "Diagnostic 2024.pdf", "Diagnostic 2024.pdf"),
    ("bi\x00lan\x1b.pdf", "bilan.pdf", "bilan.pdf"),
    ("..pdf", "pdf", "pdf"),
    ("a?b*c<d>.PDF", "a?b*c<d>.PDF", "a_b_c_d_.pdf"),
    ("CON.txt", "CON.txt", "_CON.txt"),
])
def test_upload_names_are_safe_on_disk_and_kept_for_citations(raw, display, stored):
    from assistant.session import display_name, safe_file_name

    assert display_name(raw) == display
    assert safe_file_name(raw) == stored


def test_stored_uploads_stay_in_their_folder_and_refused_files_are_not_kept(tmp_path, corpus_dir, e5):
    from assistant.session import ProjectSpace

    assistant = Assistant(Settings(data_dir=tmp_path / "data", _env_file=None), chat=FakeChat([]), embedder=e5)
    space = ProjectSpace(assistant, "Saint-Brieuc")
    reports = space.ingest_uploads([(corpus_dir / PDF, "../../../avis.pdf"),
                                    (corpus_dir / IMAGE_PDF, "scan.pdf")])
    assert [r.status for r in reports] == ["indexed", "refused"]
    assert [p.name for p in space.uploads.iterdir()] == ["avis.pdf"]
    assert space.document_url("avis.pdf", 4).endswith("/projects/saint-brieuc/uploads/avis.pdf#page=4")
    assert space.document_url("scan.pdf") is None and space.document_url("../documents.sqlite3") is None
    assert space.forget("avis.pdf") and not any(space.uploads.iterdir())


def test_deliverables_are_written_in_the_export_folder_and_empty_ones_refused(tmp_path, e5):
    from assistant.session import ProjectSpace, export_dir

    assistant = Assistant(Settings(data_dir=tmp_path / "data", _env_file=None), chat=FakeChat([]), embedder=e5)
    space = ProjectSpace(assistant, "Dinan")
    with pytest.raises(WorkflowError, match="n'a pas encore de stratégie"):
        space.export_deliverable("docx")
    assert not space.storage.exists("dinan")  # exporting does not create a strategy
    space.strategy()
    with pytest.raises(WorkflowError, match="encore vide"):
        space.export_deliverable("docx")
    strategy = build_dinan(space.storage, corpus_data(), slug="dinan-2")
    other = ProjectSpace(assistant, "Dinan 2")
    path, summary, empty = other.export_deliverable("md")
    # Markdown comes with its KPI chart, zipped together, in a fresh folder under the export folder.
    assert path.parent.parent == export_dir() and path.name == "strategie-dinan-2-markdown.zip"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        markdown = archive.read("strategie-dinan-2.md").decode("utf-8")
    assert any(n.endswith(".png") for n in names) and len(names) == 2
    assert "Séjours sans voiture hors saison" in markdown and empty == []
    assert "Archive ZIP" in summary
    path, summary, _ = other.export_deliverable("csv")
    assert path.name == "plan-action-dinan-2.csv" and f"{len(strategy.plan_action.actions)} action(s)" in summary


def test_edited_tables_become_item_changes_with_user_provenance():
    from assistant import strategy_tables as tables

    strategy = Strategy(slug="t", title="T")
    strategy.tableau_de_bord.kpis = [Kpi(name="Nuitées", provenance=HypothesisSource(), baseline=Figure(
        value=100, unit="nuitées", year=2023, provenance=HypothesisSource()))]
    table = next(t for t in tables.ALL_TABLES if t.key == "tableau_de_bord.kpis")
    rows = tables.rows(strategy, table)
    assert rows[0][:2] == ["Nuitées", "HYPOTHÈSE à confirmer ; chiffre « baseline » : hypothèse (à valider)"]
    untouched = tables.diff(strategy, table, rows)
    assert not (untouched.updates or untouched.additions or untouched.errors)
    rows[0][table.headers.index("Départ")] = "120 nuitées (2023)"
    rows[0][table.headers.index("Fréquence")] = "trimestre"
    rows.append(["Notoriété", "", "qualitatif", "", "enquête", "", "25 % (2028)", "annuelle", "", "", ""])
    edits = tables.diff(strategy, table, rows)
    assert edits.errors and "trimestre" in edits.errors[0]  # a bad cell is refused, its row left unchanged
    assert [k.name for k in edits.additions] == ["Notoriété"]
    assert edits.additions[0].target.provenance.kind == "utilisateur"
