"""A tiny document model shared by the Markdown, DOCX and ODT writers: headings, paragraphs, lists, tables.

Content is decided once (``strategy_doc``, ``interviews``); each writer only knows how to draw these blocks.
A ``Note`` inside a paragraph or a table cell is a source: a real footnote in DOCX and ODT, ``[^n]`` in
Markdown. A ``Run`` with ``mark`` is a warning to the reader (a hypothesis to validate) and stands out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

__all__ = ["Block", "BulletList", "Document", "Heading", "Image", "Inline", "Note", "PageBreak", "Paragraph",
           "Run", "Table", "plain"]


@dataclass
class Run:
    text: str
    bold: bool = False
    italic: bool = False
    mark: bool = False


@dataclass
class Note:
    """A footnote: where the preceding statement comes from."""

    text: str


Inline = Union[Run, Note]


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Paragraph:
    parts: list[Inline]
    style: Literal["normal", "title", "subtitle", "small"] = "normal"


@dataclass
class BulletList:
    items: list[list[Inline]]


@dataclass
class Table:
    header: list[str]
    rows: list[list[list[Inline]]]
    caption: str = ""
    grid: bool = False
    """True for a matrix (SWOT): the header row is a first row of titles, like the others."""
    widths: list[float] | None = None
    """Relative column widths; equal columns when None."""


@dataclass
class Image:
    path: Path
    caption: str
    width_cm: float = 16.0


@dataclass
class PageBreak:
    pass


Block = Union[Heading, Paragraph, BulletList, Table, Image, PageBreak]


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)
    subject: str = ""

    def notes(self) -> list[str]:
        """Every footnote in reading order (writers number them the same way)."""
        found: list[str] = []
        for block in self.blocks:
            for parts in _inline_lists(block):
                found += [p.text for p in parts if isinstance(p, Note)]
        return found


def _inline_lists(block: Block) -> list[list[Inline]]:
    if isinstance(block, Paragraph):
        return [block.parts]
    if isinstance(block, BulletList):
        return block.items
    if isinstance(block, Table):
        return [cell for row in block.rows for cell in row]
    return []


def plain(parts: list[Inline]) -> str:
    """The text of some inline parts without their notes (for CSV cells, alt texts…)."""
    return "".join(p.text for p in parts if isinstance(p, Run))
