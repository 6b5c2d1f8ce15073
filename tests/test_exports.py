"""Strategy deliverables opened with their own libraries: DOCX, ODT, Markdown, XLSX, ODS, CSV, JSON.

The project is built on real corpus documents (quotes checked below) and Dinan's real official figures; the
checks read the produced files back — titles, tables, footnotes with file and page, hypotheses marked.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import zipfile

import docx
import jsonschema
import openpyxl
import pytest
from odf import teletype
from odf.namespaces import TEXTNS
from odf.opendocument import load as load_odf
from odf.table import TableCell
from odf.text import H, Note
from typer.testing import CliRunner

from assistant import cli
from assistant.config import Settings
from assistant.core import Assistant
from assistant.exports import FORMATS, export_strategy
from assistant.exports.sources import HYPOTHESIS_MARK, note_text, read_corpus_sources
from assistant.exports.to_docx import read_docx_footnotes
from assistant.ingest import parse_file
from assistant.llm import FakeChat
from assistant.workflow.artifacts import STAGE_LABELS, Strategy, strategy_schema
from assistant.workflow.items import iter_items
from assistant.workflow.provenance import DocumentSource, OfficialDataSource
from assistant.workflow.quotes import quote_occurs
from assistant.workflow.storage import ProjectStorage

from .dinan_project import CORPUS, QUOTES, build_dinan, corpus_data

SOURCES_MD = CORPUS / "SOURCES.md"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    storage = ProjectStorage(root / "data" / "projects")
    strategy = build_dinan(storage, corpus_data())
    files = {fmt: export_strategy(strategy, fmt, root / "out" / f"strategie.{fmt}", sources_md=SOURCES_MD).path
             for fmt in FORMATS}
    return strategy, files, root


def cited_notes(strategy: Strategy) -> set[str]:
    """The footnote text of every document and official-data source in the strategy."""
    notes = set()
    for ref in iter_items(strategy):
        for source in [ref.item.provenance] + [f.provenance for _, f in ref.item.figures()]:
            if isinstance(source, (DocumentSource, OfficialDataSource)):
                notes.add(note_text(source))
    return notes


def test_project_quotes_come_from_the_corpus():
    for path, quotes in QUOTES.items():
        doc = parse_file(path)
        for page, quote in quotes:
            texts = [p.text for p in doc.pages if page is None or p.page == page]
            assert any(quote_occurs(quote, t) for t in texts), (path.name, page, quote)


def test_docx_has_every_stage_its_tables_and_real_footnotes(project):
    strategy, files, _ = project
    document = docx.Document(files["docx"])
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Synthèse pour les élus" in headings and "Sources" in headings
    for label in STAGE_LABELS.values():
        assert any(label in h for h in headings), label
    assert [p.text for p in document.paragraphs if p.style.name == "Title"] == ["Dinan"]
    tables = {t.rows[0].cells[0].text: t for t in document.tables}
    swot = tables["Forces (internes)"]
    grid = [[c.text for c in r.cells] for r in swot.rows]  # a 2×2 matrix: titles, items, titles, items
    assert len(grid) == 4 and grid[2] == ["Opportunités (externes)", "Menaces (externes)"]
    assert "Forte saisonnalité" in grid[1][1] and "Activité touristique" in grid[1][0]
    assert "mobilités durables" in grid[3][0] and "Proposition à valider" in grid[3][1]
    assert len(tables["DAS"].rows) == 2 and tables["DAS"].rows[1].cells[0].text.startswith("Destination durable")
    plan = tables["Action"]
    assert [r.cells[0].text for r in plan.rows[1:]] == ["Séjours sans voiture hors saison", "Accueil des nouvelles familles"]
    assert HYPOTHESIS_MARK in plan.rows[1].cells[7].text  # the 15 000 € budget is a hypothesis
    assert [c.text for c in tables["Indicateur"].rows[0].cells][4:6] == ["Valeur de départ", "Valeur cible"]
    assert len(document.inline_shapes) == 1  # the KPI chart
    body = "\n".join(p.text for p in document.paragraphs)
    assert f"Dépendance à la voiture pour venir et circuler {HYPOTHESIS_MARK}" in body

    notes = read_docx_footnotes(files["docx"])
    with zipfile.ZipFile(files["docx"]) as archive:
        xml = archive.read("word/document.xml").decode()
        assert "word/footnotes.xml" in archive.namelist()
        assert "footnotes+xml" in archive.read("[Content_Types].xml").decode()
    assert xml.count("<w:footnoteReference ") == len(notes) > 20
    assert cited_notes(strategy) <= set(notes)
    assert any(n.startswith("avis-codev_pcaet_dinan_2022.pdf, p. 2 — « 11 fiches") for n in notes)
    assert any("datacom.csv, ID_3), millésime 2017, code 22050" in n for n in notes)
    assert "lassembleuse/dinan-pcaet : content/uploads/avis-codev.pdf @ 29f856c" in body
    assert "Licence Ouverte" in body and "GPL-3.0" in body


def test_odt_has_native_footnotes_tables_and_marks(project):
    strategy, files, _ = project
    doc = load_odf(str(files["odt"]))
    headings = [teletype.extractText(h) for h in doc.getElementsByType(H)]
    for label in STAGE_LABELS.values():
        assert any(label in h for h in headings), label
    notes = doc.getElementsByType(Note)
    bodies = [teletype.extractText(n.getElementsByType(__import__("odf.text", fromlist=["NoteBody"]).NoteBody)[0])
              for n in notes]
    assert all(n.getAttrNS(TEXTNS, "note-class") == "footnote" for n in notes)
    assert cited_notes(strategy) <= set(bodies)
    text = teletype.extractText(doc.text)
    assert HYPOTHESIS_MARK in text and "Synthèse pour les élus" in text
    assert "Forces (internes)" in text and "Menaces (externes)" in text
    assert any(name.startswith("Pictures/") for name in zipfile.ZipFile(files["odt"]).namelist())


def test_markdown_footnotes_resolve_and_chart_is_beside_it(project):
    strategy, files, root = project
    text = files["md"].read_text(encoding="utf-8")
    refs = set(re.findall(r"\[\^(\d+)\](?!:)", text))
    defs = dict(re.findall(r"^\[\^(\d+)\]: (.+)$", text, flags=re.M))
    assert refs == set(defs) and len(defs) > 20
    assert cited_notes(strategy) <= set(defs.values())
    assert "| Forces (internes) | Faiblesses (internes) |" in text
    image = re.search(r"!\[[^\]]*\]\(([^)]+)\)", text).group(1)
    assert (files["md"].parent / image).read_bytes()[:4] == b"\x89PNG"
    for label in STAGE_LABELS.values():
        assert re.search(rf"^## \d\. {re.escape(label)}$", text, flags=re.M), label


def test_action_plan_sheets(project):
    strategy, files, _ = project
    ws = openpyxl.load_workbook(files["xlsx"]).active
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:3] == ["Réf.", "Action", "Type"] and len(rows) == 1 + len(strategy.plan_action.actions)
    budget, check = header.index("Budget"), header.index("À valider")
    assert [r[budget] for r in rows[1:]] == [15000, 8.6]
    assert HYPOTHESIS_MARK in rows[1][check]
    assert "avis-codev_pcaet_dinan_2022.pdf, p. 2" in rows[2][header.index("Source du budget")]

    ods = load_odf(str(files["ods"]))
    floats = [c.getAttribute("value") for c in ods.getElementsByType(TableCell) if c.getAttribute("valuetype") == "float"]
    assert "15000" in floats and "8.6" in floats

    raw = files["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel in French reads UTF-8
    table = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert table[0] == header and table[2][budget] == "8,6" and table[1][budget] == "15000"


def test_json_export_validates_against_the_schema(project):
    strategy, files, _ = project
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    jsonschema.validate(data, strategy_schema())
    assert Strategy.model_validate(data) == strategy


def test_corpus_attributions_resolve_same_repo_and_wildcards():
    entries = read_corpus_sources(SOURCES_MD)
    fiches = next(e for e in entries if e.matches("fiche29.md"))
    assert fiches.origin.startswith("lassembleuse/dinan-pcaet : content/actions/")
    assert not any(e.matches("notes-de-reunion.md") for e in entries)
    meta = next(e for e in entries if e.matches("meta.xlsx"))
    assert meta.origin.startswith("observatoire-territoires/KitsCarto-GdDebat")
    eci = next(e for e in entries if e.matches("ECi_Reglement_label.pdf"))
    assert eci.licence.startswith("MIT repo") and "same" not in eci.origin


def test_empty_strategy_exports_without_inventing(tmp_path):
    storage = ProjectStorage(tmp_path / "projects")
    strategy = storage.create("Nouveau territoire")
    for fmt in FORMATS:
        export_strategy(strategy, fmt, tmp_path / f"vide.{fmt}", sources_md=SOURCES_MD)
    text = (tmp_path / "vide.md").read_text(encoding="utf-8")
    assert "Aucun DAS défini." in text and "[^" not in text and "Aucune source citée" in text
    assert docx.Document(tmp_path / "vide.docx").paragraphs[1].text == "Nouveau territoire"
    assert read_docx_footnotes(tmp_path / "vide.docx") == []


def test_export_cli(project, monkeypatch, tmp_path):
    _, _, root = project
    monkeypatch.setattr(cli, "_assistant", lambda: Assistant(Settings(data_dir=root / "data", _env_file=None),
                                                             chat=FakeChat([])))
    runner = CliRunner()
    out = tmp_path / "dinan.odt"
    result = runner.invoke(cli.app, ["export", "--project", "Dinan", "--format", "odt", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert f"Export écrit : {out}" in result.stdout and out.stat().st_size > 5000
    result = runner.invoke(cli.app, ["export", "--project", "Dinan", "--format", "pdf", "--out", str(out)])
    assert result.exit_code == 1 and "formats possibles : docx, odt, md, xlsx, ods, csv, json" in result.stderr
    result = runner.invoke(cli.app, ["export", "--project", "Inconnu", "--format", "docx"])
    assert result.exit_code == 1 and "n'a pas encore de stratégie" in result.stderr


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice n'est pas installé")
def test_docx_converts_to_pdf_with_libreoffice(project, output_dir, tmp_path):
    _, files, _ = project
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(files["docx"])], check=True, capture_output=True, timeout=120)
    pdf = tmp_path / "strategie.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Synthèse pour les élus" in text and "Hypothèse à valider" in text and "fiche29.md" in text
    if shutil.which("pdftoppm"):
        # Page 1 and 2 kept in test-output/ for a person to look at.
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "2", str(pdf),
                        str(output_dir / "export-strategie")], check=True, timeout=60)
        assert any(output_dir.glob("export-strategie-*1.png"))
