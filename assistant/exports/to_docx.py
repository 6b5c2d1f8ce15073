"""DOCX writer (python-docx), with real Word footnotes.

python-docx has no footnote API, so the writer adds the ``word/footnotes.xml`` part itself (separator,
continuation separator, then one ``w:footnote`` per note) and a ``w:footnoteReference`` run at each note:
Word and LibreOffice show them as ordinary footnotes at the bottom of the page.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from .blocks import BulletList, Document, Heading, Image, Inline, Note, PageBreak, Paragraph, Run, Table

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_TABLE_FONT_PT = 8
_NOTE_SIZE = 16  # half-points: 8 pt
_TEXT_WIDTH_CM = 17.0  # A4 minus 2 cm margins


def _footnotes_xml(notes: list[str]) -> bytes:
    def note(i: int, text: str) -> str:
        return (f'<w:footnote w:id="{i}"><w:p><w:pPr><w:spacing w:after="0"/></w:pPr>'
                f'<w:r><w:rPr><w:vertAlign w:val="superscript"/><w:sz w:val="{_NOTE_SIZE}"/></w:rPr><w:footnoteRef/>'
                f'</w:r><w:r><w:rPr><w:sz w:val="{_NOTE_SIZE}"/></w:rPr><w:t xml:space="preserve"> {escape(text)}'
                '</w:t></w:r></w:p></w:footnote>')

    separators = (
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" w:line="240" '
        'w:lineRule="auto"/></w:pPr><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" w:line="240" '
        'w:lineRule="auto"/></w:pPr><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
    )
    body = "".join(note(i, text) for i, text in enumerate(notes, 1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:footnotes xmlns:w="{_W}">'
            f"{separators}{body}</w:footnotes>").encode("utf-8")


class _Writer:
    def __init__(self) -> None:
        import docx
        from docx.shared import Cm

        self.doc = docx.Document()
        for section in self.doc.sections:
            section.left_margin = section.right_margin = Cm(2)
            section.top_margin = section.bottom_margin = Cm(2)
        self.notes: list[str] = []

    # -- inline

    def runs(self, paragraph, parts: list[Inline], *, size: float | None = None) -> None:
        from docx.enum.text import WD_COLOR_INDEX
        from docx.oxml import parse_xml
        from docx.shared import Pt

        for part in parts:
            if isinstance(part, Note):
                self.notes.append(part.text)
                paragraph._p.append(parse_xml(
                    f'<w:r xmlns:w="{_W}"><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
                    f'<w:footnoteReference w:id="{len(self.notes)}"/></w:r>'))
                continue
            lines = part.text.split("\n")
            for i, line in enumerate(lines):
                run = paragraph.add_run(line)
                run.bold = part.bold or part.mark or None
                run.italic = part.italic or None
                if part.mark:
                    run.font.highlight_color = WD_COLOR_INDEX.YELLOW
                if size:
                    run.font.size = Pt(size)
                if i < len(lines) - 1:
                    run.add_break()

    # -- blocks

    def block(self, block) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm

        doc = self.doc
        if isinstance(block, Heading):
            doc.add_heading(block.text, level=min(block.level, 4))
        elif isinstance(block, Paragraph):
            style = {"title": "Title", "subtitle": "Subtitle"}.get(block.style)
            p = doc.add_paragraph(style=style)
            self.runs(p, block.parts, size=9 if block.style == "small" else None)
            if block.style in ("title", "subtitle"):
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif isinstance(block, BulletList):
            for item in block.items:
                self.runs(doc.add_paragraph(style="List Bullet"), item)
        elif isinstance(block, Table):
            self.table(block)
        elif isinstance(block, Image):
            doc.add_picture(str(block.path), width=Cm(block.width_cm))
            caption = doc.add_paragraph(block.caption, style="Caption")
            caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif isinstance(block, PageBreak):
            doc.add_page_break()
        else:  # pragma: no cover
            raise TypeError(f"bloc inconnu : {type(block).__name__}")

    def table(self, block: Table) -> None:
        from docx.oxml import parse_xml

        if block.caption:
            self.doc.add_paragraph(block.caption, style="Caption")
        table = self.doc.add_table(rows=1 + len(block.rows), cols=len(block.header))
        table.style = "Table Grid"
        header = table.rows[0]
        if not block.grid:
            # Repeat the header row on each page of a long table.
            header._tr.get_or_add_trPr().append(parse_xml(f'<w:tblHeader xmlns:w="{_W}"/>'))
        for cell, title in zip(header.cells, block.header):
            self.runs(cell.paragraphs[0], [Run(title, bold=True)], size=_TABLE_FONT_PT + 1)
            cell._tc.get_or_add_tcPr().append(parse_xml(
                f'<w:shd xmlns:w="{_W}" w:val="clear" w:color="auto" w:fill="D9E2F3"/>'))
        for r, row in enumerate(block.rows, 1):
            for cell, parts in zip(table.rows[r].cells, row):
                self.runs(cell.paragraphs[0], parts, size=_TABLE_FONT_PT + (2 if block.grid else 0))
        if block.widths:
            from docx.shared import Cm

            table.autofit = False
            total = sum(block.widths)
            for column, weight in zip(table.columns, block.widths):
                column.width = Cm(_TEXT_WIDTH_CM * weight / total)  # the grid LibreOffice reads
            for row in table.rows:
                for cell, weight in zip(row.cells, block.widths):
                    cell.width = Cm(_TEXT_WIDTH_CM * weight / total)
        self.doc.add_paragraph()

    # -- document

    def finish(self, doc_model: Document, path: Path) -> Path:
        from docx.opc.constants import CONTENT_TYPE as CT
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
        from docx.opc.packuri import PackURI
        from docx.opc.part import Part
        from docx.oxml import parse_xml

        props = self.doc.core_properties
        props.title = doc_model.title
        props.subject = doc_model.subject
        props.language = "fr-FR"
        footer = self.doc.sections[0].footer.paragraphs[0]
        footer.text = f"{doc_model.title} — page "
        footer._p.append(parse_xml(f'<w:fldSimple xmlns:w="{_W}" w:instr=" PAGE "><w:r><w:t>1</w:t></w:r>'
                                   "</w:fldSimple>"))
        if self.notes:
            part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, _footnotes_xml(self.notes),
                        self.doc.part.package)
            self.doc.part.relate_to(part, RT.FOOTNOTES)
        path = Path(path)
        self.doc.save(str(path))
        return path


def write_docx(doc: Document, path: Path) -> Path:
    writer = _Writer()
    for block in doc.blocks:
        writer.block(block)
    return writer.finish(doc, path)


def read_docx_footnotes(path: Path) -> list[str]:
    """The footnote texts of a DOCX (separators excluded): used by tests and by anyone checking an export."""
    import zipfile

    from lxml import etree

    with zipfile.ZipFile(path) as archive:
        if "word/footnotes.xml" not in archive.namelist():
            return []
        root = etree.fromstring(archive.read("word/footnotes.xml"))
    ns = {"w": _W}
    texts = []
    for note in root.findall("w:footnote", ns):
        if note.get(f"{{{_W}}}type"):
            continue
        texts.append("".join(t.text or "" for t in note.iter(f"{{{_W}}}t")).strip())
    return texts
