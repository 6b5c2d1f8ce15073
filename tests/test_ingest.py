"""Document reading on the real corpus (shared/corpus, see SOURCES.md for attribution) and on small files made here.

Every refusal must be a ``DocumentError`` whose French message names the file and says the fix.
"""

from __future__ import annotations

import functools
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from assistant.errors import (
    CorruptDocumentError,
    DocumentError,
    DocumentTooLargeError,
    EmptyDocumentError,
    EncryptedDocumentError,
    UnsupportedFormatError,
)
from assistant.ingest import (SECTION_PACK_CHARS, IngestLimits, Page, ParsedDocument, chunk_document, detect_type,
                              pack_sections, parse_file)
from assistant.readers import EMPTY_SECTION, read_docx, read_markdown, read_odt
from assistant.textclean import clean_text
from assistant.config import shared_dir

SHARED = shared_dir()
CORPUS = SHARED / "corpus"
TET = CORPUS / "incubateur-ademe__territoires-en-transitions"
CAE = TET / "CAE_Reglement_label.pdf"
IMAGE_ONLY = CORPUS / "observatoire-territoires__KitsCarto-GdDebat" / "PORTRAIT_84_auvergne-rhone-alpes_image_only.pdf"
KITELUS = (CORPUS / "incubateur-territoires__incubateur.anct.gouv.fr"
           / "kitelus_services_publics_numeriques_guide_territoires_2020.pdf")
FICHES = CORPUS / "lassembleuse__dinan-pcaet" / "pcaet_fiches_actions"
HTML = CORPUS / "observatoire-territoires__rapport-ot-2018" / "synthese_rapport_OT_2018_mobilites_residentielles.html"
COMMUNES = CORPUS / "datagouv__decoupage-administratif" / "donnees_communes.csv"
DEV = SHARED / "eval" / "dev.jsonl"


@functools.lru_cache(maxsize=None)
def parsed(path: Path) -> ParsedDocument:
    return parse_file(path)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _assert_french_refusal(error: DocumentError, file_name: str) -> None:
    message = str(error)
    assert f"« {file_name} »" in message
    assert error.fix and " — " in message  # the fix is part of what users read
    assert re.search(r"[éèàç]|réimport|fichier", message), message


# ------------------------------------------------------------------------------------------------ detection


def test_detect_type_by_content(tmp_path, corpus_dir):
    assert detect_type(CAE) == "pdf"
    assert detect_type(FICHES / "fiche29.md") == "md"
    assert detect_type(HTML) == "html"
    assert detect_type(COMMUNES) == "csv"
    page = tmp_path / "page.txt"
    page.write_text("<!DOCTYPE html><html><body><p>Bonjour</p></body></html>", encoding="utf-8")
    assert detect_type(page) == "html"
    disguised = tmp_path / "rapport.pdf"  # a real Word file with the wrong extension: content wins
    _make_docx(tmp_path / "vrai.docx").rename(disguised)
    assert detect_type(disguised) == "docx"


def test_fake_pdf_containing_text_is_refused_in_french(tmp_path):
    fake = tmp_path / "faux_rapport.pdf"
    fake.write_text("Ceci n'est pas un PDF mais du texte brut.", encoding="utf-8")
    with pytest.raises(DocumentError) as info:
        parse_file(fake)
    assert isinstance(info.value, (CorruptDocumentError, UnsupportedFormatError))
    assert "n'est pas un PDF" in str(info.value)
    _assert_french_refusal(info.value, "faux_rapport.pdf")


def test_spreadsheet_is_refused_with_the_export_to_do(corpus_dir):
    meta = corpus_dir / "observatoire-territoires__KitsCarto-GdDebat" / "meta.xlsx"
    with pytest.raises(UnsupportedFormatError) as info:
        parse_file(meta)
    assert "CSV" in str(info.value)
    _assert_french_refusal(info.value, "meta.xlsx")


def test_zero_byte_file_is_empty(tmp_path):
    empty = tmp_path / "vide.pdf"
    empty.write_bytes(b"")
    with pytest.raises(EmptyDocumentError) as info:
        parse_file(empty)
    assert "vide" in str(info.value)
    _assert_french_refusal(info.value, "vide.pdf")


# ---------------------------------------------------------------------------------------------------- PDF


def test_pdf_one_page_per_pdf_page():
    doc = parsed(CAE)
    assert doc.doc_type == "pdf" and doc.file == "CAE_Reglement_label.pdf"
    assert doc.page_count == 9 == len(doc.pages)
    assert [p.page for p in doc.pages] == list(range(1, 10))
    assert all(p.section is None for p in doc.pages)
    assert len(doc.sha256) == 64 and doc.empty_pages == []


def test_cae_reglement_text_is_repaired():
    text = "\n".join(p.text for p in parsed(CAE).pages)
    assert "collectivités" in text and "national" in text
    assert "collecvités" not in text and "naonal" not in text


def test_image_only_pdf_is_reported_never_indexed(corpus_dir):
    with pytest.raises(EmptyDocumentError) as info:
        parse_file(IMAGE_ONLY)
    message = str(info.value)
    assert IMAGE_ONLY.name in message
    assert "pages 1 à 2" in message and "couche texte" in message and "OCR" in message
    _assert_french_refusal(info.value, IMAGE_ONLY.name)


def test_blank_pages_are_listed_as_empty(corpus_dir):
    doc = parsed(corpus_dir / "observatoire-territoires__rapport-OT-mobilites" / "rapport_OT_mobilites.pdf")
    assert doc.empty_pages == [2]
    assert doc.pages[1].text == ""
    assert all(c.page != 2 for c in chunk_document(doc, "p"))


def _encrypted_copy(tmp_path: Path, user_password: str) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=CAE)
    writer.encrypt(user_password=user_password, owner_password="proprietaire")  # RC4: no extra dependency
    out = tmp_path / f"protege_{user_password or 'vide'}.pdf"
    with out.open("wb") as handle:
        writer.write(handle)
    return out


def test_pdf_with_user_password_is_refused(tmp_path):
    path = _encrypted_copy(tmp_path, "secret")
    with pytest.raises(EncryptedDocumentError) as info:
        parse_file(path)
    assert "mot de passe" in str(info.value) and "non protégée" in str(info.value)
    _assert_french_refusal(info.value, path.name)


def test_pdf_with_empty_user_password_is_read(tmp_path):
    doc = parse_file(_encrypted_copy(tmp_path, ""))
    assert doc.page_count == 9
    assert "collectivités" in doc.pages[0].text


def test_truncated_pdf_never_crashes(tmp_path):
    for source in (CAE, KITELUS):
        truncated = tmp_path / f"tronque_{source.name}"
        data = source.read_bytes()
        truncated.write_bytes(data[: len(data) // 2])
        try:
            doc = parse_file(truncated)
        except (CorruptDocumentError, EmptyDocumentError) as e:
            _assert_french_refusal(e, truncated.name)
        else:
            assert doc.pages


def test_limits_name_the_limit(tmp_path):
    with pytest.raises(DocumentTooLargeError) as info:
        parse_file(CAE, IngestLimits(max_pages=3))
    assert "9 pages" in str(info.value) and "3 pages" in str(info.value)
    with pytest.raises(DocumentTooLargeError) as info:
        parse_file(CAE, IngestLimits(max_bytes=10_000))
    assert "10 Ko" in str(info.value)
    with pytest.raises(DocumentTooLargeError) as info:
        parse_file(CAE, IngestLimits(max_seconds=0))
    assert "durée" in str(info.value)


def test_kitelus_emoji_removed_and_divider_pages_kept_out_of_noise():
    doc = parsed(KITELUS)
    text = "\n".join(p.text for p in doc.pages)
    assert "👉" not in text and "✉" not in text and "☎" not in text
    assert "https://api.gouv.fr" in text and "Contactez-nous !" in text
    assert "Quel problème avons-nous cherché à résoudre ?" in doc.pages[13].text  # template line is content
    chunks = chunk_document(doc, "p")
    assert all(len(_squash(c.text)) >= 20 for c in chunks)


# ----------------------------------------------------------------------------------------------- Markdown


def test_short_sections_are_packed_with_their_neighbours():
    path = FICHES / "fiche24.md"
    sections = read_markdown(path.read_text(encoding="utf-8"), path.name).pages
    doc = parsed(path)
    assert doc.doc_type == "md" and doc.page_count == len(doc.pages) < len(sections)
    # Nothing is lost or reordered: the packed text is the sections' text, in order.
    assert "\n\n".join(p.text for p in doc.pages) == "\n\n".join(p.text for p in sections)
    for page in doc.pages:
        assert len(page.text) <= SECTION_PACK_CHARS or page.section in {s.section for s in sections}
    # The budget now travels with its neighbours, and its label names every packed heading.
    [money] = [p for p in doc.pages if "Moyens financiers" in p.text]
    assert "Moyens financiers" in money.section and " · " in money.section and len(money.text) > 200
    assert all(p.page is None for p in doc.pages)


def test_packing_keeps_long_sections_and_pdf_pages_alone():
    long = Page(page=None, section="Long", text="x " * 600)
    medium = Page(page=None, section="Moyen", text="y " * 130)  # 260 characters: keeps its own passage
    small = [Page(page=None, section=f"S{i}", text=f"Section {i} courte.") for i in range(3)]
    packed = pack_sections([small[0], long, small[1], small[2], medium])
    assert [p.section for p in packed] == ["S0", "Long", "S1 · S2", "Moyen"]
    assert packed[2].text == "Section 1 courte.\n\nSection 2 courte."
    pdf_pages = [Page(page=i, section=None, text="Une page.") for i in (1, 2)]
    assert pack_sections(pdf_pages) == pdf_pages


def test_markdown_front_matter_and_sections():
    path = FICHES / "fiche29.md"
    doc = read_markdown(path.read_text(encoding="utf-8"), path.name)  # the reader's sections, before packing
    assert doc.title == "Elaborer et mettre en œuvre une stratégie de développement du tourisme durable"
    first = doc.pages[0]
    assert first.section == doc.title and first.text.startswith(doc.title)
    # Scalar fields are data about the sheet; the site's tags (a list) are not its text.
    assert "budget : non" in first.text and "number : 29" in first.text
    assert "calendrier flou" not in first.text and "tags" not in first.text and "---" not in first.text
    sections = [p.section for p in doc.pages]
    for expected in ("Partenaires", "Indicateurs de suivi", "Objectifs visés par l'action", "Nos remarques"):
        assert expected in sections
    text = "\n".join(p.text for p in doc.pages)
    assert "**" not in text and not re.search(r"^#", text, re.M) and "~~" not in text
    assert "Renforcement du stockage de carbone (barré)" in text  # a struck-out objective is not a target
    partners = doc.pages[sections.index("Partenaires")].text
    assert "Offices de Tourisme (3)et EPCI (5)de la destination régionale" in partners
    assert all(p.page is None for p in doc.pages)


def test_markdown_comments_are_not_content():
    # fiche24's remarks hold an author's hidden aside, invisible once rendered: it must not be quoted as the fiche.
    doc = parsed(FICHES / "fiche24.md")
    text = "\n".join(p.text for p in doc.pages)
    assert "Pas sure que ces calculs" not in text and "<!--" not in text and "-->" not in text
    assert "La répartition du budget sur les différentes actions n'est pas précisée." in text
    written = "Avant\n<!-- caché\nsur deux lignes -->\nAprès\n\n```html\n<!-- gardé dans le code -->\n```\n"
    text = "\n".join(p.text for p in read_markdown(written, "note.md").pages)
    assert "caché" not in text and "Avant" in text and "Après" in text and "<!-- gardé dans le code -->" in text
    unclosed = "\n".join(p.text for p in read_markdown("Début\n\n<!-- jamais fermé\nreste", "n.md").pages)
    assert "Début" in unclosed and "jamais" not in unclosed


def test_markdown_empty_section_says_it_is_empty():
    # fiche 20 leaves « Indicateurs de suivi » empty (SOURCES.md): that is the answer to « quels indicateurs ? ».
    path = FICHES / "fiche20.md"
    doc = read_markdown(path.read_text(encoding="utf-8"), path.name)  # the reader's sections, before packing
    empty = [p for p in doc.pages if p.section == "Indicateurs de suivi"]
    assert len(empty) == 1 and empty[0].text == f"Indicateurs de suivi\n\n{EMPTY_SECTION}"
    # A heading with subsections is not empty; one at the very end is.
    written = ("# Fiche\n\n## Moyens\n\n### Humains\n\nUn agent.\n\n## Budget\n\n"
               "## Calendrier\n\nLancement en 2024.\n\n## Remarques\n")
    pages = read_markdown(written, "f.md").pages
    assert [(p.section, p.text) for p in pages] == [
        ("Moyens > Humains", "Fiche\n\nMoyens\n\nHumains\n\nUn agent."), ("Budget", f"Budget\n\n{EMPTY_SECTION}"),
        ("Calendrier", "Calendrier\n\nLancement en 2024."), ("Remarques", f"Remarques\n\n{EMPTY_SECTION}")]


def test_markdown_front_matter_scalars_are_text_lists_are_not():
    written = ("---\ntitle: Plan vélo\nmontant: 120000\ncategories:\n  - mobilité\n  - santé\nlayout: page\n---\n\n"
               "## Objectifs\n\nRelier les gares.\n")
    doc = read_markdown(written, "plan.md")
    assert doc.title == "Plan vélo"
    text = "\n".join(p.text for p in doc.pages)
    assert "montant : 120000" in text and "Relier les gares." in text
    assert "mobilité" not in text and "santé" not in text and "layout" not in text


# --------------------------------------------------------------------------------------------------- HTML


def test_html_real_file_sections_entities_and_repeated_boxes():
    doc = parsed(HTML)
    assert doc.title == "Synthèse du rapport OT 2018"
    text = "\n".join(p.text for p in doc.pages)
    assert not re.search(r"</?[a-z][^>]*>", text) and "&nbsp;" not in text and "&eacute;" not in text
    assert "function(" not in text and "{" not in text  # scripts and styles dropped
    # Inline tags (<u>, <a>) must not cut sentences.
    assert "Les mobilités résidentielles des cadres, professions intellectuelles supérieures et des" in text
    assert "Les étudiants (9), tranche d’âge la plus mobile" in text
    # The notes are printed twice in the page (inline box + end of page): kept once.
    assert text.count("Le changement de territoire correspond ici") == 1
    sections = [p.section for p in doc.pages]
    assert "Conclusion" in sections and "Deux systèmes de mobilité parallèles" in sections


def test_html_entities_decoded_and_inline_tags_joined(tmp_path):
    page = tmp_path / "note.html"
    page.write_text(
        "<html><head><title>Note</title><style>p{color:red}</style></head><body>"
        "<nav>Menu</nav><h2>Objectifs</h2><p>Le&nbsp;rapport de l&#39;&eacute;t&eacute; <b>2018</b> , "
        "<i>Insee</i> .</p><script>var x = 1;</script><footer>Mentions</footer></body></html>",
        encoding="utf-8",
    )
    doc = parse_file(page)
    expected = [("Objectifs", "Objectifs\n\nLe rapport de l'été 2018, Insee.")]
    assert [(p.section, p.text) for p in doc.pages] == expected


# ------------------------------------------------------------------------------------------------ DOCX / ODT


def _make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Diagnostic", level=1)
    document.add_paragraph("Le territoire compte 12 500 habitants.")
    document.add_heading("Objectifs", level=2)
    document.add_paragraph("Attirer de jeunes actifs.")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("Indicateur", "Cible"), ("Solde migratoire", "+0,5 %")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(path)
    return path


def test_docx_round_trip(tmp_path):
    path = _make_docx(tmp_path / "strategie.docx")
    assert parse_file(path).doc_type == "docx"
    doc = read_docx(path, path.name)  # the reader's sections (parse_file then packs these two short ones)
    assert [p.section for p in doc.pages] == ["Diagnostic", "Objectifs"]
    assert [p.section for p in parse_file(path).pages] == ["Diagnostic · Objectifs"]
    expected = "Objectifs\n\nAttirer de jeunes actifs.\n\nIndicateur | Cible\nSolde migratoire | +0,5 %"
    assert doc.pages[1].text == expected
    assert "12 500 habitants" in doc.pages[0].text


def test_odt_round_trip(tmp_path):
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Contexte"))
    document.text.addElement(P(text="La commune de Saint-Malo accueille 46 000 habitants."))
    document.text.addElement(H(outlinelevel=2, text="Actions"))
    table = Table(name="T1")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for values in (("Action", "Budget"), ("Navettes estivales", "120 000 €")):
        row = TableRow()
        for value in values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    path = tmp_path / "plan.odt"
    document.save(str(path))
    assert detect_type(path) == "odt"
    doc = read_odt(path, path.name)
    assert [(p.section, p.text) for p in doc.pages] == [
        ("Contexte", "Contexte\n\nLa commune de Saint-Malo accueille 46 000 habitants."),
        ("Actions", "Actions\n\nAction | Budget\nNavettes estivales | 120 000 €"),  # lone H1 = title
    ]


def test_corrupt_docx_is_refused(tmp_path):
    path = tmp_path / "casse.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<pas du xml")
    with pytest.raises(CorruptDocumentError) as info:
        parse_file(path)
    _assert_french_refusal(info.value, "casse.docx")


# --------------------------------------------------------------------------------------------- TXT / CSV


def test_csv_semicolon_decimal_comma_cp1252(tmp_path):
    path = tmp_path / "indicateurs.csv"
    rows = ["CODGEO;Commune;Taux de chômage"] + [f"350{i:02d};Saint-Médard-{i};{i},5" for i in range(1, 26)]
    path.write_bytes("\r\n".join(rows).encode("cp1252"))
    doc = parse_file(path)
    assert doc.doc_type == "csv" and doc.page_count == 2
    assert doc.pages[0].section == "lignes 2–21" and doc.pages[1].section == "lignes 22–26"
    assert doc.pages[0].text.split("\n")[0] == "CODGEO : 35001 ; Commune : Saint-Médard-1 ; Taux de chômage : 1,5"
    chunks = chunk_document(doc, "p", chunk_chars=200)
    for chunk in chunks:  # rows are never cut
        assert all(line.startswith("CODGEO : ") and "Taux de chômage : " in line for line in chunk.text.split("\n"))


def test_csv_real_communes_file(corpus_dir):
    doc = parsed(COMMUNES)
    assert doc.pages[0].section == "lignes 2–21"
    assert doc.pages[0].text.startswith(
        "REG : 84 ; Région : Auvergne-Rhône-Alpes ; DEP : 01 ; CODARR : 2 ; CODCAN : 08 ; CODCOM : 001 ; "
        "COM : 01001 ; Commune : L'Abergement-Clémenciat ; PMUN : 860 ; PCAP : 16 ; PTOT : 876"
    )


def test_txt_cp1252_fallback_and_blocks(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("Compte rendu de réunion.\n\nLe comité de pilotage s'est réuni à Dinan.".encode("cp1252"))
    doc = parse_file(path)
    assert doc.doc_type == "txt"
    assert doc.pages[0].text == "Compte rendu de réunion.\n\nLe comité de pilotage s'est réuni à Dinan."
    assert doc.pages[0].section == "paragraphes 1–2"


# ------------------------------------------------------------------------------------------------ chunking


@pytest.mark.parametrize("path", [CAE, KITELUS, FICHES / "fiche29.md", HTML])
def test_chunk_offsets_are_exact_and_chunks_stay_in_their_page(path):
    doc = parsed(path)
    chunks = chunk_document(doc, "dinan", chunk_chars=500, overlap=80)
    assert chunks
    by_place = {(p.page, p.section): p for p in doc.pages}
    for chunk in chunks:
        page = by_place[(chunk.page, chunk.section)]
        assert page.text[chunk.start:chunk.end] == chunk.text
        assert len(chunk.text) <= 500
        assert chunk.text == chunk.text.strip()
        assert chunk.content_hash == doc.sha256 and chunk.project == "dinan" and chunk.doc_type == doc.doc_type
    assert len({c.id for c in chunks}) == len(chunks)
    assert all(re.fullmatch(r"[0-9a-f]{32}", c.id) for c in chunks)


def test_chunk_ids_stable_across_runs():
    first = chunk_document(parse_file(CAE), "dinan", ingested_at="2026-01-01T00:00:00+00:00")
    second = chunk_document(parse_file(CAE), "dinan")
    assert [c.id for c in first] == [c.id for c in second]
    assert first[0].id != chunk_document(parsed(CAE), "autre-projet")[0].id
    stamp = datetime.fromisoformat(second[0].ingested_at)
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0


def test_short_pages_and_number_only_chunks():
    doc = ParsedDocument(path=Path("x.pdf"), file="x.pdf", doc_type="pdf", page_count=3, empty_pages=[],
                         sha256="0" * 64, title=None, pages=[
                             Page(page=1, section=None, text="SERVICES AUX ADMINISTRÉS"),  # divider, 24 chars
                             Page(page=2, section=None, text="12 / 42 — 2024 … 3,5 %"),
                             Page(page=3, section=None, text="ÉDITO"),
                         ])
    assert [c.page for c in chunk_document(doc, "p")] == [1]


def test_invalid_chunk_settings_are_rejected():
    with pytest.raises(ValueError):
        chunk_document(parsed(CAE), "p", chunk_chars=100, overlap=100)


# ------------------------------------------------------------------------------------------ dev questions


def test_dev_quotes_survive_cleaning():
    """Cleaning must not destroy text: each gold PDF quote is found on its gold page (cleaned the same way)."""
    entries = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [e for e in entries if e["answer"] != "NON_COUVERT" and e["file"] and e["file"].endswith(".pdf")]
    assert answerable
    found = []
    for entry in answerable:
        doc = parsed(SHARED / entry["file"])
        quote = _squash(clean_text(entry["quote"], doc.lexicon))
        if quote in _squash(doc.pages[entry["page"] - 1].text):
            found.append(entry["id"])
    print(f"\ncitations PDF retrouvées : {len(found)}/{len(answerable)}")
    assert len(found) >= 0.9 * len(answerable), sorted({e["id"] for e in answerable} - set(found))


def test_dev_quotes_of_markdown_and_html_files():
    entries = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    others = [e for e in entries if e["answer"] != "NON_COUVERT" and e["file"] and not e["file"].endswith(".pdf")]
    missing = []
    for entry in others:
        doc = parsed(SHARED / entry["file"])
        quote = _squash(clean_text(entry["quote"], doc.lexicon))
        if not any(quote in _squash(p.text) for p in doc.pages):
            missing.append(entry["id"])
    assert not missing


def test_io_is_binary_safe(tmp_path):
    # A UTF-16 text export (Windows Notepad) is decoded, not refused as binary.
    path = tmp_path / "export.txt"
    path.write_bytes("Stratégie d'attractivité du territoire".encode("utf-16"))
    assert parse_file(path).pages[0].text == "Stratégie d'attractivité du territoire"


def test_an_index_built_by_an_older_pipeline_is_re_read_and_its_base_upgraded(tmp_path, monkeypatch):
    """Real chunk store: a base created before the ``pipeline`` column gains it, and files indexed by an older
    reading/chunking pipeline are re-read on the next ingestion instead of being reported unchanged."""
    import sqlite3

    from assistant import indexer
    from assistant.config import Settings
    from assistant.core import Assistant
    from assistant.docstore import DocStore
    from assistant.embeddings import HashingEmbedder

    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as conn:  # the documents table as the first version created it
        conn.execute("CREATE TABLE documents (project TEXT NOT NULL, file TEXT NOT NULL, doc_type TEXT NOT NULL, "
                     "content_hash TEXT NOT NULL, pages INTEGER NOT NULL, chunks INTEGER NOT NULL, "
                     "ingested_at TEXT NOT NULL, title TEXT, empty_pages TEXT NOT NULL DEFAULT '[]', "
                     "PRIMARY KEY (project, file))")
        conn.execute("INSERT INTO documents VALUES ('p', 'a.md', 'md', 'h', 1, 1, 't', NULL, '[]')")
    store = DocStore(old)
    assert store.pipeline("p", "a.md") == 1 and store.documents("p")[0].file == "a.md"
    store.close()

    a = Assistant(Settings(data_dir=tmp_path / "data", _env_file=None), embedder=HashingEmbedder())
    fiche = FICHES / "fiche24.md"
    assert [r.status for r in a.ingest([fiche], "p")] == ["indexed"]
    assert [r.status for r in a.ingest([fiche], "p")] == ["unchanged"]
    monkeypatch.setattr(indexer, "PIPELINE_VERSION", indexer.PIPELINE_VERSION + 1)
    [report] = a.ingest([fiche], "p")
    assert report.status == "replaced" and report.chunks == a.documents("p")[0].chunks
    assert a.docstore.pipeline("p", "fiche24.md") == indexer.PIPELINE_VERSION


def test_files_read_by_worker_processes_are_indexed_as_when_read_here(tmp_path, monkeypatch):
    """Real PDFs, a Markdown sheet, a corrupt PDF and an image-only PDF: reading in two processes gives the same
    chunks and the same French reports, in the same order, as reading in this process."""
    from assistant import indexer
    from assistant.config import Settings
    from assistant.core import Assistant
    from assistant.embeddings import HashingEmbedder

    pools = []
    real_pool = indexer._read_pool
    monkeypatch.setattr(indexer, "_read_pool", lambda workers: pools.append(workers) or real_pool(workers))

    broken = tmp_path / "abime.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF garbage")
    files = [TET / "CAE_Reglement_label.pdf", FICHES / "fiche24.md", broken, IMAGE_ONLY,
             TET / "ECi_Reglement_label.pdf"]
    results = {}
    for workers in (1, 2):
        a = Assistant(Settings(data_dir=tmp_path / f"data{workers}", read_workers=workers, _env_file=None),
                      embedder=HashingEmbedder())
        reports = a.ingest(files, "p", embed=False)
        results[workers] = ([(r.file, r.status, r.reason, r.message) for r in reports],
                            [(c.id, c.text) for c in a.docstore.chunks("p")])
    assert pools == [2]  # 1.7 MB to read: the second run read in two processes
    assert results[1] == results[2]
    statuses = [status for _, status, _, _ in results[2][0]]
    assert statuses == ["indexed", "indexed", "refused", "refused", "indexed"]
    assert "abime.pdf" in results[2][0][2][3] and "PORTRAIT_84" in results[2][0][3][3]


def test_an_unchanged_file_is_not_read_again(tmp_path, monkeypatch):
    from assistant import indexer
    from assistant.config import Settings
    from assistant.core import Assistant
    from assistant.embeddings import HashingEmbedder

    a = Assistant(Settings(data_dir=tmp_path / "data", read_workers=1, _env_file=None), embedder=HashingEmbedder())
    pdf, sheet = TET / "CAE_Reglement_label.pdf", FICHES / "fiche24.md"
    assert [r.status for r in a.ingest([pdf, sheet], "p")] == ["indexed", "indexed"]
    read = []
    monkeypatch.setattr(indexer, "parse_file", lambda path, limits=None: read.append(path) or parse_file(path, limits))
    changed = tmp_path / "fiche24.md"
    changed.write_text(sheet.read_text(encoding="utf-8") + "\n\nUne ligne ajoutée.\n", encoding="utf-8")
    assert [r.status for r in a.ingest([pdf, sheet, changed], "p")] == ["unchanged", "unchanged", "replaced"]
    assert read == [changed]  # the unchanged bytes were only hashed


def test_a_file_whose_reading_process_died_is_read_here():
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from assistant.indexer import _from_worker

    died = Future()
    died.set_exception(BrokenProcessPool("a worker was killed"))
    doc = _from_worker(died, FICHES / "fiche24.md", IngestLimits())()
    assert doc.file == "fiche24.md" and doc.pages
    refused = Future()  # a reader's own error comes back as it is: the batch reports it in French
    refused.set_exception(EmptyDocumentError("vide.pdf", "le fichier est vide (0 octet)"))
    with pytest.raises(EmptyDocumentError):
        _from_worker(refused, FICHES / "fiche24.md", IngestLimits())()


def test_two_short_files_are_read_here_without_starting_processes(tmp_path, monkeypatch):
    from assistant import indexer
    from assistant.config import Settings
    from assistant.core import Assistant
    from assistant.embeddings import HashingEmbedder

    monkeypatch.setattr(indexer, "_read_pool", lambda workers: pytest.fail("no process for two short files"))
    a = Assistant(Settings(data_dir=tmp_path / "data", read_workers=2, _env_file=None), embedder=HashingEmbedder())
    reports = a.ingest([FICHES / "fiche24.md", FICHES / "fiche16.md"], "p", embed=False)
    assert [r.status for r in reports] == ["indexed", "indexed"]


def test_a_file_named_twice_in_one_batch_is_listed_once(tmp_path):
    from assistant.indexer import expand_paths

    folder = tmp_path / "rapports"
    (folder / ".cache").mkdir(parents=True)
    (folder / "diagnostic.md").write_text("# Diagnostic\n\nTexte.", encoding="utf-8")
    (folder / "notes.txt").write_text("Notes.", encoding="utf-8")
    (folder / ".cache" / "brouillon.md").write_text("caché", encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG")
    listed = expand_paths([folder, folder / "diagnostic.md", tmp_path / "rapports" / ".." / "rapports" / "notes.txt"])
    assert [p.name for p in listed] == ["diagnostic.md", "notes.txt"]
