"""Text normalisation for extracted documents: pure functions, no I/O, no third-party imports.

Why each step exists (all seen in the real corpus, see ``shared/corpus/SOURCES.md``):

- ``normalize_unicode``: PDF fonts emit ligature code points (ﬁ, ﬀ) and odd spaces; we fold those with NFKC but
  leave French typography (« », ’, œ, …, €, ², º) untouched because users quote it back.
- ``repair_ligature_markers`` / ``restore_dropped_ti``: some PDFs (CAE_Reglement_label.pdf) map the "ti"/"tt"
  ligature glyphs to nothing, a control character or ``@`` ("collecvités", "a@eint"). Markers are repaired with
  certainty; markerless drops only with a vocabulary learnt from the same document (``Lexicon``).
- ``fix_hyphenation``: end-of-line hyphens are joined only when the document itself says the word is not a
  compound ("Climat-Air-\\nÉnergie" keeps its hyphen, "déve-\\nlopper" does not).
- ``strip_running_lines``: running headers/footers and page numbers repeated on most pages pollute every chunk.
- ``strip_pictographs``: emoji used as bullets (kitelus guide) add noise to embeddings; letters are never touched.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "Lexicon",
    "build_lexicon",
    "clean_page_texts",
    "clean_text",
    "collapse_whitespace",
    "fix_hyphenation",
    "fix_inline_spacing",
    "margin_key",
    "normalize_unicode",
    "repair_ligature_markers",
    "restore_dropped_ti",
    "strip_pictographs",
    "strip_running_lines",
]

_LETTERS = r"[^\W\d_]"
_WORD_RE = re.compile(rf"{_LETTERS}+")
_COMPOUND_RE = re.compile(rf"{_LETTERS}+(?:-{_LETTERS}+)+")

# --------------------------------------------------------------------------------------------------- unicode

# Characters NFKC would fold that carry meaning in French documents: keep them as written.
_KEEP_AS_IS = frozenset("…‥´¨¯¸")
# Private-use glyphs that Symbol/Wingdings fonts use for bullets; other private-use glyphs are dropped.
_PUA_BULLETS = frozenset("\uf0b7\uf0a7\uf0d8\uf0a8\uf076\uf0fc\uf06e")
# Control characters that PDFs emit in place of a lost ligature: kept for ``repair_ligature_markers``.
_LIGATURE_MARKERS = "\x1f\x08"


@lru_cache(maxsize=4096)
def _map_char(ch: str) -> str:
    """Replacement for one non-ASCII or control character (cached: documents reuse few distinct characters)."""
    if ch in "\t\n" or ch in _LIGATURE_MARKERS:
        return ch
    if ch in "\u2028\u2029\x0b\x0c\x85":
        return "\n"
    if ch in "\u2010\u2011":  # (non-breaking) hyphen: plain hyphen so "Saint‑Malo" matches "Saint-Malo"
        return "-"
    if ch in _KEEP_AS_IS:
        return ch
    category = unicodedata.category(ch)
    if category == "Zs":  # every space separator, no-break and thin spaces included
        return " "
    if category == "Cf":  # soft hyphen, zero-width joiners, BOM, bidi marks: invisible, break words
        return ""
    if category == "Cc":
        return " "
    if category == "Co":
        return "•" if ch in _PUA_BULLETS else ""
    decomposition = unicodedata.decomposition(ch)
    if not decomposition.startswith("<"):
        return ch
    tag = decomposition.split(">", 1)[0] + ">"
    # Ligatures (ﬁ), letter-like compatibility forms, full-width and mathematical letters: fold.
    # Superscripts, fractions, circled numbers stay: "m²" is not "m2" for a reader.
    if tag in ("<compat>", "<font>", "<wide>", "<narrow>", "<noBreak>"):
        return unicodedata.normalize("NFKC", ch)
    return ch


def normalize_unicode(text: str) -> str:
    """NFKC for ligatures and spaces, NFC for the rest, Windows/Mac line ends to ``\\n``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A soft hyphen at a line end means the word continues on the next line.
    text = re.sub(r"\u00ad[ \t]*\n[ \t]*", "", text)
    text = "".join(c if c.isascii() and (c >= " " or c in "\t\n") else _map_char(c) for c in text)
    return unicodedata.normalize("NFC", text)


# Emoji and pictographs: only characters of category "So" (other symbol) in these blocks are removed, so letters,
# digits (❶ is "No") and typographic signs are never touched. Arrows (→) and geometric bullets (•, ■) are kept.
_PICTO_RANGES = (
    (0x1F000, 0x1FAFF),  # mahjong … emoticons, transport, supplemental symbols and pictographs
    (0x2600, 0x27BF),  # miscellaneous symbols (☎, ☀) and dingbats (✉, ✓, ➔)
    (0x2B00, 0x2BFF),  # miscellaneous symbols and arrows (⭐, ⬛)
    (0x2300, 0x23FF),  # miscellaneous technical (⌚, ⏰)
)
_PICTO_JOINERS = frozenset("\ufe0e\ufe0f\u20e3\u200d")


@lru_cache(maxsize=4096)
def _is_pictograph(ch: str) -> bool:
    code = ord(ch)
    if ch in _PICTO_JOINERS or 0xE0020 <= code <= 0xE007F:
        return True
    return unicodedata.category(ch) == "So" and any(lo <= code <= hi for lo, hi in _PICTO_RANGES)


def strip_pictographs(text: str) -> str:
    """Remove emoji/pictographs (and the space they leave at a line start), never letters."""
    if text.isascii():
        return text
    out = "".join(c for c in text if c.isascii() or not _is_pictograph(c))
    return out


# ------------------------------------------------------------------------------------------------ whitespace


def collapse_whitespace(text: str) -> str:
    """One space between words, no trailing spaces, at most one blank line between paragraphs."""
    text = re.sub(r"[ \t\f\v\x1f\x08]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def fix_inline_spacing(text: str) -> str:
    """Undo spaces that joining inline HTML/DOCX fragments puts before , . ) and after (.

    French puts a space before : ; ? ! and inside « », so those are left alone.
    """
    text = re.sub(r"(?<=\S) +(?=[,)\]]|\.(?:\s|$))", "", text)
    return re.sub(r"([(\[]) +", r"\1", text)


# ---------------------------------------------------------------------------------------------------- lexicon


@dataclass(frozen=True)
class Lexicon:
    """What one document teaches about its own words; drives the conservative repairs below.

    ``words``: lower-case word counts; ``compounds``: hyphenated forms written on one line ("climat-air-énergie");
    ``ti_words``: words that contain "ti" (trusted spellings in a document whose "ti" ligatures are broken);
    ``broken_ligatures``: True when the document shows the ligature loss (markers, or almost no "ti" at all).
    """

    words: Counter = field(default_factory=Counter)
    compounds: frozenset[str] = frozenset()
    ti_words: frozenset[str] = frozenset()
    broken_ligatures: bool = False


_MARKER_RE = re.compile(rf"(?<={_LETTERS})[{_LIGATURE_MARKERS}]|[{_LIGATURE_MARKERS}](?={_LETTERS})")
# Fragments around an end-of-line hyphen are not words: keep them out of the vocabulary.
_LINE_HYPHEN_RE = re.compile(rf"{_LETTERS}+-[ \t]*\n[ \t]*{_LETTERS}+")


def _ti_rate(text: str) -> tuple[float, int]:
    """Occurrences of "ti" per 1,000 characters of lower-case words (French prose: about 9 to 20)."""
    lower_words = " ".join(w for w in _WORD_RE.findall(text) if w.islower())
    return 1000 * lower_words.count("ti") / max(1, len(lower_words)), len(lower_words)


def build_lexicon(texts: Iterable[str], *, raw_texts: Iterable[str] | None = None) -> Lexicon:
    """Learn a document's vocabulary from its (marker-repaired) texts.

    ``raw_texts`` (the text before any repair) decides ``broken_ligatures``: ligature markers seen, or a "ti" rate
    ten times below normal French on enough text.
    """
    texts = list(texts)
    joined = "\n".join(texts)
    raw = "\n".join(raw_texts) if raw_texts is not None else joined
    markers = len(_MARKER_RE.findall(raw))
    rate, size = _ti_rate(raw)
    broken = markers >= 3 or (size >= 2000 and rate < 2.0)
    body = _LINE_HYPHEN_RE.sub(" ", joined)
    words = Counter(w.lower() for w in _WORD_RE.findall(body))
    compounds: set[str] = set()
    for compound in _COMPOUND_RE.findall(body):
        parts = compound.lower().split("-")
        # Every contiguous sub-chain counts: "climat-air-énergie" vouches for "air-énergie" too.
        for i in range(len(parts)):
            for j in range(i + 2, len(parts) + 1):
                compounds.add("-".join(parts[i:j]))
    ti_words = frozenset(w for w in words if "ti" in w and len(w) >= 4)
    return Lexicon(words=words, compounds=frozenset(compounds), ti_words=ti_words, broken_ligatures=broken)


# ------------------------------------------------------------------------------------------------- ligatures

_TT_RE = re.compile(r"(?<=[a-zà-öø-ÿœ])@(?=[a-zà-öø-ÿœ])")
_EMAIL_DOMAIN_RE = re.compile(r"[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE)


def repair_ligature_markers(text: str, *, broken_ligatures: bool = False) -> str:
    """Put back "ti" where the PDF left a control character, and "tt" where it left ``@``.

    Control characters next to a letter are never legitimate text, so they are always repaired. ``@`` inside a
    word is only read as "tt" in documents known to have broken ligatures, and never inside an e-mail address.
    """
    text = _MARKER_RE.sub("ti", text)
    if broken_ligatures:
        # A tab between two lower-case letters is the same lost ligature in these documents.
        text = re.sub(r"(?<=[a-zà-öø-ÿœ])\t(?=[a-zà-öø-ÿœ])", "ti", text)

        def _tt(match: re.Match[str]) -> str:
            rest = text[match.end() : match.end() + 80]
            return "@" if _EMAIL_DOMAIN_RE.match(rest) else "tt"

        text = _TT_RE.sub(_tt, text)
    return text


# Productive French suffixes that start with "ti": used only when the document's own vocabulary cannot vouch for
# a repair, and only after a stem ending in "a" or "c" ("-ation", "-ction", "-ctivité"), where a word without the
# "ti" almost never exists. "-ique", "-if", "-ive" are left out on purpose: "chaque", "grave", "chef" would break.
_TI_SUFFIX_RESTS = ("on", "ons", "onal", "onale", "onales", "onaux", "onnel", "onnelle", "onnels", "onnelles",
                    "onnement", "vité", "vités")
_NOT_BROKEN = frozenset({"bacon", "balcon", "flacon", "faucon", "gascon", "macon", "paon", "paons", "taon",
                         "taons", "laon", "flacons", "balcons", "faucons"})


def _match_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _with_ti(token: str, lexicon: Lexicon) -> str | None:
    """The word ``token`` becomes once its lost "ti" is put back, or None if no repair is vouched for."""
    lower = token.lower()
    if len(lower) < 3 or "ti" in lower or lower in _NOT_BROKEN:
        return None
    # Never at the very end: "par" + "ti" = "parti" would turn a valid word into another one.
    candidates = {lower[:i] + "ti" + lower[i:] for i in range(len(lower))}
    known = [c for c in candidates if c in lexicon.ti_words]
    if len(known) == 1:
        return _match_case(token, known[0])
    if known:
        return None  # ambiguous: leave as written
    for rest in _TI_SUFFIX_RESTS:
        stem = lower[: -len(rest)]
        if lower.endswith(rest) and len(stem) >= 2 and stem[-1] in "ac":
            return _match_case(token, stem + "ti" + rest)
    return None


def restore_dropped_ti(text: str, lexicon: Lexicon) -> str:
    """Put back "ti" dropped without a marker ("naonal" → "national", "eﬀec fs" → "effectifs").

    Only in documents with ``broken_ligatures``. A word that the document writes with its "ti" elsewhere wins;
    two fragments around a space are joined only if at least one of them never occurs as a word on its own.
    """
    if not lexicon.broken_ligatures:
        return text
    parts = re.split(rf"({_LETTERS}+)", text)  # odd indexes are words
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if i % 2 == 1:
            joined = None
            if i + 2 < len(parts) and parts[i + 1] in (" ", "\t"):
                left, right = part, parts[i + 2]
                candidate = (left + "ti" + right).lower()
                unseen = lexicon.words[left.lower()] == 0 or lexicon.words[right.lower()] == 0
                if unseen and candidate in lexicon.ti_words:
                    joined = _match_case(left, candidate)
            if joined is not None:
                out.append(joined)
                i += 3
                continue
            out.append(_with_ti(part, lexicon) or part)
        else:
            out.append(part)
        i += 1
    return "".join(out)


# ----------------------------------------------------------------------------------------------- hyphenation

# First elements that French writes with a hyphen ("ci-dessous", "éco-conception", "sous-produits").
_HYPHEN_PREFIXES = frozenset(
    "ci là sous sur éco eco co non quasi semi demi mi auto anti inter intra extra ex post pré pre contre après "
    "avant arrière grand grande mono multi pluri bi tri néo pseudo vice franco euro socio agro bio géo plate "
    "porte peut rez ultra à vis".split()
)
_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüœæ")
# Second elements that are whole words after a hyphen ("peut-être", "celle-ci", "y a-t-il").
_HYPHEN_SUFFIXES = frozenset(
    "être ci là même mêmes dessus dessous delà il ils elle elles on t y en vous nous moi toi lui leur eux dire "
    "vis".split()
)
# Word endings that show the right-hand fragment is the end of a cut word, not a second word.
_CONTINUATIONS = ("ment", "tion", "sion", "ité", "ique", "able", "ible", "age", "ance", "ence", "eur", "euse",
                  "isme", "iste", "ant", "ante", "ent", "ement", "aire", "ier", "ière", "ure", "elle", "ive", "if")
_HYPHEN_BREAK_RE = re.compile(rf"({_LETTERS}+)-[ \t]*\n[ \t]*({_LETTERS}+)(?=(.{{0,2}}))")


def fix_hyphenation(text: str, lexicon: Lexicon | None = None) -> str:
    """Join words cut at a line end, keeping the hyphen of real compounds (then only the line break goes)."""
    lexicon = lexicon or build_lexicon([text])

    def _join(match: re.Match[str]) -> str:
        left, right, after = match.group(1), match.group(2), match.group(3)
        low_left, low_right = left.lower(), right.lower()
        start = match.start()
        before = text[max(0, start - 80) : start]
        keep = (
            right[0].isupper()
            or after[:1] in ("-", "/", "@")  # "Hauts-\nde-France", a path, an e-mail
            or re.match(r"\.[a-z]", after) is not None  # "demarches-\nsimplifiees.fr"
            or re.search(r"(https?://|www\.|@)\S*$", before) is not None
            or f"{low_left}-{low_right}" in lexicon.compounds
        )
        if not keep and (low_left + low_right) in lexicon.words:
            return left + right
        if not keep:
            keep = (
                low_left in _HYPHEN_PREFIXES
                or low_right in _HYPHEN_SUFFIXES
                # French hyphenation cuts before a consonant: a fragment opening on a vowel is a second word
                # ("bois-\nénergie"), not the end of a cut one.
                or low_right[0] in _VOWELS
                or (
                    len(low_left) >= 4
                    and lexicon.words[low_left] > 0
                    and lexicon.words[low_right] > 0
                    and not low_right.startswith(_CONTINUATIONS)
                )
            )
        return f"{left}-{right}" if keep else left + right

    return _HYPHEN_BREAK_RE.sub(_join, text)


# --------------------------------------------------------------------------------------------- running lines

_PAGE_NUMBER_RE = re.compile(
    r"^(?:page|p\.)?\s*[-–—]?\s*(\d{1,4})\s*(?:(?:/|sur|de|of)\s*\d{1,4})?\s*[-–—]?$", re.IGNORECASE
)


def _line_key(line: str, page_number: int, offsets: Collection[int]) -> str:
    """Key under which a running line is the same on every page: its page number (only) becomes "#"."""
    key = re.sub(r"\s+", " ", line).strip().lower()
    key = re.sub(r"[–—‐-]", "-", key)
    return re.sub(r"\d+", lambda m: "#" if int(m.group()) - page_number in offsets else m.group(), key)


def margin_key(line: str) -> str:
    """Whitespace-free lower-case form under which a line is matched against text drawn in the margins."""
    return re.sub(r"\s+", "", line).lower()


def _in_margin(key: str, margin: Collection[str]) -> bool:
    return bool(key) and (key in margin or (len(key) >= 6 and any(key in text for text in margin)))


def strip_running_lines(
    pages: Sequence[str],
    margins: Sequence[Collection[str] | None] | None = None,
    *,
    min_share: float = 0.5,
    zone: int = 3,
) -> list[str]:
    """Remove running headers/footers and page numbers.

    A candidate line is in the page margins: if ``margins`` gives, per page, the whitespace-free lower-case texts
    drawn in the top/bottom margins (from PDF geometry), a line is a candidate when it is one of them (or, if at
    least 6 characters long, part of one); otherwise the first and last lines are, and page numbers among the first
    and last ``zone`` lines. A candidate is removed when the same line (digits aside) is a candidate
    on at least ``min_share`` of the pages, or when it is a page number that follows the page index.
    """
    n = len(pages)
    split_pages = [page.split("\n") for page in pages]
    candidates: list[set[int]] = []
    for index, lines in enumerate(split_pages):
        margin = margins[index] if margins is not None else None
        if margin is not None:
            chosen = {i for i, line in enumerate(lines) if _in_margin(margin_key(line), margin)}
        else:
            # Without geometry only the outermost line at each end (page numbers aside) can be a running line:
            # a template question repeated as the second line of every fiche is content, not a header.
            filled = [i for i, line in enumerate(lines) if line.strip()]
            ends = filled[:zone] + filled[-zone:]
            chosen = {i for i in ends if _PAGE_NUMBER_RE.match(lines[i].strip())}
            texts = [i for i in filled if i not in chosen]
            if texts:
                chosen |= {texts[0], texts[-1]}
        candidates.append(chosen)

    threshold = max(2, math.ceil(min_share * n))
    # Page numbers: the printed number minus the page index is the same on most pages ("5" on page 5, "5/42").
    offsets: Counter = Counter()
    for index, (lines, chosen) in enumerate(zip(split_pages, candidates)):
        offsets.update({int(m.group(1)) - (index + 1) for i in chosen
                        if (m := _PAGE_NUMBER_RE.match(lines[i].strip()))})
    offset_ok = {off for off, count in offsets.items() if count >= threshold}
    page_share: Counter = Counter()
    for index, (lines, chosen) in enumerate(zip(split_pages, candidates)):
        page_share.update({_line_key(lines[i], index + 1, offset_ok or {0}) for i in chosen})
    repeated = {key for key, count in page_share.items() if count >= threshold} if n >= 3 else set()

    cleaned: list[str] = []
    for index, (lines, chosen) in enumerate(zip(split_pages, candidates)):
        in_margin = margins is not None and margins[index] is not None
        kept = []
        for i, line in enumerate(lines):
            if i in chosen:
                number = _PAGE_NUMBER_RE.match(line.strip())
                if _line_key(line, index + 1, offset_ok or {0}) in repeated:
                    continue
                if number and (in_margin or int(number.group(1)) - (index + 1) in offset_ok):
                    continue
            kept.append(line)
        cleaned.append("\n".join(kept))
    return cleaned


# --------------------------------------------------------------------------------------------------- pipelines


def clean_text(text: str, lexicon: Lexicon | None = None) -> str:
    """Clean one text (a Markdown section, an HTML paragraph, a quote to compare with cleaned pages).

    Pass the document's ``Lexicon`` to apply exactly the repairs its pages received.
    """
    text = strip_pictographs(normalize_unicode(text))
    broken = lexicon.broken_ligatures if lexicon is not None else False
    text = repair_ligature_markers(text, broken_ligatures=broken)
    if lexicon is None:
        lexicon = build_lexicon([text])
    text = fix_hyphenation(text, lexicon)
    text = restore_dropped_ti(text, lexicon)
    return collapse_whitespace(text)


def clean_page_texts(
    raw_pages: Sequence[str], margins: Sequence[Collection[str] | None] | None = None
) -> tuple[list[str], Lexicon]:
    """Whole-document cleaning of PDF pages: the vocabulary and the running lines come from all pages at once."""
    pages = [strip_pictographs(normalize_unicode(page)) for page in raw_pages]
    probe = build_lexicon([], raw_texts=pages)
    pages = [repair_ligature_markers(page, broken_ligatures=probe.broken_ligatures) for page in pages]
    pages = [re.sub(r"[ \t]+\n", "\n", page) for page in pages]
    pages = strip_running_lines(pages, margins)
    lexicon = build_lexicon(pages, raw_texts=raw_pages)
    pages = [collapse_whitespace(restore_dropped_ti(fix_hyphenation(page, lexicon), lexicon)) for page in pages]
    return pages, lexicon
