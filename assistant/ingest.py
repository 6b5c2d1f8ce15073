"""Files → cleaned pages → chunks with exact provenance (file, page or section, character offsets).

The only module the rest of the package calls to read documents. Format readers live in ``assistant.readers``;
this module owns type detection, limits, hashing and chunking (the only importer of langchain_text_splitters).
"""

from __future__ import annotations

import hashlib
import re
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from assistant.errors import (
    CorruptDocumentError,
    DocumentTooLargeError,
    EmptyDocumentError,
    EncryptedDocumentError,
    UnsupportedFormatError,
)
from assistant.readers import (
    Page,
    ReaderOutput,
    read_csv,
    read_docx,
    read_html,
    read_markdown,
    read_odt,
    read_pdf,
    read_text,
)
from assistant.schemas import Chunk
from assistant.textclean import Lexicon

__all__ = ["IngestLimits", "Page", "ParsedDocument", "chunk_document", "context_header", "detect_type", "parse_file",
           "search_text"]

DOC_TYPES = ("pdf", "md", "html", "txt", "docx", "odt", "csv")
ACCEPTED = "PDF, Markdown (.md), HTML, texte (.txt), Word (.docx), OpenDocument (.odt) ou CSV"
_EXTENSIONS = {
    ".pdf": "pdf", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".xhtml": "html",
    ".txt": "txt", ".text": "txt", "": "txt", ".docx": "docx", ".odt": "odt", ".csv": "csv", ".tsv": "csv",
}
# Formats people will try to import, with the export that fixes it.
_KNOWN_UNSUPPORTED = {
    ".xlsx": "une feuille de calcul Excel : exportez-la en CSV (Fichier > Enregistrer sous > CSV)",
    ".xls": "une feuille de calcul Excel : exportez-la en CSV (Fichier > Enregistrer sous > CSV)",
    ".ods": "une feuille de calcul : exportez-la en CSV",
    ".doc": "un document Word ancien format : réenregistrez-le en .docx ou en PDF",
    ".pptx": "une présentation : exportez-la en PDF",
    ".ppt": "une présentation : exportez-la en PDF",
    ".odp": "une présentation : exportez-la en PDF",
    ".rtf": "un document RTF : réenregistrez-le en .docx ou en PDF",
}


@dataclass
class ParsedDocument:
    """A readable document: cleaned pages plus what is needed to cite and to detect re-imports."""

    path: Path
    file: str
    doc_type: str
    pages: list[Page]
    page_count: int
    empty_pages: list[int]
    sha256: str
    title: str | None
    lexicon: Lexicon | None = field(default=None, repr=False, compare=False)
    """The document's own vocabulary: clean a quote with ``textclean.clean_text(quote, doc.lexicon)`` to compare."""


@dataclass
class IngestLimits:
    """What one file may cost. Each limit turns a hostile or absurd file into a French refusal, never a hang.

    ``max_bytes`` is the file size (``ASSISTANT_SERVER__MAX_UPLOAD_MB``); ``max_unpacked_bytes`` bounds what a
    Word/OpenDocument archive declares once unzipped (zip bombs); ``max_stream_bytes`` bounds each decompressed PDF
    stream (decompression bombs); ``max_seconds`` bounds the reading time of one file (checked between pages and
    inside a page's text extraction).
    """

    max_bytes: int = 50_000_000
    max_pages: int = 2000
    max_seconds: float = 120.0
    max_stream_bytes: int = 20_000_000
    max_unpacked_bytes: int = 200_000_000


# ------------------------------------------------------------------------------------------------- detection


def _unsupported(file_name: str, what: str) -> UnsupportedFormatError:
    return UnsupportedFormatError(file_name, f"format non pris en charge ({what})",
                                  fix=f"formats acceptés : {ACCEPTED} ; convertissez le fichier puis réimportez-le")


def _zip_type(path: Path, file_name: str, suffix: str, max_unpacked_bytes: int | None = None) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            # zipfile never reads past a member's declared size, so the declared total bounds what readers unpack.
            unpacked = sum(info.file_size for info in infos)
            mimetype = ""
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise CorruptDocumentError(file_name, "l'archive du document est illisible ou tronquée",
                                   fix="réenregistrez le document depuis son logiciel d'origine, puis réimportez-le"
                                   ) from e
    if max_unpacked_bytes is not None and unpacked > max_unpacked_bytes:
        raise DocumentTooLargeError(
            file_name, f"une fois décompressé, le document occuperait {_human_size(unpacked)}, au-delà de la limite "
            f"de {_human_size(max_unpacked_bytes)} (fichier anormal, peut-être une « bombe de décompression »)",
            fix="vérifiez la provenance du fichier ; réenregistrez-le depuis son logiciel d'origine ou exportez-le "
                "en PDF, puis réimportez-le")
    if "word/document.xml" in names:
        return "docx"
    if mimetype == "application/vnd.oasis.opendocument.text" or (not mimetype and "content.xml" in names
                                                                   and suffix == ".odt"):
        return "odt"
    if "xl/workbook.xml" in names or mimetype.endswith("spreadsheet"):
        raise _unsupported(file_name, _KNOWN_UNSUPPORTED[".xlsx"])
    if "ppt/presentation.xml" in names or mimetype.endswith("presentation"):
        raise _unsupported(file_name, _KNOWN_UNSUPPORTED[".pptx"])
    raise _unsupported(file_name, "archive ZIP qui n'est ni un .docx ni un .odt")


def _utf16_without_bom(head: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" for text saved as UTF-16 without its byte-order mark (some "Unicode text" exports)."""
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    odd, even = sample[1::2], sample[0::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def detect_type(path: str | Path, limits: IngestLimits | None = None) -> str:
    """Document type from the content first (magic bytes), then the extension.

    A file whose content contradicts its extension (a text file renamed ``.pdf``) is refused with a message that
    says what it really is, rather than read as garbage.
    """
    path = Path(path)
    file_name = path.name
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(8192)
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(path, file_name, suffix, limits.max_unpacked_bytes if limits else None)
    if head.startswith(b"\xd0\xcf\x11\xe0") and suffix in (".docx", ".odt", ".xlsx", ".pptx"):
        # A modern Office file inside an OLE container is what Word/LibreOffice write when a password is set.
        raise EncryptedDocumentError(
            file_name, "le document est protégé par un mot de passe (chiffré)",
            fix="ouvrez-le avec son mot de passe et enregistrez une copie sans protection, puis réimportez-le")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unsupported(file_name, _KNOWN_UNSUPPORTED.get(suffix, "ancien format Office (.doc/.xls/.ppt)"))
    images = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")
    if head.startswith(images):
        raise _unsupported(file_name, "une image : passez-la dans un logiciel d'OCR et importez le texte ou le PDF"
                                      " obtenu")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")) and not (
            _utf16_without_bom(head) and suffix in (".txt", ".text", ".csv", ".tsv", ".md", ".markdown", "")):
        raise _unsupported(file_name, f"fichier binaire{f' {suffix}' if suffix else ''}")

    expected = _EXTENSIONS.get(suffix)
    if suffix == ".pdf":
        raise CorruptDocumentError(
            file_name, "le fichier porte l'extension .pdf mais son contenu n'est pas un PDF (c'est du texte)",
            fix="ouvrez-le pour vérifier son contenu, puis exportez-le en vrai PDF ou renommez-le avec sa bonne "
                "extension (.txt, .html, .md…) avant de le réimporter",
        )
    if suffix in (".docx", ".odt"):
        raise CorruptDocumentError(
            file_name, f"le fichier porte l'extension {suffix} mais n'est pas un document {suffix} valide",
            fix="réenregistrez-le depuis Word ou LibreOffice, puis réimportez-le",
        )
    if suffix in _KNOWN_UNSUPPORTED:
        raise _unsupported(file_name, _KNOWN_UNSUPPORTED[suffix])
    text_head = _decode(head[:2048]) if _utf16_without_bom(head) else head[:2048].decode("utf-8", "ignore")
    sniff = text_head.lstrip("\ufeff \t\r\n").lower()
    if expected != "md" and (sniff.startswith(("<!doctype html", "<html")) or
                             (expected in (None, "txt") and re.search(r"<(body|p|div|h1)[\s>]", sniff))):
        return "html"
    if expected is None:
        raise _unsupported(file_name, f"extension {suffix}")
    return expected


# --------------------------------------------------------------------------------------------------- parsing


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 (French Office exports), else Latin-1 (never fails)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if encoding := _utf16_without_bom(data[:8192]):
        return data.decode(encoding, "replace")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _human_size(size: int) -> str:
    """French notation: "1,5 Mo", "820 Ko"."""
    if size >= 1_000_000:
        return f"{size / 1e6:.1f} Mo".replace(".", ",")
    return f"{max(1, round(size / 1e3))} Ko"


def parse_file(path: str | Path, limits: IngestLimits | None = None) -> ParsedDocument:
    """Read one file into cleaned, citable pages. Raises a ``DocumentError`` (French message + fix) if it cannot."""
    limits = limits or IngestLimits()
    path = Path(path)
    file_name = path.name
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CorruptDocumentError(file_name, f"le fichier est introuvable ou illisible ({e.strerror})",
                                   fix="vérifiez le chemin et les droits de lecture, puis réimportez-le") from e
    if size == 0:
        raise EmptyDocumentError(file_name, "le fichier est vide (0 octet)",
                                 fix="vérifiez la copie ou le téléchargement du fichier, puis réimportez-le")
    if size > limits.max_bytes:
        raise DocumentTooLargeError(
            file_name,
            f"le fichier pèse {_human_size(size)}, au-delà de la limite de {_human_size(limits.max_bytes)}",
            fix="découpez-le en plusieurs fichiers, ou demandez à l'administrateur d'augmenter la limite "
                "(ASSISTANT_SERVER__MAX_UPLOAD_MB), puis réimportez-le",
        )
    doc_type = detect_type(path, limits)
    data = path.read_bytes()
    deadline = time.monotonic() + limits.max_seconds

    output: ReaderOutput
    if doc_type == "pdf":
        output = read_pdf(path, file_name, max_pages=limits.max_pages, deadline=deadline,
                          max_stream_bytes=limits.max_stream_bytes)
    elif doc_type == "docx":
        output = read_docx(path, file_name)
    elif doc_type == "odt":
        output = read_odt(path, file_name)
    else:
        text = _decode(data).replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            raise EmptyDocumentError(file_name, "le fichier ne contient que des espaces",
                                     fix="vérifiez l'export du fichier, puis réimportez-le")
        reader = {"md": read_markdown, "html": read_html, "txt": read_text, "csv": read_csv}[doc_type]
        output = reader(text, file_name)
    if doc_type != "pdf" and time.monotonic() > deadline:
        # Other readers cannot be stopped midway; still, a file that took too long is refused, not kept half-done.
        raise DocumentTooLargeError(file_name, f"la lecture a dépassé la durée maximale ({limits.max_seconds:g} s)",
                                    fix="découpez-le en plusieurs fichiers, puis réimportez-le")

    pages = output.pages if doc_type in ("pdf", "csv") else pack_sections(output.pages)
    return ParsedDocument(
        path=path,
        file=file_name,
        doc_type=doc_type,
        pages=pages,
        page_count=len(pages),
        empty_pages=output.empty_pages,
        sha256=hashlib.sha256(data).hexdigest(),
        title=output.title,
        lexicon=output.lexicon,
    )


# -------------------------------------------------------------------------------------------------- chunking

# Bump when reading or chunking changes what a file gives: indexed files are then re-read on the next ingestion.
PIPELINE_VERSION = 4  # 3: Markdown comments dropped; 4: front-matter lists left out, empty sections said
SECTION_PACK_CHARS = 700
SECTION_ALONE_CHARS = 250
_LABEL_CHARS = 160


def pack_sections(pages: list[Page], max_chars: int = SECTION_PACK_CHARS,
                  alone_chars: int = SECTION_ALONE_CHARS) -> list[Page]:
    """Join runs of consecutive short sections into one citable unit of at most ``max_chars``.

    Action sheets and web pages are made of many tiny sections (« Porteur de projet : Dinan Agglomération »,
    « Cibles : agriculteurs »). Alone, each one is a passage that matches any question naming the territory and
    answers none: measured on dev.jsonl, half of the Markdown passages were under 200 characters and crowded the
    dense candidates out. Packed, a budget travels with its calendar and its sources. A section of
    ``alone_chars`` or more keeps its own passage (its meaning is not diluted by its neighbours).
    """
    packed: list[Page] = []
    group: list[Page] = []

    def flush() -> None:
        if not group:
            return
        if len(group) == 1:
            packed.append(group[0])
        else:
            labels = list(dict.fromkeys(p.section for p in group if p.section))
            label = " · ".join(labels)
            if len(label) > _LABEL_CHARS:
                label = label[:_LABEL_CHARS].rsplit(" ", 1)[0] + " …"
            packed.append(Page(page=None, section=label or None, text="\n\n".join(p.text for p in group)))
        group.clear()

    for page in pages:
        alone = page.page is not None or len(page.text) >= alone_chars
        size = sum(len(p.text) + 2 for p in group)
        if alone or size + len(page.text) > max_chars:
            flush()
        group.append(page)
        if alone:
            flush()
    flush()
    return packed


SEPARATORS = ["\n\n", "\n", ". ", " ", ""]
MIN_CHUNK_CHARS = 20


def _has_real_text(text: str) -> bool:
    """Enough words to be worth retrieving: at least 20 characters and some letters (not just "12 / 42 …")."""
    return len(" ".join(text.split())) >= MIN_CHUNK_CHARS and sum(c.isalpha() for c in text) >= 3


def _splitter(chunk_chars: int, overlap: int):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # keep_separator="end": a sentence keeps its ". " and the next chunk starts on a word, not on punctuation.
    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_chars, chunk_overlap=overlap, separators=SEPARATORS, keep_separator="end",
        strip_whitespace=True,
    )


def _splitter_spans(splitter, text: str) -> list[tuple[int, int]]:
    spans = []
    cursor = 0
    for piece in splitter.split_text(text):
        # Pieces are substrings in order; searching from just after the previous start finds the right one even
        # when the same sentence occurs twice on the page.
        start = text.find(piece, cursor)
        if start < 0:
            start = text.find(piece)
        if start < 0:  # cannot happen with keep_separator; never emit a chunk whose offsets would lie
            continue
        spans.append((start, start + len(piece)))
        cursor = start + 1
    return spans


def _row_spans(text: str, chunk_chars: int) -> list[tuple[int, int]]:
    """CSV: whole rows only, packed up to ``chunk_chars`` (a longer row is a chunk of its own)."""
    spans: list[tuple[int, int]] = []
    start = end = 0
    for match in re.finditer(r"[^\n]+", text):
        if end > start and match.end() - start > chunk_chars:
            spans.append((start, end))
            start = match.start()
        elif end == start:
            start = match.start()
        end = match.end()
    if end > start:
        spans.append((start, end))
    return spans


def chunk_id(project: str, file: str, where: int | str, start: int, content_hash: str) -> str:
    """Stable id: the same file content at the same place in the same project always gets the same id."""
    return hashlib.sha256(f"{project}|{file}|{where}|{start}|{content_hash}".encode()).hexdigest()[:32]


def chunk_document(
    doc: ParsedDocument,
    project: str,
    *,
    chunk_chars: int = 900,
    overlap: int = 120,
    ingested_at: str | None = None,
) -> list[Chunk]:
    """Split each page on its own (chunks never cross pages); ``page.text[start:end] == chunk.text``."""
    if chunk_chars <= 0 or not 0 <= overlap < chunk_chars:
        raise ValueError(f"chunk_chars={chunk_chars} and overlap={overlap}: need 0 <= overlap < chunk_chars")
    ingested_at = ingested_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    splitter = _splitter(chunk_chars, overlap)
    labels = [p.page if p.page is not None else (p.section or "") for p in doc.pages]
    seen: Counter = Counter()
    chunks: list[Chunk] = []
    for page, label in zip(doc.pages, labels):
        seen[label] += 1
        # Two sections with the same heading would share ids: number the repeats (first one keeps the plain label).
        where = label if seen[label] == 1 else f"{label}#{seen[label]}"
        if not page.text.strip():
            continue
        if doc.doc_type == "csv":
            spans = _row_spans(page.text, chunk_chars)
        else:
            spans = _splitter_spans(splitter, page.text)
        for start, end in spans:
            text = page.text[start:end]
            if not _has_real_text(text):
                continue
            chunks.append(Chunk(
                id=chunk_id(project, doc.file, where, start, doc.sha256),
                project=project,
                file=doc.file,
                doc_type=doc.doc_type,
                page=page.page,
                section=page.section,
                start=start,
                end=end,
                text=text,
                content_hash=doc.sha256,
                ingested_at=ingested_at,
            ))
    return chunks


def context_header(title: str | None, section: str | None) -> str:
    """What a chunk is about: its document's title and its section path. Used for search, never cited.

    A chunk such as « Moyens financiers : 9 606 200 € » does not say which action it funds; its header does.
    """
    parts = [title] if title else []
    if section and section != title:
        parts.append(section)
    return " — ".join(parts)


def search_text(chunk: Chunk, title: str | None) -> str:
    """The text embedded and indexed for a chunk: its context header, then its own text (offsets stay exact)."""
    head = context_header(title, chunk.section)
    return f"{head}\n{chunk.text}" if head and not chunk.text.startswith(head) else chunk.text
