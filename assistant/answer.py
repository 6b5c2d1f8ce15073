"""Grounded answers: retrieve, prompt, stream, then verify citations and numbers in code.

Small-model mode (embedded GGUF): few, trimmed passages so the prompt stays short (prompt processing is
the bottleneck: ~55 tok/s), the fixed system prompt first so llama.cpp reuses its cache, and the
passages are shown to the user before the synthesis streams in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import prompts
from .grounding import (CITE_RE, NOT_COVERED, asks_for_figure, best_quote, cite_numbers, content_words,
                        counted_noun, counting_sentences, counts_something_else, holds_figure, is_closed_question,
                        mark_unsupported, numbers_in, sentence_relates, split_sentences, unsupported_numbers,
                        verify_citations)
from .llm import ChatModel
from .retrieve import SearchResult
from .schemas import Answer, Citation, Passage, Timings

SearchFn = Callable[[str], SearchResult]

# What kind of document would answer, by topic: said when the indexed documents do not cover a question.
_SUGGESTIONS = [
    (("touris", "nuitée", "visiteur", "hébergement", "fréquentation"),
     "des données de fréquentation touristique (office de tourisme, comité régional du tourisme, INSEE)"),
    (("budget", "coût", "financ", "montant", "euros", "€", "subvention"),
     "un budget, une délibération ou un rapport financier de la collectivité"),
    (("emploi", "entreprise", "économ", "chômage", "srdeii", "zone d'activité"),
     "un diagnostic économique (schéma régional SRDEII, données INSEE, CCI)"),
    (("habitant", "population", "démograph", "logement"),
     "des données INSEE (recensement) ou le diagnostic du PLH / PLU"),
    (("transport", "mobilit", "train", "bus", "route"),
     "un plan de mobilité ou les données de l'autorité organisatrice des mobilités"),
    (("marque", "slogan", "agence", "communication", "campagne"),
     "les documents de la démarche de marque ou de communication (cahier des charges, bilan de campagne)"),
]


def suggest_source(question: str) -> str:
    q = question.lower()
    for keys, suggestion in _SUGGESTIONS:
        if any(k in q for k in keys):
            return suggestion
    return "un document du territoire qui traite de ce sujet (rapport, étude, délibération, diagnostic)"


def not_covered_text(question: str, absent: list[str] | None = None) -> str:
    if absent:
        names = ", ".join(f"« {t} »" for t in absent)
        return (f"Les documents indexés ne mentionnent nulle part {names} : ils ne couvrent pas cette question et "
                f"je préfère ne pas inventer de réponse. Pour y répondre, il faudrait ajouter "
                f"{suggest_source(question)}.")
    return ("Les documents indexés ne couvrent pas cette question : je préfère ne pas inventer de réponse. "
            f"Pour y répondre, il faudrait ajouter {suggest_source(question)}.")


def no_figure_text(question: str) -> str:
    return ("Les extraits consultés ne donnent pas le chiffre demandé : je préfère ne pas en inventer un. "
            f"Pour y répondre, il faudrait ajouter {suggest_source(question)}.")


@dataclass
class Turn:
    question: str
    answer: str


@dataclass
class Event:
    """Streamed to the UI: ``passages`` first, then ``token`` pieces, then one ``final``."""

    kind: str
    passages: list[Passage] = field(default_factory=list)
    text: str = ""
    answer: Answer | None = None
    question: str = ""


def trim_passage(text: str, question: str, max_chars: int) -> str:
    """Keep the window of ``max_chars`` that shares most words with the question (whole text if short)."""
    if len(text) <= max_chars:
        return text
    want = content_words(question)
    sentences = re.split(r"(?<=[.!?;])\s+", text)
    best, best_score = 0, -1.0
    for i in range(len(sentences)):
        window = " ".join(sentences[i:])[:max_chars]
        score = len(want & content_words(window))
        if score > best_score:
            best, best_score = i, score
    return " ".join(sentences[best:])[:max_chars]


def reading(passages: list[Passage], question: str, passage_chars: tuple[int, ...]) -> list[str]:
    """What the model reads of each passage, in rank order: the window of ``passage_chars[rank - 1]`` characters
    closest to the question (the last length repeats for the following ranks). Also measured by ``eval``."""
    return [trim_passage(p.chunk.text, question, passage_chars[min(i, len(passage_chars)) - 1])
            for i, p in enumerate(passages, 1)]


class Answerer:
    def __init__(self, chat: ChatModel, search: SearchFn, *, min_dense_score: float, max_passages: int,
                 passage_chars: int | tuple[int, ...], prompts_dir: Path = prompts.DEFAULT_DIR, history_turns: int = 3,
                 absent_terms: Callable[[str], list[str]] | None = None) -> None:
        self.chat = chat
        self.search = search
        self.min_dense_score = min_dense_score
        self.max_passages = max_passages
        # One length for every passage, or one per rank (the last one repeats for the following ranks).
        self.passage_chars = (passage_chars,) if isinstance(passage_chars, int) else tuple(passage_chars)
        self.prompts_dir = prompts_dir
        self.history_turns = history_turns
        self.absent_terms = absent_terms or (lambda question: [])

    # -- memory -----------------------------------------------------------------------------------
    def standalone(self, question: str, history: list[Turn]) -> str:
        """Rewrite a follow-up ("et pour le tourisme ?") into a question that can be searched alone."""
        if not history or not _looks_like_follow_up(question):
            return question
        recent = history[-self.history_turns:]
        older = history[:-self.history_turns]
        lines = []
        if older:  # bounded memory: older turns survive only as the list of their topics
            lines.append("Sujets précédents : " + " ; ".join(t.question for t in older[-5:]))
        lines += [f"Q : {t.question}\nR : {t.answer[:300]}" for t in recent]
        prompt = prompts.render("rewrite", self.prompts_dir, history="\n".join(lines), question=question)
        rewritten = self.chat.complete([{"role": "user", "content": prompt}], max_tokens=60, temperature=0.0)
        rewritten = rewritten.strip().splitlines()[0].strip(" «»\"") if rewritten.strip() else ""
        if len(rewritten) < 8 or NOT_COVERED in rewritten:
            return f"{history[-1].question} {question}"
        return rewritten

    # -- answering --------------------------------------------------------------------------------
    def stream(self, question: str, history: list[Turn] | None = None) -> Iterator[Event]:
        t0 = time.perf_counter()
        question = question.strip()
        standalone = self.standalone(question, history or [])
        result = self.search(standalone)
        retrieval_ms = (time.perf_counter() - t0) * 1000
        passages = result.passages[: self.max_passages]
        yield Event("passages", passages=passages, question=standalone)
        timings = Timings(retrieval_ms=round(retrieval_ms, 1))
        # Code decides "not covered" when it can be sure: nothing similar enough, or the question names something
        # (an acronym, a year, a quoted name) that no indexed document mentions. Otherwise the model may say so.
        absent = self.absent_terms(standalone) if passages else []
        if not passages or result.best_dense < self.min_dense_score or absent:
            text = not_covered_text(standalone, absent)
            timings.total_ms = round((time.perf_counter() - t0) * 1000, 1)
            yield Event("token", text=text)
            yield Event("final", answer=Answer(answer=text, covered=False, timings=timings, passages=passages),
                        question=standalone)
            return
        # The best passage, [1], is shown last, right before the question: the embedded 1.5B model leans on the
        # passage nearest the question (on dev.jsonl, 3 wrong citations of questions whose right passage ranked
        # first came from a later passage; shown last, 2 of them became right).
        read = reading(passages, standalone, self.passage_chars)
        numbered = "\n\n".join(f"[{i}] ({p.label})\n{_as_data(read[i - 1])}"
                                 for i, p in reversed(list(enumerate(passages, 1))))
        # A closed question (« peut-il… ? ») was answered NON_COUVERT by the 1.5B model even with the answer in
        # the first passage: it is told what form the answer takes. Only there, so other prompts stay as they are.
        asked = standalone + (f"\n{prompts.render('answer_closed', self.prompts_dir)}"
                              if is_closed_question(standalone) else "")
        messages = [
            {"role": "system", "content": prompts.render("answer_system", self.prompts_dir)},
            {"role": "user", "content": prompts.render("answer_user", self.prompts_dir, passages=numbered,
                                                       question=asked)},
        ]
        pieces: list[str] = []
        flushed = False
        looped = False
        replies = self.chat.stream(messages)
        try:
            for piece in replies:
                if timings.first_token_ms is None:
                    timings.first_token_ms = round((time.perf_counter() - t0) * 1000, 1)
                pieces.append(piece)
                # The 1.5B model sometimes loops (« - 10 % sur … » until the token limit, 20 s for nothing):
                # a line it has already written ends the reply.
                if "\n" in piece and repeats_a_line("".join(pieces)):
                    looped = True
                    break
                if flushed:
                    yield Event("token", text=piece)
                    continue
                # Hold back while the reply could still be the sentinel: users never see the raw marker.
                head = "".join(pieces).lstrip()
                if not NOT_COVERED.startswith(head[: len(NOT_COVERED)]):
                    flushed = True
                    yield Event("token", text=head)
        finally:
            # Leaving the loop early must end the generation now: the local model is locked while it writes.
            getattr(replies, "close", lambda: None)()
        raw = "".join(pieces).strip()
        if looped:
            raw = without_repeated_lines(raw)
        answer = self.finish(raw, standalone, passages, timings, more=result.passages[self.max_passages:])
        if looped:
            answer.flags.append("réponse interrompue : le modèle répétait une ligne déjà écrite")
        timings.total_ms = round((time.perf_counter() - t0) * 1000, 1)
        yield Event("final", answer=answer, question=standalone)

    def finish(self, raw: str, question: str, passages: list[Passage], timings: Timings,
               more: list[Passage] | tuple = ()) -> Answer:
        """The checked answer to a raw reply. ``more``: retrieved passages that were not shown to the model, where
        code may still find a sentence that gives what was asked."""
        answer = self._checked(raw, question, passages, timings)
        # Asked « combien… », answered without any figure: the passages read do not give it (the model then
        # answers around the question, e.g. with a name), so say so rather than show a reply that skips it.
        if answer.covered and asks_for_figure(question) and not holds_figure(answer.answer):
            return Answer(answer=no_figure_text(question), covered=False, timings=timings, passages=passages,
                          flags=["chiffre demandé absent de la réponse : question traitée comme non couverte"])
        # Asked for a price or a budget, answered with hectares or percentages only: the amount is not there.
        if answer.covered and counts_something_else(answer.answer, question):
            return Answer(answer=no_figure_text(question), covered=False, timings=timings, passages=passages,
                          flags=["montant demandé, mais les chiffres de la réponse comptent autre chose : "
                                 "question traitée comme non couverte"])
        # Asked « combien… », answered with figures none of which a passage gives (« 4 (chiffre non vérifié) »):
        # the figure was the answer, so there is none.
        if answer.covered and asks_for_figure(question) and only_unsourced_figures(answer, question):
            return Answer(answer=no_figure_text(question), covered=False, timings=timings, passages=passages,
                          flags=["aucun chiffre du brouillon n'est dans les extraits ("
                                 + ", ".join(f[len(UNSOURCED):] for f in answer.flags if f.startswith(UNSOURCED))
                                 + ") : question traitée comme non couverte"])
        # Asked « combien de points… », answered with a figure that no cited sentence relates to points (« évalué
        # sur 4 points [1] », the 4 of « 4 niveaux »): a sentence of the retrieved passages that gives a number of
        # points is quoted instead; with none, the count is not in the documents read.
        noun = counted_noun(question)
        if answer.covered and noun and answer.citations and not counts_in_source(answer, noun, passages):
            return self.counted_extract(question, noun, passages, list(more), timings) or Answer(
                answer=no_figure_text(question), covered=False, timings=timings, passages=passages,
                flags=[f"aucun extrait cité ne rapporte le chiffre de la réponse à des « {noun} » : question "
                       "traitée comme non couverte"])
        return answer

    def counted_extract(self, question: str, noun: str, passages: list[Passage], more: list[Passage],
                        timings: Timings) -> Answer | None:
        """The sentence of the retrieved passages (shown ones first) that gives a number of ``noun`` and shares most
        words with the question, quoted and cited; None if no passage counts ``noun``."""
        best: tuple[float, Passage, str] | None = None
        for p in passages + more:
            sentences = counting_sentences(p.chunk.text, noun)
            if not sentences:
                continue
            quote, share = best_quote(question, "\n".join(sentences), answers_only=True)
            if quote and (best is None or share > best[0]):
                best = (share, p, quote)
        if best is None:
            return None
        _, p, quote = best
        c = p.chunk
        citation = Citation(n=1, file=c.file, page=c.page, section=c.section, quote=quote, project=c.project)
        shown = passages if p in passages else passages + [p]
        return Answer(answer=f"Extrait qui donne ce nombre : « {quote} » [1]", citations=[citation], covered=True,
                      timings=timings, passages=shown,
                      flags=[f"le chiffre de la synthèse ne comptait pas des « {noun} » : phrase du document qui en "
                             "donne le nombre citée telle quelle"])

    def _checked(self, raw: str, question: str, passages: list[Passage], timings: Timings) -> Answer:
        if not raw or raw.startswith(NOT_COVERED) or (NOT_COVERED in raw and len(raw) < 40):
            return Answer(answer=not_covered_text(question), covered=False, timings=timings, passages=passages)
        raw = _ECHO.sub("", raw).strip()  # small models sometimes copy the prompt's delimiters
        raw = _ANGLE_MARK.sub(r"[\1]", raw)  # « … citoyennes <2>. »: a citation written in the wrong brackets
        # The sentinel inside a reply (« Le coût est NON_COUVERT. ») is a partial refusal: said in words.
        raw = _SENTINEL.sub("non précisé dans les documents", raw)
        if echoes_a_title(raw, question):
            # From the passage the model cited (it found the document there), but the title's words would lead the
            # extract back to the title: its sentence is the one not to quote.
            cited = cited_indexes(raw, len(passages))
            return self.extract(question, passages, timings, source=cited[0] if cited else 0,
                                avoid=CITE_RE.sub("", raw).strip(" ."))
        if is_fragment(raw) or says_nothing(raw, question) or (bare_figure(raw) and not asks_for_figure(question)):
            verdict = re.match(r"\s*(oui|non)\b", raw, re.IGNORECASE) if is_closed_question(question) else None
            if verdict:  # « Non [1]. »: the extract says why, the model's yes or no stays in front of it
                return self.extract(question, passages, timings, verdict.group(1).capitalize())
            # « Indicateurs de suivi [2]. »: the 1.5B model often names the heading under which the answer is
            # written; what is written there is the answer. Anything else this short (« 5.3.2.1 [3]. »,
            # « Dinan Agglomération [1]. ») answers nothing: the closest extract does.
            # The reply's words still say what the model found (« CoMobi [1]. »): they help find the sentence.
            return self.section(raw, passages, timings, question) or self.extract(
                question, passages, timings, hint=CITE_RE.sub("", raw))
        text, citations, flags = verify_citations(raw, passages, question=question)
        text, citations = cite_numbers(text, citations, passages, question)
        cited = {(c.file, c.page, c.section) for c in citations}
        cited_texts = [p.chunk.text for p in passages if (p.chunk.file, p.chunk.page, p.chunk.section) in cited]
        bad_numbers = unsupported_numbers(text, cited_texts, question)
        if bad_numbers:
            text = mark_unsupported(text, bad_numbers)
            flags += [f"{UNSOURCED}{n}" for n in bad_numbers]
        if not citations:
            # Prose that no shown passage supports is not shown as an answer: the closest extract is, quoted.
            # (The draft's own flags, e.g. its unsourced figures, go with it: they describe text no one sees.)
            # From the passage the model cited, if any: it read something there, even if it did not say it right.
            cited = cited_indexes(raw, len(passages))
            fallback = self.extract(question, passages, timings, source=cited[0] if cited else 0)
            fallback.flags = ["aucune phrase de la synthèse n'a pu être vérifiée dans les extraits : "
                              "extrait le plus proche cité tel quel"]
            return fallback
        return Answer(answer=text.strip(), citations=citations, covered=True, flags=flags, timings=timings,
                      passages=passages)

    def extract(self, question: str, passages: list[Passage], timings: Timings, verdict: str = "",
                source: int = 0, hint: str = "", avoid: str = "") -> Answer:
        """When the model wrote nothing usable: the sentence of the best passage closest to the question, quoted
        as it is and cited, rather than an empty or garbled reply. ``verdict``: the model's « Oui » / « Non » to a
        closed question, kept in front of the extract that has to justify it; ``avoid``: a text whose sentence is
        not to be quoted."""
        quote, share = best_quote(f"{question} {hint}", passages[source].chunk.text, answers_only=True, skip=avoid)
        if not quote or share == 0:  # not one word of the question in the best passage: nothing to quote
            return Answer(answer=not_covered_text(question), covered=False, timings=timings, passages=passages,
                          flags=["aucune phrase des extraits ne porte sur la question"])
        c = passages[source].chunk
        citation = Citation(n=1, file=c.file, page=c.page, section=c.section, quote=quote, project=c.project)
        lead = f"{verdict}. Extrait qui l'établit" if verdict else "Extrait le plus proche de votre question"
        return Answer(answer=f"{lead} : « {quote} » [1]", citations=[citation], covered=True, timings=timings,
                      passages=passages, flags=["pas de synthèse rédigée : extrait du document cité tel quel"])

    def section(self, reply: str, passages: list[Passage], timings: Timings, question: str = "") -> Answer | None:
        """The content of the section whose heading the reply names, quoted from the passage it cites (or from the
        first passage holding that heading); None if no passage has such a heading."""
        for i in dict.fromkeys(cited_indexes(reply, len(passages)) + list(range(len(passages)))):
            found = section_under(CITE_RE.sub("", reply), passages[i].chunk.text, question=question)
            if found:
                heading, body = found
                c = passages[i].chunk
                run = body.removeprefix("[…] ").removesuffix(" […]")
                # The citation's quote: the sentence of the block closest to the question (the block may be long).
                quote = (best_quote(question, run)[0] if question else "") or run[:220].strip()
                citation = Citation(n=1, file=c.file, page=c.page, section=c.section, quote=quote,
                                    project=c.project)
                return Answer(answer=f"{heading} : « {body} » [1]", citations=[citation], covered=True,
                              timings=timings, passages=passages,
                              flags=["réponse réduite au titre d'une rubrique : contenu de la rubrique cité tel quel"])
        return None

    def ask(self, question: str, history: list[Turn] | None = None) -> Answer:
        final = None
        for event in self.stream(question, history):
            if event.kind == "final":
                final = event.answer
        assert final is not None
        return final


_DELIMITER = re.compile(r"</?\s*documents\s*>", re.IGNORECASE)
_SENTINEL = re.compile(r"\b" + NOT_COVERED.replace("_", "[_ ]") + r"\b", re.IGNORECASE)
_ECHO = re.compile(r"[<‹]/?\s*documents\s*[>›]", re.IGNORECASE)
_ANGLE_MARK = re.compile(r"<(\d{1,2})>")


_LOOP_LINE_CHARS = 12  # shorter lines (« - »,  « Oui. ») may repeat without a loop


def repeats_a_line(text: str) -> bool:
    """A complete line of the reply written twice (the part after the last newline is still being written)."""
    lines = [" ".join(line.split()) for line in text.split("\n")[:-1]]
    lines = [line for line in lines if len(line) >= _LOOP_LINE_CHARS]
    return len(lines) != len(set(lines))


def without_repeated_lines(text: str) -> str:
    """The reply with every repeated line (and an unfinished last line repeating an earlier one) left out."""
    seen: set[str] = set()
    kept = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        key = " ".join(line.split())
        last = i == len(lines) - 1
        repeated = len(key) >= _LOOP_LINE_CHARS and key in seen
        cut_short = last and key and any(len(s) >= _LOOP_LINE_CHARS and s.startswith(key) for s in seen)
        if repeated or cut_short:
            continue
        seen.add(key)
        kept.append(line)
    return "\n".join(kept).strip()


def cited_indexes(reply: str, count: int) -> list[int]:
    """0-based indexes of the passages a reply's markers name, in order, those out of range left out."""
    numbers = [int(n) for group in CITE_RE.findall(reply) for n in re.split(r"\s*[,;]\s*", group)]
    return [n - 1 for n in numbers if 1 <= n <= count]


_SECTION_NUMBER = re.compile(r"(?<![\w,])\d+(?:\.\d+)+\.?(?![\w,])")


def _without_marks(reply: str) -> str:
    """The reply less its citation markers and section numbers (« 5.3.2.1 » is no figure)."""
    return _SECTION_NUMBER.sub(" ", CITE_RE.sub("", reply))


def is_fragment(reply: str) -> bool:
    """A reply of fewer than four content words and no figure: a heading, a name or a section number echoed back
    (« Indicateurs de suivi [1]. », « 5.3.2.1 [3]. »), not an answer. « 4 étoiles [2]. » is one (a figure)."""
    body = _without_marks(reply)
    return len(content_words(body)) < 4 and not re.search(r"\d", body)


UNSOURCED = "nombre non sourcé : "


def only_unsourced_figures(answer: Answer, question: str) -> bool:
    """The answer holds figures (beyond those of the question) and every one of them was flagged unsourced."""
    unsourced = {v for flag in answer.flags if flag.startswith(UNSOURCED) for _, v in numbers_in(flag[len(UNSOURCED):])}
    figures = {v for _, v in numbers_in(answer.answer)} - {v for _, v in numbers_in(question)}
    return bool(figures) and figures <= unsourced


def counts_in_source(answer: Answer, noun: str, passages: list[Passage]) -> bool:
    """A figure of the answer stands, in a passage the answer cites, in a sentence that names ``noun``. The answer's
    own words do not count: the model wrote « évalué sur 4 points » from a passage whose 4 counts levels."""
    values = {v for _, v in numbers_in(answer.answer)}
    cited = {(c.file, c.page, c.section) for c in answer.citations}
    return any(sentence_relates(p.chunk.text, noun, values) for p in passages
               if (p.chunk.file, p.chunk.page, p.chunk.section) in cited)


def bare_figure(reply: str) -> bool:
    """A reply that is only a figure (« 20 [2]. »): an answer to « combien… » at best; to « quels indicateurs… »
    it is a number picked from the passage (a fiche number, a year), not an answer."""
    body = _without_marks(reply)
    return bool(re.search(r"\d", body)) and not re.search(r"[^\W\d_]", body)


# Questions that a figure alone may answer besides « combien… » and amounts: dates, periods, durations, levels.
_ASKS_WHEN_OR_LEVEL = re.compile(r"\bquand\b|\b(?:ann[ée]es?|dates?|p[ée]riodes?|d[ée]lais?|dur[ée]es?|[ée]ch[ée]ances?|"
                                 r"horizons?|calendriers?|scores?|seuils?|ratios?|niveaux?|versions?|[ée]tapes?|"
                                 r"num[ée]ros?|articles?|chiffr[ée]s?)\b", re.IGNORECASE)


def echoes_a_title(reply: str, question: str) -> bool:
    """A reply of fewer than four content words whose figures answer nothing asked (« PCAET 2021-2026 [1]. » to
    « Quel avis le conseil donne-t-il sur le PCAET ? »): the passage's title, years included, echoed back. Its
    figures stand in the passage, so the number check lets it through; it answers nothing."""
    body = _without_marks(reply)
    # (A bare figure, with no word, is ``bare_figure``'s case.)
    return (0 < len(content_words(body)) < 4 and bool(re.search(r"\d", body)) and not asks_for_figure(question)
            and not _ASKS_WHEN_OR_LEVEL.search(question))


def says_nothing(reply: str, question: str) -> bool:
    """The reply only restates the question (« La formule permettant de calculer … est : [2]. »): no figure, and
    fewer than two words of its own."""
    body = _without_marks(reply)
    return not re.search(r"\d", body) and len(content_words(body) - content_words(question)) < 2


def section_under(heading: str, passage: str, max_chars: int = 500, question: str = "") -> tuple[str, str] | None:
    """(heading line, the block of lines under it) when a line of the passage is that heading and text follows.

    A block longer than ``max_chars`` gives its whole sentences closest to ``question`` (see ``closest_sentences``).
    """
    want = content_words(heading)
    if not want:
        return None
    lines = passage.splitlines()
    for i, line in enumerate(lines):
        words = content_words(line)
        # The line is the heading itself (not a sentence that happens to contain its words).
        if not (want <= words and len(words) <= len(want) + 1 and len(line) <= 80):
            continue
        body: list[str] = []
        for below in lines[i + 1:]:
            if below.strip():
                body.append(below.strip())
            elif body:  # a blank line after text ends the section's first block
                break
        text = " ".join(body)
        if len(content_words(text)) >= 3:
            return line.strip().rstrip(" :"), closest_sentences(text, question, max_chars)
    return None


def closest_sentences(text: str, question: str, max_chars: int) -> str:
    """The run of whole sentences of ``text`` (at most ``max_chars``) sharing most words with ``question``; « […] »
    marks what is left out. Text that fits is returned as it is.

    Cutting at ``max_chars`` dropped the very end of a PDF section that held the answer: « … Lorsqu'un groupement
    de communes urbaines et rurales est couvert par un même PLU(i), il est recommandé » (for « quel taux pour un
    EPCI mixte ? »; the rate came in the next words). A run starts and ends on sentence boundaries, so a quote never
    stops in mid-sentence; the earliest run wins a tie (sections open with their general rule).
    """
    if len(text) <= max_chars:
        return text
    sentences = split_sentences(text)  # a sentence ends before a capital: « cf. encadré » does not end one
    want = content_words(question)
    best: tuple[int, int, int] | None = None  # (score, -start, end) of the best run sentences[start:end]
    for start in range(len(sentences)):
        size, end = -1, start
        while end < len(sentences) and size + 1 + len(sentences[end]) <= max_chars:
            size += 1 + len(sentences[end])
            end += 1
        if end == start:  # a sentence longer than the limit starts no run (if none fits, the text is cut below)
            continue
        score = len(want & content_words(" ".join(sentences[start:end])))
        if best is None or (score, -start) > best[:2]:
            best = (score, -start, end)
    if best is None:
        cut = text[:max_chars].rsplit(" ", 1)[0]
        return f"{cut} […]"
    start, end = -best[1], best[2]
    run = " ".join(sentences[start:end])
    return ("[…] " if start else "") + run + (" […]" if end < len(sentences) else "")


def _as_data(text: str) -> str:
    """A document cannot close the <documents> block and speak as the user: its delimiters are defused."""
    return _DELIMITER.sub(lambda m: m.group().replace("<", "‹").replace(">", "›"), text)


_FOLLOW_UP = re.compile(r"^(et|mais|aussi|pour|qu'en|quid|idem|même|alors|ensuite|plus)\b|\b(ça|cela|celui|celle|"
                        r"ceux|ils|elles|leur|leurs|en|y)\b", re.IGNORECASE)


def _looks_like_follow_up(question: str) -> bool:
    return len(question.split()) <= 5 or bool(_FOLLOW_UP.search(question[:40]))
