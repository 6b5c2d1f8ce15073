"""Checks that keep answers honest: citations must be supported by the cited passage, numbers must be sourced.

All plain functions on strings, so the rules are the same whichever model wrote the answer.
"""

from __future__ import annotations

import re
import unicodedata

from .schemas import Citation, Passage

CITE_RE = re.compile(r"\[(\d{1,2}(?:\s*[,;]\s*\d{1,2})*)\]")
NOT_COVERED = "NON_COUVERT"
_WORD = re.compile(r"[a-zà-öø-ÿœæ]+", re.IGNORECASE)
_STOP = set("""le la les un une des du de d l au aux et ou en dans sur pour par avec sans que qui quoi dont est sont
être a ont avoir ce cette ces se sa son ses leur leurs il elle ils elles on nous vous plus moins pas ne n y
comme aussi entre lors ainsi très tout tous toute toutes fait faire peut doit selon chaque afin""".split())


def normalise(text: str) -> str:
    """NFKC, one kind of apostrophe and quote, collapsed whitespace: the form quotes are compared in."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    text = text.replace("«\u00a0", "« ").replace("\u00a0»", " »")
    return re.sub(r"\s+", " ", text).strip()


def quote_in_passage(quote: str, passage: str) -> bool:
    q = normalise(quote).lower()
    return bool(q) and q in normalise(passage).lower()


def content_words(text: str) -> set[str]:
    return {w.lower()[:7] for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in _STOP}


def split_sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý«\"(])|\n+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def _paragraphs(text: str) -> str:
    """Blank lines stay (a heading never runs into the sentence after it); a single line break is a space (PDF
    text wraps lines in the middle of sentences: cutting there would split the very sentence that supports a claim)."""
    text = re.sub(r"[^\S\n]+", " ", text)
    return re.sub(r" ?\n(?!\n) ?(?<!\n\n)", " ", re.sub(r"\n\s*\n\s*", "\n\n", text))


def is_title_line(text: str) -> bool:
    """A title or heading rather than a sentence: most of its words capitalised, no closing punctuation.

    « REGLEMENT DU LABEL Economie Circulaire du programme Territoire Engagé Transition Ecologique » shares the words of
    « Quelles collectivités peuvent candidater au label Économie circulaire ? » and answers nothing: quoted as the
    closest extract, it stood where the page's next sentence (« Les collectivités candidates sont … ») answers."""
    words = _WORD.findall(text)
    if len(words) < 3 or text.rstrip(" »\"").endswith((".", "!", "?", ";")):
        return False
    return sum(w[0].isupper() for w in words) / len(words) >= 0.7


def best_quote(sentence: str, passage: str, max_chars: int = 220, *, answers_only: bool = False, skip: str = ""
               ) -> tuple[str, float]:
    """The passage sentence sharing most content words with ``sentence``, and that share (0–1).

    ``answers_only``: a sentence of the document that is itself a question (« Quelle solution avons-nous
    trouvée ? ») shares the words of a question and answers nothing; it is not a candidate. Nor is a sentence
    holding ``skip`` (after normalisation), if given."""
    want = content_words(CITE_RE.sub("", sentence))
    best, best_score = "", 0.0
    skipped = normalise(skip).lower() if skip.strip() else None
    # Whitespace collapsed only: the quote shown to users keeps the document's own characters (’, «, ligatures…).
    for cand in split_sentences(_paragraphs(passage)):
        if answers_only and (cand.rstrip(" »\"").endswith("?") or is_title_line(cand)):
            continue
        if skipped and skipped in normalise(cand).lower():
            continue
        score = len(want & content_words(cand)) / max(len(want), 1)
        if score > best_score:
            best, best_score = cand, score
    if len(best) > max_chars:  # keep a verbatim window around the first shared word
        words = content_words(sentence)
        pos = next((m.start() for m in _WORD.finditer(best) if m.group().lower()[:7] in words), 0)
        start = max(0, min(pos - 40, len(best) - max_chars))
        # Cut on word boundaries: a quote that starts mid-word reads like an error.
        while start > 0 and best[start - 1].isalnum():
            start -= 1
        end = min(len(best), start + max_chars)
        while end < len(best) and best[end].isalnum():
            end += 1
        best = best[start:end].strip()
    return best, best_score


def verify_citations(answer: str, passages: list[Passage], min_support: float = 0.3, auto_support: float = 0.5,
                     question: str = "") -> tuple[str, list[Citation], list[str]]:
    """Map [n] markers to passages, keep only those whose passage supports the citing sentence.

    Small models often forget the markers: a sentence left without a valid one is attributed to the passage
    that supports it best, when that support is strong (``auto_support``), so sourced facts keep their page.
    Returns the answer with renumbered markers, the verified citations and French flags for dropped ones.
    """
    flags: list[str] = []
    kept: dict[int, Citation] = {}  # passage number → citation
    renumber: dict[int, int] = {}

    def cite(n: int, quote: str) -> str:
        if n not in renumber:
            renumber[n] = len(renumber) + 1
            c = passages[n - 1].chunk
            kept[n] = Citation(n=renumber[n], file=c.file, page=c.page, section=c.section, quote=quote,
                               project=c.project)
        return f"[{renumber[n]}]"

    def check(sentence: str) -> str:
        """Keep the supported markers of one sentence, or attribute it when it has none."""
        marks: list[str] = []

        def _replace(match: re.Match) -> str:
            here = []
            for raw in re.split(r"\s*[,;]\s*", match.group(1)):
                n = int(raw)
                if not 1 <= n <= len(passages):
                    flags.append(f"citation [{n}] retirée : aucun extrait ne porte ce numéro")
                    continue
                passage = passages[n - 1]
                quote, support = best_quote(sentence, passage.chunk.text)
                if support < min_support or not quote_in_passage(quote, passage.chunk.text) or \
                        adds_unsourced(sentence, question, passage.chunk.text):
                    flags.append(f"citation [{n}] retirée : l'extrait ({passage.label}) ne soutient pas la phrase")
                    continue
                here.append(cite(n, quote))
            marks.extend(here)
            return "".join(here)

        sentence = CITE_RE.sub(_replace, sentence)
        if not marks and len(content_words(sentence)) >= 3 and passages:
            scored = [(best_quote(sentence, p.chunk.text), n) for n, p in enumerate(passages, 1)]
            (quote, support), n = max(scored, key=lambda t: t[0][1])
            if support >= auto_support and quote_in_passage(quote, passages[n - 1].chunk.text):
                sentence = _append_mark(sentence, cite(n, quote))
        return sentence

    # Line by line so that lists stay lists.
    lines = [" ".join(check(s) for s in split_sentences(line)) for line in answer.strip().splitlines()]
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", "\n".join(line for line in lines if line.strip()))
    return text, sorted(kept.values(), key=lambda c: c.n), flags


def adds_unsourced(sentence: str, question: str, passage: str, min_share: float = 0.5) -> bool:
    """Most of what the sentence says beyond the question is absent from the passage: repeating the question's
    words is no support for the rest (« réparti entre actions de l'EPCI (Entreprise Privée de l'État) et actions
    citoyennes » — the question's words, and an invented expansion of the acronym)."""
    if not question:
        return False
    new = content_words(CITE_RE.sub("", sentence)) - content_words(question)
    if len(new) < 2:
        return False
    return len(new & content_words(passage)) / len(new) < min_share


def _append_mark(sentence: str, mark: str) -> str:
    """Put the marker before the final punctuation: "… du territoire [1]."."""
    m = re.search(r"[.!?…]+$", sentence)
    return f"{sentence[:m.start()]} {mark}{m.group()}" if m else f"{sentence} {mark}"


# -- named things ----------------------------------------------------------------------------------
_ACRONYM = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]{2,}(?![\w-])")
_YEAR = re.compile(r"(?<![\d,.])(?:19|20)\d{2}(?![\d,])")
_QUOTED = re.compile(r"«\s*([^«»]{2,60}?)\s*»|\"([^\"]{2,60})\"")
_ROMAN = re.compile(r"[IVXLC]+")


def key_terms(question: str) -> list[str]:
    """What a question names precisely: acronyms (SRDEII), years (2023) and short quoted names (« Cap Fréhel »).

    If the indexed documents never mention one of them, they cannot answer the question: this is a sure sign of
    « not covered », where the similarity of the best passage is not (a question on a missing scheme is still
    close, in meaning, to the documents about neighbouring schemes).
    """
    terms = [m.group() for m in _ACRONYM.finditer(question) if not _ROMAN.fullmatch(m.group())]
    terms += _YEAR.findall(question)
    for m in _QUOTED.finditer(question):
        name = (m.group(1) or m.group(2)).strip()
        if len(name.split()) <= 4:  # a long quoted title is paraphrased too often to be looked up verbatim
            terms.append(name)
    # « Combien de campings… ? »: documents that never name what is counted cannot count it (singular or plural).
    counted = _COUNTED.search(question)
    if counted and counted.group(1).lower() not in _VAGUE_COUNTED:
        terms.append(re.sub(r"(?<=\w{3})[sx]$", "", counted.group(1)))
    return list(dict.fromkeys(terms))


_COUNTED = re.compile(r"\bcombien\s+(?:de|d['’])\s*([^\W\d_]{4,})", re.IGNORECASE)
# Counted nouns that documents rarely write as such (« combien de fois », « de temps »): never a sign of absence.
_VAGUE_COUNTED = {"fois", "temps", "personnes", "gens", "euros", "argent", "moyens", "places", "jours", "années",
                  "mois", "semaines", "heures", "minutes"}


_ACCENTED = {"a": "aàâä", "e": "eéèêë", "i": "iîï", "o": "oôö", "u": "uùûü", "c": "cç"}
_LINKS = r"(?:(?:de|du|des|la|le|les|d|l|et|à|a|en|pour|sur|aux?)[\s'’]+)*"


def expansion_regex(acronym: str) -> re.Pattern | None:
    """Words whose initials spell the acronym, small link words allowed between them: « SRDEII » matches
    « schéma régional de développement économique, d'innovation et d'internationalisation »."""
    letters = [ch.lower() for ch in acronym if ch.isalpha()]
    if len(letters) < 2 or len(letters) != len(acronym):
        return None
    words = [f"[{_ACCENTED.get(ch, ch)}]\\w*" for ch in letters]
    return re.compile(r"\b" + (r"[\s,'’-]+" + _LINKS).join(words) + r"\b", re.IGNORECASE)


def term_pattern(term: str) -> str:
    """Hyphens, apostrophes and spaces are interchangeable inside a name (« Dinan-Cap Fréhel » / « Dinan Cap Fréhel »)."""
    words = [w for w in re.split(r"[\s\-'’]+", normalise(term)) if w]
    return "%" + "%".join(words) + "%"


def term_regex(term: str) -> re.Pattern | None:
    """For a name of several words, the words side by side: the SQL pattern of ``term_pattern`` also matches
    « station » and « verte » far apart (« station GNV … trame verte »). None for a single word."""
    words = [w for w in re.split(r"[\s\-'’]+", normalise(term)) if w]
    if len(words) < 2:
        return None
    return re.compile(r"(?<!\w)" + r"[\s\-'’]+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)


# -- numbers ----------------------------------------------------------------------------------------
_NUM = re.compile(r"(?<![\w\[])(\d{1,3}(?:[ \u00a0\u202f.]\d{3})+(?:,\d+)?|\d+(?:[,.]\d+)?)(?![\w\]])")


def _value(raw: str) -> str:
    s = re.sub(r"[ \u00a0\u202f]", "", raw)
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", s):  # "1.234" thousands separator
        s = s.replace(".", "")
    s = s.replace(",", ".")
    try:
        v = float(s)
    except ValueError:
        return s
    return f"{v:g}"


def numbers_in(text: str) -> list[tuple[str, str]]:
    """(raw, canonical value) for each number, ignoring citation markers like [2]."""
    text = CITE_RE.sub(" ", text)
    text = re.sub(r"(?m)^\s*(?:[-*•]\s*)?\d{1,2}[.)](?=\s)", " ", text)  # list enumerators are not figures
    return [(m.group(1), _value(m.group(1))) for m in _NUM.finditer(text)]


def unsupported_numbers(answer: str, sources: list[str], question: str = "") -> list[str]:
    """Numbers of the answer found neither in the sources nor in the question (the user's own figures)."""
    known = {v for s in sources + [question] for _, v in numbers_in(normalise(s))}
    return [raw for raw, v in numbers_in(answer) if v not in known]


def cite_numbers(answer: str, citations: list[Citation], passages: list[Passage], question: str = ""
                 ) -> tuple[str, list[Citation]]:
    """A figure missing from the cited passages but printed in another passage shown to the model is sourced:
    cite that passage on the sentence, with the passage's own sentence holding the figure as the quote."""
    citations = list(citations)
    cited = {(c.file, c.page, c.section) for c in citations}

    def sources() -> list[str]:
        return [p.chunk.text for p in passages if (p.chunk.file, p.chunk.page, p.chunk.section) in cited]

    for raw in unsupported_numbers(answer, sources(), question):
        value = _value(raw)
        if raw not in unsupported_numbers(answer, sources(), question):
            continue  # sourced by the passage just cited for another figure of the sentence
        for passage in passages:
            text = _paragraphs(passage.chunk.text)
            holding = [s for s in split_sentences(text) if value in {v for _, v in numbers_in(normalise(s))}]
            if not holding:
                continue
            c = passage.chunk
            n = len(citations) + 1
            quote = holding[0] if len(holding[0]) <= 220 else _window(holding[0], raw, value)
            if not quote_in_passage(quote, c.text):
                continue
            citations.append(Citation(n=n, file=c.file, page=c.page, section=c.section, quote=quote,
                                      project=c.project))
            cited.add((c.file, c.page, c.section))
            answer = _mark_sentence_with(answer, raw, f"[{n}]")
            break
    return answer, citations


def _window(sentence: str, raw: str, value: str, size: int = 220) -> str:
    """A verbatim window of ``sentence`` around the figure, cut on word boundaries."""
    pos = next((m.start() for m in _NUM.finditer(sentence) if _value(m.group(1)) == value), 0)
    start = max(0, pos - size // 2)
    while start > 0 and sentence[start - 1].isalnum():
        start -= 1
    end = min(len(sentence), start + size)
    while end < len(sentence) and sentence[end].isalnum():
        end += 1
    return sentence[start:end].strip()


def _mark_sentence_with(answer: str, raw: str, mark: str) -> str:
    """Add ``mark`` at the end of the first sentence holding the figure ``raw``."""
    lines = answer.split("\n")
    for i, line in enumerate(lines):
        sentences = split_sentences(line)
        for j, sentence in enumerate(sentences):
            if re.search(rf"(?<![\w\[]){re.escape(raw)}(?![\w\]])", sentence):
                sentences[j] = _append_mark(sentence, mark)
                lines[i] = " ".join(sentences)
                return "\n".join(lines)
    return answer


def mark_unsupported(answer: str, raws: list[str]) -> str:
    for raw in set(raws):
        answer = re.sub(rf"(?<![\w\[]){re.escape(raw)}(?![\w\]])", f"{raw} (chiffre non vérifié)", answer)
    return answer


# -- questions that ask for a figure ----------------------------------------------------------------
_ASKS_FIGURE = re.compile(
    r"\bcombien\b|\b(?:quel(?:le)?s?|à quelle)\s+(?:est\s+(?:le|la)\s+|sont\s+les\s+)?(?:montants?|co[uû]ts?|budgets?|taux|"
    r"parts?|nombres?|pourcentages?|sommes?|prix|surfaces?|superficies?|proportions?|hauteur|effectifs?)\b",
    re.IGNORECASE)
_NUMBER_WORDS = re.compile(r"\b(?:aucune?|zéro|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|"
                           r"trente|quarante|cinquante|soixante|cent|cents|mille|millions?|milliards?|moitié|tiers|"
                           r"quarts?|double|triple)\b", re.IGNORECASE)


def asks_for_figure(question: str) -> bool:
    """« Combien… », « quel budget… », « quelle part… »: the answer must hold a figure."""
    return bool(_ASKS_FIGURE.search(question))


_ASKS_MONEY = re.compile(r"\b(?:prix|co[uû]ts?|co[uû]te(?:nt|ra)?|budgets?|montants?|tarifs?|sommes?|enveloppes?)\b",
                         re.IGNORECASE)
# What a figure counts when it is not money: the word right after it.
_OTHER_UNIT = re.compile(r"\s*(?:%|pour ?cent|hectares?\b|ha\b|m2|m²|km|kilomètres?|mètres?|ans?\b|années?|mois\b|"
                         r"jours?\b|heures?\b|habitants?|emplois?|logements?|communes?|entreprises?|personnes?|"
                         r"places?\b|lits?\b|nuitées?|étoiles?|points?\b|fiches?\b|actions?\b|lignes?\b)",
                         re.IGNORECASE)


def counts_something_else(answer: str, question: str) -> bool:
    """Asked for a price, a cost or a budget, the answer's every figure counts something else: « environ 40
    hectares » to « quel est le prix moyen du mètre carré ? » is an answer to another question. A figure with no
    unit after it (« 200000 ») may be the amount, so it keeps the answer."""
    if not _ASKS_MONEY.search(question):
        return False
    text = re.sub(r"\s*\(chiffre non vérifié\)", "", CITE_RE.sub(" ", answer))
    figures = list(_NUM.finditer(text))
    # A year (2022, 2026-2030) dates an amount, it is not one.
    figures = [m for m in figures if not re.fullmatch(r"(?:19|20)\d{2}", m.group(1))]
    return bool(figures) and all(_OTHER_UNIT.match(text, m.end()) for m in figures)


_NUMBER_OF = re.compile(r"\bnombre\s+(?:de|d['’])\s*([^\W\d_]{4,})", re.IGNORECASE)


def counted_noun(question: str) -> str | None:
    """What « combien de points… ? » or « quel est le nombre de communes… ? » counts, as written (« points »); None
    when nothing precise is counted (« combien de temps », « combien d'euros »)."""
    found = _COUNTED.search(question) or (_NUMBER_OF.search(question) if asks_for_figure(question) else None)
    if not found or found.group(1).lower() in _VAGUE_COUNTED:
        return None
    return found.group(1).lower()


def _singular(word: str) -> str:
    return re.sub(r"(?<=\w{3})[sx]$", "", word.lower())


def _names(word: str, unit: str) -> bool:
    """``word`` is the counted noun ``unit`` (singular): the same word, or its abbreviation (« hab. »)."""
    word = _singular(word)
    return word == unit or (3 <= len(word) < len(unit) and unit.startswith(word))


def figure_counts(text: str, noun: str, values: set[str] | None = None) -> bool:
    """Some figure of ``text`` (one of ``values``, canonical, if given) counts ``noun`` (singular or plural): the
    noun stands among the three words after it (« 500 points », « 4 grandes orientations ») or the two before it
    (« points : 500 »). Years are dates, not counts."""
    unit = _singular(noun)
    text = CITE_RE.sub(" ", text)
    for m in _NUM.finditer(text):
        if re.fullmatch(r"(?:19|20)\d{2}", m.group(1)):
            continue
        if values is not None and _value(m.group(1)) not in values:
            continue
        # Up to the next figure on either side: in « 4 niveaux et 500 points », 4 counts levels.
        after = re.split(r"\d", text[m.end():m.end() + 60], maxsplit=1)[0]
        before = re.split(r"\d", text[max(0, m.start() - 40):m.start()])[-1]
        if any(_names(w, unit) for w in _WORD.findall(after)[:3] + _WORD.findall(before)[-2:]):
            return True
    return False


def counting_sentences(passage: str, noun: str) -> list[str]:
    """The sentences of a passage that give a number of ``noun``."""
    return [s for s in split_sentences(_paragraphs(passage)) if figure_counts(s, noun)]


def sentence_relates(passage: str, noun: str, values: set[str]) -> bool:
    """One sentence of the passage holds one of the figures ``values`` and names ``noun``: « elle en perd 51 000 par
    an » in a sentence about habitants supports « 51 000 habitants »; a « 4 » of a sentence that never names
    points does not support « 4 points »."""
    unit = _singular(noun)
    for sentence in split_sentences(_paragraphs(passage)):
        if {v for _, v in numbers_in(sentence)} & values and any(_names(w, unit) for w in _WORD.findall(sentence)):
            return True
    return False


def holds_figure(answer: str) -> bool:
    """A figure in digits (citation markers aside) or in words (« deux fois », « la moitié »; not « un », an article)."""
    text = CITE_RE.sub(" ", answer)
    return bool(re.search(r"\d", text)) or bool(_NUMBER_WORDS.search(text))


_INTERROGATIVE = re.compile(r"\b(?:quel|quelle|quels|quelles|comment|combien|pourquoi|où|quand|qui|que|qu['’]|quoi|"
                            r"lequel|laquelle|lesquels|lesquelles)\b", re.IGNORECASE)
_INVERSION = re.compile(r"\b\w+-(?:t-)?(?:il|elle|on|ils|elles)\b|\best-ce qu", re.IGNORECASE)


def is_closed_question(question: str) -> bool:
    """A yes/no question: « Le reclassement … peut-il être compté ? », « Existe-t-il … ? », « Est-ce que … ? ».

    The clause after a colon counts (« Notre commune est petite : existe-t-il un service ? »); an interrogative
    word before the inverted verb makes it open (« Comment se répartit-il ? », « À partir de quelle taille … est-elle
    tenue … ? »).
    """
    clause = re.split(r"[:;]", question)[-1]
    inversion = _INVERSION.search(clause)
    return bool(inversion) and not _INTERROGATIVE.search(clause[:inversion.start()])
