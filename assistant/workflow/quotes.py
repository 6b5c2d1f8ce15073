"""Quote and figure checks: does a quoted extract really occur in a passage, does a figure occur in its quote.

The local model copies quotes imperfectly (typographic apostrophes, line breaks from PDFs, a capital letter):
those differences are forgiven, a single changed word is not.
"""

from __future__ import annotations

import math
import re
import unicodedata

MIN_QUOTE_CHARS = 15
MIN_QUOTE_WORDS = 3

_TRANSLATE = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2011": "-", "\u2010": "-",
    "\u2026": "...",
})
_SPACES = re.compile(r"\s+")
# Outer quotation marks, ellipses and spaces that the model adds around a quote are not part of it.
_EDGES = "\"' .…[]()"


def normalize(text: str) -> str:
    """Compare-ready text: NFKC (no-break spaces, PDF ligatures), one apostrophe, one space, casefolded."""
    text = unicodedata.normalize("NFKC", text or "").translate(_TRANSLATE)
    text = text.replace('" ', '"').replace(' "', '"')  # French guillemets carry inner spaces
    return _SPACES.sub(" ", text).strip().casefold()


def clean_quote(quote: str) -> str:
    return normalize(quote).strip(_EDGES)


def is_substantial(quote: str) -> bool:
    """A quote of two words proves nothing: it occurs in any text."""
    q = clean_quote(quote)
    return len(q) >= MIN_QUOTE_CHARS and len(q.split()) >= MIN_QUOTE_WORDS


def quote_occurs(quote: str, text: str) -> bool:
    """True when ``quote`` is substantial and occurs verbatim (modulo typography and case) in ``text``."""
    if not quote or not is_substantial(quote):
        return False
    return clean_quote(quote) in normalize(text)


# A number as written in French or English: "14 000", "14.000", "12,5", "3.5", "1 234,56".
_NUMBER = re.compile(r"\d{1,3}(?:[ \u00a0\u202f.]\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?")


def numbers_in(text: str) -> set[float]:
    """Every value a number in ``text`` can mean ("1.200" is 1200 in French and 1.2 in English)."""
    found: set[float] = set()
    for raw in _NUMBER.findall(unicodedata.normalize("NFKC", text or "")):
        compact = raw.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        readings = {compact.replace(".", "").replace(",", "."), compact.replace(",", ".")}
        if compact.count(".") == 1 and "," not in compact:
            readings.add(compact)
        for reading in readings:
            try:
                found.add(float(reading))
            except ValueError:
                continue
    return found


def figure_supported(value: float, quote: str) -> bool:
    """True when ``value`` is written in ``quote``, possibly in thousands or millions ("1,2 million")."""
    for number in numbers_in(quote):
        for scale in (1, 1e3, 1e6, 1e9):
            if math.isclose(number * scale, value, rel_tol=1e-6, abs_tol=1e-9):
                return True
    return False


def unsupported_numbers(text: str, quote: str) -> list[float]:
    """Numbers written in ``text`` that its quote does not contain: a sign of an invented figure."""
    return sorted(n for n in numbers_in(text) if not figure_supported(n, quote))
