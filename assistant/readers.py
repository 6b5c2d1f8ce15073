"""Format readers: bytes or a path in, cleaned citable ``Page`` units out. Only ``assistant.ingest`` calls them.

The only importer of pypdf, python-docx, odfpy and BeautifulSoup. Library exceptions become ``DocumentError``
subclasses here, with a French message that names the file and says the fix.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import (
    CorruptDocumentError,
    DocumentTooLargeError,
    EmptyDocumentError,
    EncryptedDocumentError,
)
from assistant.textclean import (
    Lexicon,
    build_lexicon,
    clean_page_texts,
    clean_text,
    collapse_whitespace,
    fix_inline_spacing,
    margin_key,
    normalize_unicode,
    repair_ligature_markers,
    strip_pictographs,
)

__all__ = ["Page", "ReaderOutput", "read_csv", "read_docx", "read_html", "read_markdown", "read_odt", "read_pdf",
           "read_text"]

REIMPORT = "puis réimportez-le"


@dataclass
class Page:
    """One citable unit: a PDF page (``page`` is its 1-based index) or a section of another format."""

    page: int | None
    section: str | None
    text: str


@dataclass
class ReaderOutput:
    pages: list[Page]
    title: str | None = None
    empty_pages: list[int] = field(default_factory=list)
    lexicon: Lexicon | None = None


def has_text(text: str) -> bool:
    """A page with fewer than 3 letters has no usable text (blank, page number only, image only)."""
    return sum(c.isalpha() for c in text) >= 3


def _page_range(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"page {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"pages {numbers[0]} à {numbers[-1]}"
    return "pages " + ", ".join(map(str, numbers))


# -------------------------------------------------------------------------------------------------------- PDF

# Share of the page height treated as top/bottom margin when looking for running headers and page numbers.
_MARGIN_SHARE = 0.09
_MARGIN_MIN_PT = 50.0


def _margin_texts(page, deadline: float = float("inf")) -> tuple[str, set[str]]:
    """Extract a page's text, and the texts pypdf drew in its top and bottom margins (for header detection)."""
    box = page.mediabox
    rotated = page.rotation % 180 == 90
    low, size = (float(box.left), float(box.width)) if rotated else (float(box.bottom), float(box.height))
    margin = max(_MARGIN_SHARE * size, _MARGIN_MIN_PT)
    groups: dict[tuple[str, int], list[str]] = {}

    def visit(text, cm, tm, _font, _size) -> None:
        if time.monotonic() > deadline:  # a page with millions of text operators: stop within the page
            raise _Deadline
        if not text or not text.strip():
            return
        try:
            # Text position = text matrix × current transformation matrix (PDF spec 9.4.2).
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        except (TypeError, IndexError):
            return
        pos = (x if rotated else y) - low
        zone = "bottom" if pos < margin else "top" if pos > size - margin else None
        if zone:
            groups.setdefault((zone, round(pos / 3)), []).append(margin_key(text))

    text = page.extract_text(visitor_text=visit) or ""
    keys = {"".join(parts) for parts in groups.values()}
    for zone in ("top", "bottom"):
        keys.add("".join(p for (z, _), parts in groups.items() if z == zone for p in parts))
    keys.discard("")
    return text, keys


# Budgets passed to pypdf while reading (its own defaults are 75 MB and 2 M tokens per stream). Real pages of the
# corpus decompress to at most 100 kB and 10 000 operators: these leave a 50x margin and bound the time one page
# can take (about 4 s on a busy 2-core machine), whatever the file claims.
PDF_PARSE_BUDGET = 500_000


class _Deadline(Exception):
    """Raised from inside pypdf's text extraction when the time limit is over (never escapes ``read_pdf``)."""


def _pdf_configuration(max_stream_bytes: int):
    """A pypdf context that caps decompressed stream sizes and content-stream parsing (pypdf >= 7), else nothing."""
    import contextlib

    import pypdf

    apply = getattr(pypdf, "apply_configuration", None)
    if apply is None:  # older pypdf: its module-level 75 MB limits still apply
        return contextlib.nullcontext()
    return apply(
        zlib_maximum_output_length=max_stream_bytes, lzw_maximum_output_length=max_stream_bytes,
        run_length_maximum_output_length=max_stream_bytes, brotli_maximum_output_length=max_stream_bytes,
        array_based_stream_maximum_output_length=max_stream_bytes, stream_parsing_work_maximum_count=PDF_PARSE_BUDGET,
        stream_decoding_work_maximum_length=4 * max_stream_bytes,
    )


def read_pdf(path: Path, file_name: str, *, max_pages: int, deadline: float,
             max_stream_bytes: int = 20_000_000) -> ReaderOutput:
    with _pdf_configuration(max_stream_bytes):
        return _read_pdf(path, file_name, max_pages=max_pages, deadline=deadline)


def _too_slow(file_name: str, index: int, count: int) -> DocumentTooLargeError:
    return DocumentTooLargeError(
        file_name,
        f"l'extraction du texte dépasse la durée maximale (arrêt à la page {index + 1} sur {count})",
        fix=f"découpez le PDF en plusieurs fichiers (par exemple un par chapitre), {REIMPORT}",
    )


def _read_pdf(path: Path, file_name: str, *, max_pages: int, deadline: float) -> ReaderOutput:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

    # pypdf logs every repaired cross-reference as a warning; users only need the errors raised below.
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    corrupt_fix = (
        f"téléchargez à nouveau le fichier ou réenregistrez-le en PDF depuis son logiciel d'origine, {REIMPORT}"
    )
    encrypted_fix = (
        "fournissez une copie non protégée (ouvrez-le avec le mot de passe puis « Imprimer » vers un nouveau PDF), "
        f"{REIMPORT}"
    )
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except DependencyError as e:
                raise EncryptedDocumentError(
                    file_name,
                    "le PDF est chiffré en AES et ne peut pas être lu sans le module Python « cryptography »",
                    fix=encrypted_fix,
                ) from e
            if not decrypted:
                raise EncryptedDocumentError(file_name, "le PDF est protégé par un mot de passe", fix=encrypted_fix)
        count = len(reader.pages)
    except EncryptedDocumentError:
        raise
    except FileNotDecryptedError as e:
        raise EncryptedDocumentError(file_name, "le PDF est protégé par un mot de passe", fix=encrypted_fix) from e
    except LimitReachedError as e:
        raise DocumentTooLargeError(file_name, f"la structure du PDF dépasse les limites de lecture ({e})",
                                    fix=f"réenregistrez-le en PDF depuis son logiciel d'origine, {REIMPORT}") from e
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError) as e:
        raise CorruptDocumentError(file_name, f"le PDF est illisible ou tronqué ({e})", fix=corrupt_fix) from e

    if count == 0:
        raise EmptyDocumentError(file_name, "le PDF ne contient aucune page", fix=corrupt_fix)
    if count > max_pages:
        raise DocumentTooLargeError(
            file_name,
            f"le PDF compte {count} pages, au-delà de la limite de {max_pages} pages",
            fix=f"découpez-le en plusieurs fichiers (par exemple un par chapitre), {REIMPORT}",
        )

    raw_pages: list[str] = []
    margins: list[set[str] | None] = []
    failures = oversized = 0
    for index in range(count):
        if time.monotonic() > deadline:
            raise _too_slow(file_name, index, count)
        try:
            text, keys = _margin_texts(reader.pages[index], deadline)
        except _Deadline:
            raise _too_slow(file_name, index, count) from None
        except LimitReachedError:  # a decompression bomb or an absurd content stream: skip this page only
            text, keys, failures, oversized = "", None, failures + 1, oversized + 1
        except Exception:  # noqa: BLE001 - one broken page must not lose the others; it is reported as empty
            text, keys, failures = "", None, failures + 1
        raw_pages.append(text)
        margins.append(keys)
    if failures == count:
        if oversized:
            raise DocumentTooLargeError(
                file_name, "le contenu de ses pages dépasse les limites de lecture (flux compressé démesuré, "
                "peut-être une « bombe de décompression »)",
                fix=f"vérifiez la provenance du fichier, puis réenregistrez-le en PDF depuis son logiciel d'origine, "
                    f"{REIMPORT}")
        raise CorruptDocumentError(file_name, "aucune page du PDF n'a pu être lue", fix=corrupt_fix)

    texts, lexicon = clean_page_texts(raw_pages, margins)
    empty = [i + 1 for i, text in enumerate(texts) if not has_text(text)]
    if len(empty) == count:
        raise EmptyDocumentError(
            file_name,
            f"le PDF ne contient pas de couche texte ({_page_range(empty)})",
            fix=f"fournissez la version texte ou passez-le dans un logiciel d'OCR, {REIMPORT}",
        )
    pages = [Page(page=i + 1, section=None, text=text if has_text(text) else "") for i, text in enumerate(texts)]
    return ReaderOutput(pages=pages, title=_pdf_title(reader, pages), empty_pages=empty, lexicon=lexicon)


def _pdf_title(reader, pages: list[Page]) -> str | None:
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:  # noqa: BLE001 - metadata is optional and often malformed
        title = None
    title = collapse_whitespace(normalize_unicode(str(title))) if title else ""
    title = re.sub(r"^Microsoft (Word|PowerPoint) - ", "", title)
    if len(title) >= 4 and not re.search(r"\.(docx?|indd|pdf|pptx?|odt)$|^untitled|^sans titre", title, re.I):
        return title
    for page in pages:
        for line in page.text.split("\n"):
            if has_text(line):
                return line.strip()[:200]
    return None


# ------------------------------------------------------------------------------------- sectioned documents


@dataclass
class _Block:
    text: str
    level: int = 0  # 0 = paragraph, 1..6 = heading level


def _sectioned(blocks: Iterable[_Block], *, title: str | None = None, dedupe: bool = False,
               intro: str | None = None, empty_note: str | None = None) -> ReaderOutput:
    """Group paragraphs under their nearest headings ("Titre > Sous-titre") and clean them with one lexicon.

    Each section's text starts with its heading (it is part of the document and helps retrieval); a heading with
    nothing under it (no text, no subsection) gives no section, or with ``empty_note`` a section that says so.
    A single level-1 heading is the document title: it opens the first section but is left out of the paths,
    which would otherwise all start with it.
    """
    blocks = [b for b in blocks if b.text.strip()]
    prepared = [strip_pictographs(normalize_unicode(b.text)) for b in blocks]
    if intro:
        prepared.append(normalize_unicode(intro))
    lexicon = build_lexicon([repair_ligature_markers(t) for t in prepared], raw_texts=prepared)
    h1 = [b for b in blocks if b.level == 1]
    title = title or (collapse_whitespace(h1[0].text) if h1 else None)
    skip_h1 = len(h1) == 1

    pages: list[Page] = []
    path: list[tuple[int, str]] = []
    heading: str | None = None
    body: list[str] = []
    seen: set[str] = set()
    section: str | None = None
    if intro:
        section = clean_text(title, lexicon) if title else None
        body.append(clean_text(intro, lexicon))

    # Headings whose section was empty so far, shown above their first subsection: (level, heading, section path).
    carried: list[tuple[int, str, str | None]] = []

    def flush() -> None:
        if has_text("\n".join(body)):
            lines = [t for _, t, _ in carried] + ([heading] if heading else [])
            pages.append(Page(page=None, section=section, text="\n\n".join(lines + body)))
            carried.clear()
        elif heading:
            carried.append((level, heading, section))
        body.clear()

    def close_empty(below: int) -> None:
        """Forget the carried headings of level ``below`` or deeper: no subsection of theirs is coming."""
        if empty_note:
            pages.extend(Page(page=None, section=sec, text=f"{t}\n\n{empty_note}")
                         for lvl, t, sec in carried if lvl >= below)
        carried[:] = [c for c in carried if c[0] < below]

    level = 0
    for block in blocks:
        text = clean_text(block.text, lexicon)
        if block.level:
            flush()
            # An empty heading only introduces its own subsections, never a sibling ("Moyens financiers" with
            # nothing under it must not look like the title of "Sources de financement").
            close_empty(block.level)
            level = block.level
            heading = " ".join(text.split())
            path[:] = [(lvl, t) for lvl, t in path if lvl < block.level]
            if not (skip_h1 and block.level == 1):
                path.append((block.level, heading))
            section = " > ".join(t for _, t in path) or heading
            continue
        if not any(c.isalnum() for c in text):
            continue  # lone glyphs such as a "?" help button
        if dedupe:
            key = " ".join(text.split())
            if len(key) >= 30 and key in seen:
                continue  # repeated box: the same note printed twice in the page
            seen.add(key)
        body.append(text)
    flush()
    close_empty(0)
    return ReaderOutput(pages=pages, title=title, lexicon=lexicon)


def _no_text(file_name: str) -> EmptyDocumentError:
    return EmptyDocumentError(
        file_name,
        "le document ne contient aucun texte exploitable",
        fix=f"vérifiez qu'il s'agit du bon fichier (et non d'une image ou d'un modèle vide), {REIMPORT}",
    )


def _require_text(output: ReaderOutput, file_name: str) -> ReaderOutput:
    if not output.pages:
        raise _no_text(file_name)
    return output


# --------------------------------------------------------------------------------------------------- Markdown

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
# Said of a Markdown heading with nothing under it (a reader's note, in brackets like « (barré) »).
EMPTY_SECTION = "(rubrique vide dans le document)"
_SKIPPED_FIELDS = {"title", "date", "lastmod", "draft", "weight", "menu", "layout", "slug", "aliases", "type", "url",
                   "permalink", "template", "toc"}


def _front_matter(text: str) -> tuple[dict[str, str | list[str]], str]:
    """Minimal YAML front-matter reader: scalars as strings, lists of scalars as lists (nested maps are ignored)."""
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    fields: dict[str, list[str]] = {}
    listed: set[str] = set()
    key = None
    for line in match.group(1).split("\n"):
        item = re.match(r"^\s+-\s+(.*)$", line)
        pair = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line)
        if pair:
            key = pair.group(1)
            fields[key] = [pair.group(2)] if pair.group(2).strip() else []
        elif item and key is not None:
            fields[key].append(item.group(1))
            listed.add(key)
        elif line.startswith((" ", "\t")):
            continue  # nested mapping: not useful as text
    values: dict[str, str | list[str]] = {}
    for name, items in fields.items():
        cleaned = [re.sub(r"^(['\"])(.*)\1$", r"\2", v.strip()) for v in items]
        cleaned = [v for v in cleaned if v and not v.endswith(":")]
        if cleaned:
            values[name] = cleaned if name in listed else cleaned[0]
    return values, text[match.end():]


def _md_inline(line: str) -> str:
    line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)
    line = re.sub(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)", lambda m: m.group(1) if m.group(1) == m.group(2)
                  else f"{m.group(1)} ({m.group(2)})", line)
    # A struck-through item is a choice the author ruled out: keep the words, say so.
    line = re.sub(r"~~(.+?)~~", r"\1 (barré)", line)
    line = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", line)
    line = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\w)", r"\1", line)
    line = re.sub(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)", r"\1", line)
    line = re.sub(r"`([^`]+)`", r"\1", line)
    line = re.sub(r"<br\s*/?>", "\n", line, flags=re.I)
    line = re.sub(r"</?[A-Za-z][^>]*>", "", line)
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!~|>])", r"\1", line)


def _markdown_blocks(body: str) -> Iterator[_Block]:
    lines = body.split("\n")
    paragraph: list[str] = []
    fence = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence):
                fence = None
            else:
                paragraph.append(line)
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        heading = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
        next_line = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if heading:
            if paragraph:
                yield _Block("\n".join(paragraph))
                paragraph = []
            yield _Block(_md_inline(heading.group(2)), level=len(heading.group(1)))
            continue
        if stripped and paragraph == [] and re.fullmatch(r"=+|-+", next_line) and not re.match(r"[-*+>|]", stripped):
            yield _Block(_md_inline(stripped), level=1 if next_line.startswith("=") else 2)  # setext heading
            continue
        if re.fullmatch(r"=+|-+", stripped) and index > 0 and lines[index - 1].strip() and paragraph == []:
            continue  # underline of the setext heading just emitted
        if re.fullmatch(r"([-*_])(\s*\1){2,}", stripped):
            if paragraph:
                yield _Block("\n".join(paragraph))
                paragraph = []
            continue  # horizontal rule
        if re.fullmatch(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?", stripped):
            continue  # table header separator
        if stripped.startswith("|") and stripped.endswith("|"):
            stripped = " | ".join(cell.strip() for cell in stripped[1:-1].split("|"))
        stripped = re.sub(r"^(>\s?)+", "", stripped)
        stripped = re.sub(r"^[*+]\s+", "- ", stripped)
        if not stripped:
            if paragraph:
                yield _Block("\n".join(paragraph))
                paragraph = []
            continue
        paragraph.append(_md_inline(stripped))
    if paragraph:
        yield _Block("\n".join(paragraph))


def _drop_comments(body: str) -> str:
    """HTML comments are not shown by any Markdown renderer: an author's aside (« pas sûre que ces calculs aient une
    utilité ici ») is not the document's content. Code blocks keep theirs."""
    parts = re.split(r"(^[ \t]*(?:```|~~~).*?^[ \t]*(?:```|~~~)[^\n]*$)", body, flags=re.M | re.S)
    return "".join(part if i % 2 else re.sub(r"<!--.*?(?:-->|\Z)", "", part, flags=re.S)
                   for i, part in enumerate(parts))


def read_markdown(text: str, file_name: str) -> ReaderOutput:
    fields, body = _front_matter(text.lstrip("\ufeff"))
    body = _drop_comments(body)
    title = fields.get("title") if isinstance(fields.get("title"), str) else None
    # Scalar fields are data about the document (« montant : 200000 », « budget : non »); lists are the publishing
    # site's taxonomy (tags, categories), labels for its filters, not statements. Indexed as text, the action
    # sheets' « tags : calendrier flou, 0 indicateurs » put each sheet's opening passage first for questions about
    # its calendar or indicators (measured on dev.jsonl: recall@1 0.615 → 0.641, MRR 0.723 → 0.740, with the empty
    # sections below).
    extra = [f"{name.replace('_', ' ')} : {value}" for name, value in fields.items()
             if name not in _SKIPPED_FIELDS and isinstance(value, str)]
    intro = "\n".join(([title] if title else []) + extra) or None
    # An action sheet's empty « Indicateurs de suivi » or « Moyens financiers » is an answer: none are given.
    return _require_text(_sectioned(_markdown_blocks(body), title=title, intro=intro, empty_note=EMPTY_SECTION),
                         file_name)


# ------------------------------------------------------------------------------------------------------ HTML

_HTML_DROP = {"script", "style", "nav", "footer", "noscript", "template", "svg", "button", "form", "input",
              "select", "textarea", "iframe", "object", "embed", "head", "canvas", "audio", "video", "map"}
_HTML_BLOCK = {"p", "div", "section", "article", "main", "header", "aside", "ul", "ol", "li", "dl", "dt", "dd",
               "blockquote", "pre", "figure", "figcaption", "table", "thead", "tbody", "tfoot", "caption", "hr",
               "address", "details", "summary", "fieldset", "legend", "body", "html", "center", "h5", "h6"}


class _HtmlText:
    """Collects block texts; inline tags add no separator, so "<u>cadres</u>," stays "cadres,"."""

    def __init__(self) -> None:
        self.blocks: list[_Block] = []
        self.buffer: list[str] = []

    def flush(self) -> None:
        text = " ".join("".join(self.buffer).split())
        if text:
            self.blocks.append(_Block(fix_inline_spacing(text)))
        self.buffer = []

    def inline_text(self, node) -> str:
        sub = _HtmlText()
        sub.walk(node)
        sub.flush()
        return " ".join(b.text for b in sub.blocks)

    def walk(self, node) -> None:
        from bs4 import Comment, NavigableString, Tag
        from bs4.element import PreformattedString

        for child in node.children:
            if isinstance(child, (Comment, PreformattedString)):
                continue
            if isinstance(child, NavigableString):
                self.buffer.append(str(child))
                continue
            if not isinstance(child, Tag) or child.name in _HTML_DROP or child.has_attr("hidden"):
                continue
            name = child.name
            if re.fullmatch(r"h[1-4]", name):
                self.flush()
                text = self.inline_text(child)
                if text:
                    self.blocks.append(_Block(text, level=int(name[1])))
            elif name == "br":
                self.flush()
            elif name == "tr":
                self.flush()
                cells = [self.inline_text(cell) for cell in child.find_all(["td", "th"], recursive=False)]
                self.buffer.append(" | ".join(c for c in cells if c))
                self.flush()
            elif name in _HTML_BLOCK:
                self.flush()
                if name == "li":
                    self.buffer.append("- ")
                self.walk(child)
                self.flush()
            else:
                self.walk(child)


def read_html(text: str, file_name: str) -> ReaderOutput:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")  # decodes &nbsp; &eacute; and numeric entities
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text().split()) if title_tag else None
    collector = _HtmlText()
    collector.walk(soup.body or soup)
    collector.flush()
    return _require_text(_sectioned(collector.blocks, title=title or None, dedupe=True), file_name)


# ------------------------------------------------------------------------------------------------ DOCX / ODT


def _heading_level(style_name: str) -> int:
    match = re.match(r"^(?:heading|titre)\s*(\d)", style_name.strip(), re.I)
    if match:
        return max(1, min(6, int(match.group(1))))
    return 1 if style_name.strip().lower() in ("title", "titre") else 0


def _table_rows(rows: Iterable[list[str]]) -> str:
    lines = []
    for cells in rows:
        deduped: list[str] = []
        for cell in cells:
            cell = " ".join(cell.split())
            if cell and (not deduped or deduped[-1] != cell):  # merged cells repeat their text
                deduped.append(cell)
        if deduped:
            lines.append(" | ".join(deduped))
    return "\n".join(lines)


def read_docx(path: Path, file_name: str) -> ReaderOutput:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        blocks: list[_Block] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.append(_Block(_table_rows([cell.text for cell in row.cells] for row in item.rows)))
            else:
                style = item.style.name if item.style is not None else ""
                blocks.append(_Block(item.text, level=_heading_level(style or "")))
        title = (document.core_properties.title or "").strip() or None
    except Exception as e:  # noqa: BLE001 - python-docx raises many unrelated types on broken files
        raise CorruptDocumentError(
            file_name, f"le fichier Word est illisible ({type(e).__name__})",
            fix=f"ouvrez-le dans Word ou LibreOffice et réenregistrez-le en .docx, {REIMPORT}",
        ) from e
    return _require_text(_sectioned(blocks, title=title), file_name)


def read_odt(path: Path, file_name: str) -> ReaderOutput:
    from odf import teletype
    from odf.namespaces import TABLENS, TEXTNS
    from odf.opendocument import load
    from odf.table import TableRow

    blocks: list[_Block] = []

    def walk(node, prefix: str = "") -> None:
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (TEXTNS, "h"):
                level = child.getAttrNS(TEXTNS, "outline-level") or "1"
                blocks.append(_Block(teletype.extractText(child), level=int(level) if level.isdigit() else 1))
            elif qname == (TEXTNS, "p"):
                blocks.append(_Block(prefix + teletype.extractText(child)))
            elif qname == (TABLENS, "table"):
                rows = []
                for row in child.getElementsByType(TableRow):
                    rows.append([teletype.extractText(cell) for cell in row.childNodes
                                 if getattr(cell, "qname", None) == (TABLENS, "table-cell")])
                blocks.append(_Block(_table_rows(rows)))
            elif qname == (TEXTNS, "list-item"):
                walk(child, "- ")
            elif qname is not None and qname[0] in (TEXTNS, TABLENS) and child.childNodes:
                walk(child, prefix)

    try:
        document = load(str(path))
        walk(document.text)
    except Exception as e:  # noqa: BLE001 - odfpy raises XML, zip and attribute errors on broken files
        raise CorruptDocumentError(
            file_name, f"le fichier ODT est illisible ({type(e).__name__})",
            fix=f"ouvrez-le dans LibreOffice et réenregistrez-le en .odt, {REIMPORT}",
        ) from e
    return _require_text(_sectioned(blocks), file_name)


# ------------------------------------------------------------------------------------------------- TXT / CSV


def read_text(text: str, file_name: str, *, group_chars: int = 1500) -> ReaderOutput:
    """Plain text: blank-line blocks grouped into sections of about ``group_chars`` characters."""
    texts, lexicon = clean_page_texts([text])
    blocks = [b for b in re.split(r"\n\s*\n", texts[0]) if has_text(b)]
    if not blocks:
        raise _no_text(file_name)
    pages: list[Page] = []
    group: list[str] = []
    first = 1
    for number, block in enumerate(blocks, start=1):
        group.append(block)
        if sum(len(b) for b in group) >= group_chars or number == len(blocks):
            label = f"paragraphe {first}" if first == number else f"paragraphes {first}–{number}"
            pages.append(Page(page=None, section=label, text="\n\n".join(group)))
            group, first = [], number + 1
    return ReaderOutput(pages=pages, title=None, lexicon=lexicon)


def _sniff_delimiter(sample: list[str]) -> str:
    """The delimiter that splits every sample line into the same number (> 1) of fields.

    ``;`` is tried first: French CSV files use it because the comma is the decimal separator ("12,5"), which also
    makes "," split lines unevenly and so lose the test.
    """
    candidates = (";", "\t", "|", ",")
    for delimiter in candidates:
        counts = {len(row) for row in csv.reader(sample, delimiter=delimiter) if row}
        if len(counts) == 1 and counts.pop() > 1:
            return delimiter
    return max(candidates, key=lambda d: sample[0].count(d))


def _check_decimal_commas(sample: list[str], delimiter: str, file_name: str) -> None:
    """Refuse a comma-separated file whose unquoted decimal commas split numbers into two columns.

    « Dinan,12,5 » under the header « commune,taux » would be read as taux = 12 and a stray column 5: a wrong number
    that looks right. Better to say so and ask for a ``;`` export than to index it.
    """
    if delimiter != ",":
        return
    rows = [row for row in csv.reader(sample, delimiter=",") if row]
    width = len(rows[0])
    wider = next((i for i, row in enumerate(rows[1:], start=2) if len(row) > width), None)
    if wider is None or not any(re.search(r"\d,\d", line) for line in sample[1:]):
        return
    raise CorruptDocumentError(
        file_name,
        f"les lignes n'ont pas le même nombre de colonnes que l'en-tête (en-tête : {width} colonnes, ligne {wider} : "
        f"{len(rows[wider - 1])}) : la virgule y sert à la fois de séparateur et de virgule décimale, les nombres "
        "seraient coupés en deux",
        fix="réexportez le tableau en CSV avec le point-virgule comme séparateur (Excel : « CSV (séparateur : "
            f"point-virgule) » ; LibreOffice : séparateur de champ « ; »), ou mettez les nombres entre guillemets, "
            f"{REIMPORT}",
    )


def read_csv(text: str, file_name: str, *, rows_per_page: int = 20) -> ReaderOutput:
    """Each row becomes "colonne : valeur ; …" so a chunk stays readable without the header."""
    text = normalize_unicode(text.lstrip("\ufeff"))
    sample = [line for line in text.split("\n")[:50] if line.strip()]
    if not sample:
        raise _no_text(file_name)
    delimiter = _sniff_delimiter(sample)
    _check_decimal_commas(sample, delimiter, file_name)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [" ".join(h.split()) or f"colonne {i + 1}" for i, h in enumerate(next(reader))]
    pages: list[Page] = []
    rows: list[str] = []
    first_line = last_line = 2
    for row in reader:
        if not any(value.strip() for value in row):
            continue
        line_number = reader.line_num
        if not rows:
            first_line = line_number
        last_line = line_number
        names = header + [f"colonne {i + 1}" for i in range(len(header), len(row))]
        rows.append(" ; ".join(f"{name} : {' '.join(value.split())}" for name, value in zip(names, row)
                               if value.strip()))
        if len(rows) == rows_per_page:
            pages.append(Page(page=None, section=f"lignes {first_line}–{last_line}", text="\n".join(rows)))
            rows = []
    if rows:
        pages.append(Page(page=None, section=f"lignes {first_line}–{last_line}", text="\n".join(rows)))
    if not pages:
        raise EmptyDocumentError(file_name, "le fichier CSV ne contient qu'une ligne d'en-tête, sans données",
                                 fix=f"vérifiez l'export du tableau, {REIMPORT}")
    return ReaderOutput(pages=pages, title=None)
