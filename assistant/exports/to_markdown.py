"""Markdown writer: headings, tables (GitHub syntax), footnotes as ``[^n]`` defined at the end (Pandoc/GFM)."""

from __future__ import annotations

import os
from pathlib import Path

from .blocks import BulletList, Document, Heading, Image, Inline, Note, PageBreak, Paragraph, Table


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


class _Writer:
    def __init__(self, image_base: Path | None) -> None:
        self.notes: list[str] = []
        self.image_base = image_base

    def inline(self, parts: list[Inline]) -> str:
        out = []
        for part in parts:
            if isinstance(part, Note):
                self.notes.append(part.text)
                out.append(f"[^{len(self.notes)}]")
                continue
            text = part.text
            if not text.strip():
                out.append(text)
                continue
            lead, core, trail = text[: len(text) - len(text.lstrip())], text.strip(), text[len(text.rstrip()):]
            if part.bold or part.mark:
                core = f"**{core}**"
            if part.italic:
                core = f"*{core}*"
            out.append(lead + core + trail)
        return "".join(out)

    def block(self, block) -> list[str]:
        if isinstance(block, Heading):
            return ["#" * min(block.level + 1, 6) + " " + block.text, ""]
        if isinstance(block, Paragraph):
            text = self.inline(block.parts).replace("\n", "  \n")
            if block.style == "title":
                return [f"# {text}", ""]
            if block.style == "subtitle":
                return [f"**{text}**", ""]
            if block.style == "small":
                return [f"> {text}", ""]
            return [text, ""]
        if isinstance(block, BulletList):
            return [f"- {self.inline(item)}".replace("\n", " ") for item in block.items] + [""]
        if isinstance(block, Table):
            lines = []
            if block.caption:
                lines += [f"*{block.caption}*", ""]
            lines.append("| " + " | ".join(_escape_cell(h) for h in block.header) + " |")
            lines.append("|" + "---|" * len(block.header))
            for row in block.rows:
                lines.append("| " + " | ".join(_escape_cell(self.inline(cell)) for cell in row) + " |")
            return lines + [""]
        if isinstance(block, Image):
            path = block.path
            if self.image_base is not None:
                path = Path(os.path.relpath(block.path, self.image_base))
            return [f"![{block.caption}]({path.as_posix()})", ""]
        if isinstance(block, PageBreak):
            return ["---", ""]
        raise TypeError(f"bloc inconnu : {type(block).__name__}")  # pragma: no cover


def render_markdown(doc: Document, *, image_base: Path | None = None) -> str:
    """The document as Markdown; image paths are made relative to ``image_base`` (the output folder)."""
    writer = _Writer(image_base)
    lines: list[str] = []
    for block in doc.blocks:
        lines += writer.block(block)
    if writer.notes:
        lines += ["## Notes", ""] + [f"[^{i}]: {text}" for i, text in enumerate(writer.notes, 1)] + [""]
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(doc: Document, path: Path) -> Path:
    path = Path(path)
    path.write_text(render_markdown(doc, image_base=path.parent), encoding="utf-8")
    return path


__all__ = ["render_markdown", "write_markdown"]
