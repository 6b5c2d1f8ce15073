"""ODT writer (odfpy): OpenDocument text with native footnotes (``text:note``), tables, bullets and images."""

from __future__ import annotations

import struct
from pathlib import Path

from .blocks import BulletList, Document, Heading, Image, Inline, Note, PageBreak, Paragraph, Run, Table

_HEADING_SIZES = {1: "16pt", 2: "13pt", 3: "12pt", 4: "11pt"}


def _png_size_cm(path: Path, width_cm: float) -> tuple[str, str]:
    """Height for a width, from the PNG header (no image library needed)."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return f"{width_cm}cm", f"{width_cm * 0.6:.2f}cm"
    w, h = struct.unpack(">II", head[16:24])
    return f"{width_cm}cm", f"{width_cm * h / w:.2f}cm"


class _Writer:
    def __init__(self) -> None:
        from odf.opendocument import OpenDocumentText
        from odf.style import (
            GraphicProperties, ListLevelProperties, ParagraphProperties, Style, TableCellProperties,
            TableProperties, TextProperties,
        )
        from odf.text import ListLevelStyleBullet, ListStyle

        self.doc = OpenDocumentText()
        self.notes = 0
        self.tables = 0
        self.images = 0
        styles, auto = self.doc.styles, self.doc.automaticstyles

        def style(name: str, family: str, *props, parent: str | None = None, target=auto) -> Style:
            s = Style(name=name, family=family, **({"parentstylename": parent} if parent else {}))
            for p in props:
                s.addElement(p)
            target.addElement(s)
            return s

        style("Standard", "paragraph", TextProperties(fontsize="10.5pt", fontfamily="Liberation Sans"),
              ParagraphProperties(marginbottom="0.18cm"), target=styles)
        for level, size in _HEADING_SIZES.items():
            style(f"Heading_20_{level}", "paragraph", TextProperties(fontsize=size, fontweight="bold",
                                                                      color="#1f3864"),
                  ParagraphProperties(margintop="0.4cm", marginbottom="0.2cm", keepwithnext="always"),
                  parent="Standard", target=styles)
        self.title = style("Title", "paragraph", TextProperties(fontsize="26pt", fontweight="bold"),
                           ParagraphProperties(textalign="center", margintop="3cm"), parent="Standard")
        self.subtitle = style("Subtitle", "paragraph", TextProperties(fontsize="14pt", color="#444444"),
                              ParagraphProperties(textalign="center"), parent="Standard")
        self.small = style("Small", "paragraph", TextProperties(fontsize="9pt", fontstyle="italic"),
                           parent="Standard")
        self.cellp = style("CellText", "paragraph", TextProperties(fontsize="8pt"),
                           ParagraphProperties(marginbottom="0cm"), parent="Standard")
        self.caption = style("Caption", "paragraph", TextProperties(fontsize="9pt", fontstyle="italic"),
                             ParagraphProperties(textalign="center"), parent="Standard")
        self.pagebreak = style("PageBreak", "paragraph", ParagraphProperties(breakbefore="page"), parent="Standard")
        self.notep = style("NoteText", "paragraph", TextProperties(fontsize="8pt"), parent="Standard")
        self.bold = style("Bold", "text", TextProperties(fontweight="bold"))
        self.italic = style("Italic", "text", TextProperties(fontstyle="italic"))
        self.bolditalic = style("BoldItalic", "text", TextProperties(fontweight="bold", fontstyle="italic"))
        self.mark = style("Mark", "text", TextProperties(fontweight="bold", backgroundcolor="#ffff00"))
        self.table_style = style("Tbl", "table", TableProperties(width="17cm", align="margins"))
        self.cell = style("Cell", "table-cell", TableCellProperties(border="0.5pt solid #808080", padding="0.08cm"))
        self.head_cell = style("HeadCell", "table-cell", TableCellProperties(
            border="0.5pt solid #808080", padding="0.08cm", backgroundcolor="#d9e2f3"))
        self.frame = style("Frame", "graphic", GraphicProperties(anchortype="as-char", verticalpos="top"))
        bullets = ListStyle(name="Bullets")
        level = ListLevelStyleBullet(level=1, bulletchar="•")
        level.addElement(ListLevelProperties(spacebefore="0.4cm", minlabelwidth="0.5cm"))
        bullets.addElement(level)
        auto.addElement(bullets)
        self.bullets = bullets

    # -- inline

    def inline(self, element, parts: list[Inline]) -> None:
        from odf import teletype
        from odf.text import Note as OdfNote
        from odf.text import NoteBody, NoteCitation, P, Span

        for part in parts:
            if isinstance(part, Note):
                self.notes += 1
                note = OdfNote(id=f"ftn{self.notes}", noteclass="footnote")
                note.addElement(NoteCitation(text=str(self.notes)))
                body = NoteBody()
                p = P(stylename=self.notep)
                teletype.addTextToElement(p, part.text)
                body.addElement(p)
                note.addElement(body)
                element.addElement(note)
                continue
            style = self.mark if part.mark else (self.bolditalic if part.bold and part.italic else
                                                 self.bold if part.bold else self.italic if part.italic else None)
            if style is None:
                teletype.addTextToElement(element, part.text)
            else:
                span = Span(stylename=style)
                teletype.addTextToElement(span, part.text)
                element.addElement(span)

    # -- blocks

    def block(self, block) -> None:
        from odf.text import H, List, ListItem, P

        text = self.doc.text
        if isinstance(block, Heading):
            h = H(outlinelevel=block.level, stylename=f"Heading_20_{min(block.level, 4)}")
            self.inline(h, [Run(block.text)])
            text.addElement(h)
        elif isinstance(block, Paragraph):
            style = {"title": self.title, "subtitle": self.subtitle, "small": self.small}.get(block.style, "Standard")
            p = P(stylename=style)
            self.inline(p, block.parts)
            text.addElement(p)
        elif isinstance(block, BulletList):
            lst = List(stylename=self.bullets)
            for item in block.items:
                li = ListItem()
                p = P(stylename="Standard")
                self.inline(p, item)
                li.addElement(p)
                lst.addElement(li)
            text.addElement(lst)
        elif isinstance(block, Table):
            self.table(block)
        elif isinstance(block, Image):
            self.image(block)
        elif isinstance(block, PageBreak):
            text.addElement(P(stylename=self.pagebreak))
        else:  # pragma: no cover
            raise TypeError(f"bloc inconnu : {type(block).__name__}")

    def table(self, block: Table) -> None:
        from odf.table import Table as OdfTable
        from odf.style import Style, TableColumnProperties
        from odf.table import TableCell, TableColumn, TableHeaderRows, TableRow
        from odf.text import P

        self.tables += 1
        if block.caption:
            cap = P(stylename=self.caption)
            self.inline(cap, [Run(block.caption)])
            self.doc.text.addElement(cap)
        table = OdfTable(name=f"Tableau{self.tables}", stylename=self.table_style)
        weights = block.widths or [1.0] * len(block.header)
        for i, weight in enumerate(weights):
            column = Style(name=f"Tableau{self.tables}.C{i}", family="table-column")
            column.addElement(TableColumnProperties(columnwidth=f"{17 * weight / sum(weights):.2f}cm"))
            self.doc.automaticstyles.addElement(column)
            table.addElement(TableColumn(stylename=column))

        def row(cells: list[list[Inline]], head: bool) -> TableRow:
            tr = TableRow()
            for parts in cells:
                tc = TableCell(stylename=self.head_cell if head else self.cell, valuetype="string")
                p = P(stylename=self.cellp)
                self.inline(p, parts)
                tc.addElement(p)
                tr.addElement(tc)
            return tr

        header = row([[Run(h, bold=True)] for h in block.header], True)
        if block.grid:
            table.addElement(header)
        else:
            rows = TableHeaderRows()
            rows.addElement(header)
            table.addElement(rows)
        for cells in block.rows:
            table.addElement(row(cells, False))
        self.doc.text.addElement(table)

    def image(self, block: Image) -> None:
        from odf.draw import Frame
        from odf.draw import Image as OdfImage
        from odf.text import P

        self.images += 1
        href = self.doc.addPicture(str(block.path))
        width, height = _png_size_cm(Path(block.path), block.width_cm)
        frame = Frame(stylename=self.frame, width=width, height=height, anchortype="as-char",
                      name=f"Image{self.images}")
        frame.addElement(OdfImage(href=href))
        p = P(stylename=self.caption)
        p.addElement(frame)
        self.doc.text.addElement(p)
        cap = P(stylename=self.caption)
        self.inline(cap, [Run(block.caption)])
        self.doc.text.addElement(cap)


def write_odt(doc: Document, path: Path) -> Path:
    from odf.dc import Subject, Title

    writer = _Writer()
    writer.doc.meta.addElement(Title(text=doc.title))
    if doc.subject:
        writer.doc.meta.addElement(Subject(text=doc.subject))
    for block in doc.blocks:
        writer.block(block)
    path = Path(path)
    writer.doc.save(str(path))
    return path
