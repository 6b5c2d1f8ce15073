"""Evaluation against a question file: retrieval ranks (recall@k, MRR) and, optionally, answer quality.

The question file is JSON lines (``../shared/eval/dev.jsonl`` format): ``id, question, answer, file, page,
quote``; ``answer == "NON_COUVERT"`` marks a question the documents do not answer. A retrieved passage is a
hit when it comes from the gold file (compared by file name) and from the gold page; for files without pages
(Markdown, HTML) when its text holds at least 60 % of the quote's words. Plain functions: the CLI only formats.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .answer import reading
from .errors import InputError
from .grounding import NOT_COVERED
from .schemas import Answer, Chunk, Passage

if TYPE_CHECKING:  # the facade is passed in, never imported at run time (logic must not depend on it)
    from .core import Assistant

QUOTE_WORD_SHARE = 0.60
UNSUPPORTED_FLAG = "nombre non sourcé"

Progress = Callable[[str, int, int], None]


@dataclass
class Question:
    id: str
    question: str
    answer: str
    file: str | None = None
    page: int | None = None
    quote: str | None = None
    persona: str | None = None
    kind: str | None = None

    @property
    def covered(self) -> bool:
        return self.answer != NOT_COVERED

    @property
    def file_name(self) -> str | None:
        return Path(self.file).name if self.file else None


@dataclass
class QuestionResult:
    id: str
    question: str
    covered: bool
    rank: int | None = None  # 1-based rank of the first passage from the gold file and page; None = missed
    best_dense: float = 0.0
    best_lexical: float = 0.0
    search_ms: float = 0.0
    top: list[str] = field(default_factory=list)  # labels of the retrieved passages, for reading the report
    # Rank of the first passage whose part read by the chat model holds the quote (None: the model never sees it):
    # an answer can only cite what it was shown, and this needs no model to measure.
    read_rank: int | None = None
    quoted: bool = False  # the question file gives a quote (read_rank is measured)
    # Filled only with answers:
    answered: bool | None = None  # the assistant answered (did not say "not covered")
    citation_hit: bool | None = None
    unsupported_numbers: int | None = None
    citations: list[str] | None = None
    answer: str | None = None
    retrieval_ms: float | None = None
    first_token_ms: float | None = None
    total_ms: float | None = None


@dataclass
class EvalReport:
    questions_file: str
    project: str
    k: int
    results: list[QuestionResult]
    summary: dict = field(default_factory=dict)


# -- question file ---------------------------------------------------------------------------------
def load_questions(path: str | Path) -> list[Question]:
    """Read a JSON-lines question file; a bad line stops with its number and the fix."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Fichier de questions introuvable : {path}",
                         fix="indiquez un fichier JSON lines, ex. --questions ../shared/eval/dev.jsonl")
    questions: list[Question] = []
    fields = set(Question.__dataclass_fields__)
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            q = Question(**{k: v for k, v in data.items() if k in fields})
        except (json.JSONDecodeError, TypeError) as e:
            raise InputError(f"{path.name}, ligne {n} : objet JSON invalide ({e})",
                             fix="une question par ligne avec au moins id, question, answer") from e
        if not q.question or (q.covered and not q.file):
            raise InputError(f"{path.name}, ligne {n} : question « {q.id} » sans texte ou sans fichier de référence",
                             fix="renseignez question, et file/page/quote pour une question couverte "
                                 f"(ou answer = {NOT_COVERED})")
        questions.append(q)
    if not questions:
        raise InputError(f"{path.name} ne contient aucune question", fix="une question JSON par ligne")
    return questions


# -- matching --------------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    return re.findall(r"\w+", text)


def quote_share(quote: str, text: str) -> float:
    """Share of the quote's distinct words found in ``text`` (0–1)."""
    want = set(_words(quote))
    return len(want & set(_words(text))) / len(want) if want else 0.0


def is_hit(question: Question, chunk: Chunk) -> bool:
    """The chunk comes from the gold file, and from the gold page (or holds ≥ 60 % of the quote's words)."""
    if not question.covered or chunk.file != question.file_name:
        return False
    if question.page is not None:
        return chunk.page == question.page
    return quote_share(question.quote or "", chunk.text) >= QUOTE_WORD_SHARE


def first_hit_rank(question: Question, passages: Iterable[Passage]) -> int | None:
    for rank, passage in enumerate(passages, 1):
        if is_hit(question, passage.chunk):
            return rank
    return None


def first_read_rank(question: Question, passages: Iterable[Passage], read: list[str]) -> int | None:
    """Rank of the first passage from the gold file (and page) whose read part ``read[rank - 1]`` holds at least
    60 % of the quote's words; None without a quote, or when no part read holds it."""
    if not question.covered or not question.quote:
        return None
    for rank, (passage, text) in enumerate(zip(passages, read), 1):
        chunk = passage.chunk
        if chunk.file != question.file_name or (question.page is not None and chunk.page != question.page):
            continue
        if quote_share(question.quote, text) >= QUOTE_WORD_SHARE:
            return rank
    return None


def citation_hit(question: Question, answer: Answer) -> bool:
    """The answer cites the gold file and page (for files without pages: a cited passage that is a hit)."""
    for c in answer.citations:
        if c.file != question.file_name:
            continue
        if question.page is not None:
            if c.page == question.page:
                return True
            continue
        cited = [p.chunk for p in answer.passages
                 if p.chunk.file == c.file and p.chunk.page == c.page and p.chunk.section == c.section]
        if any(is_hit(question, chunk) for chunk in cited):
            return True
    return False


# -- metrics ---------------------------------------------------------------------------------------
def retrieval_metrics(ranks: list[int | None], k: int) -> dict:
    """recall@1, recall@k and MRR (cut at k) over answerable questions."""
    n = len(ranks)
    if not n:
        return {"n": 0, "recall@1": None, f"recall@{k}": None, "mrr": None}
    return {"n": n,
            "recall@1": round(sum(r == 1 for r in ranks) / n, 3),
            f"recall@{k}": round(sum(r is not None and r <= k for r in ranks) / n, 3),
            "mrr": round(sum(1 / r for r in ranks if r is not None and r <= k) / n, 3)}


def quote_read(results: list[QuestionResult]) -> dict:
    """Share of the answerable questions with a quote whose quote the chat model reads (passages and windows of
    ``Assistant.reading_plan``): the ceiling of citation_hit that retrieval and windows leave."""
    quoted = [r for r in results if r.covered and r.quoted]
    return {"quote_read": _share(sum(r.read_rank is not None for r in quoted), len(quoted)),
            "quote_read_count": f"{sum(r.read_rank is not None for r in quoted)}/{len(quoted)}"}


def coverage_rates(results: list[QuestionResult], threshold: float) -> dict:
    """What the retrieval-only coverage rule (best dense similarity ≥ threshold) would do on these questions."""
    covered = [r for r in results if r.covered]
    uncovered = [r for r in results if not r.covered]
    return {"threshold": threshold,
            "answered_covered": _share(sum(r.best_dense >= threshold for r in covered), len(covered)),
            "refusal_uncovered": _share(sum(r.best_dense < threshold for r in uncovered), len(uncovered))}


def suggest_threshold(results: list[QuestionResult], min_answered: float = 0.90) -> float | None:
    """Highest coverage threshold that still answers ≥ ``min_answered`` of the answerable questions.

    Placed halfway between the lowest kept answerable score and the next score below it, so that a
    question a little weaker than the ones measured is not refused by a hair's breadth.
    """
    scores = sorted((r.best_dense for r in results if r.covered), reverse=True)
    if not scores:
        return None
    keep = min(len(scores), max(1, math.ceil(min_answered * len(scores) - 1e-9)))
    lowest_kept = scores[keep - 1]
    below = [s for s in (r.best_dense for r in results) if s < lowest_kept]
    return round((lowest_kept + max(below)) / 2, 4) if below else round(lowest_kept, 4)


def answer_metrics(results: list[QuestionResult]) -> dict:
    covered = [r for r in results if r.covered and r.answered is not None]
    uncovered = [r for r in results if not r.covered and r.answered is not None]
    answered = [r for r in covered if r.answered]

    def median(key: str) -> float | None:
        values = [getattr(r, key) for r in results if getattr(r, key) is not None and r.answered is not None]
        return round(statistics.median(values), 1) if values else None

    return {
        "citation_hit": _share(sum(bool(r.citation_hit) for r in covered), len(covered)),
        "citation_hit_answered": _share(sum(bool(r.citation_hit) for r in answered), len(answered)),
        "refusal_uncovered": _share(sum(not r.answered for r in uncovered), len(uncovered)),
        "refused_uncovered_count": f"{sum(not r.answered for r in uncovered)}/{len(uncovered)}",
        "answered_covered": _share(len(answered), len(covered)),
        "unsupported_numbers": sum(r.unsupported_numbers or 0 for r in results),
        "median_retrieval_ms": median("retrieval_ms"),
        "median_first_token_ms": median("first_token_ms"),
        "median_total_ms": median("total_ms"),
    }


def _share(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


# -- running ---------------------------------------------------------------------------------------
def evaluate_question(assistant: Assistant, q: Question, project: str, *, k: int = 5, answers: bool = False,
                      include_knowledge: bool = True) -> QuestionResult:
    t = time.perf_counter()
    result = assistant.search(q.question, project, k=k, include_knowledge=include_knowledge)
    search_ms = (time.perf_counter() - t) * 1000
    out = QuestionResult(id=q.id, question=q.question, covered=q.covered,
                         rank=first_hit_rank(q, result.passages) if q.covered else None,
                         best_dense=round(result.best_dense, 4), best_lexical=round(result.best_lexical, 3),
                         search_ms=round(search_ms, 1), top=[p.label for p in result.passages])
    if q.covered and q.quote:
        out.quoted = True
        max_passages, chars = assistant.reading_plan()
        # The passages of the answer path, which searches the method too with the configured k: this search's
        # first ones when it was the same, else one more search.
        limit = min(max_passages, assistant.settings.retrieval.k)
        if not include_knowledge or k < limit:
            result = assistant.search(q.question, project)
        shown_passages = result.passages[:limit]
        out.read_rank = first_read_rank(q, shown_passages, reading(shown_passages, q.question, chars))
    if answers:
        answer = assistant.ask(q.question, project)
        out.answered = answer.covered
        out.citation_hit = citation_hit(q, answer) if q.covered else None
        out.unsupported_numbers = sum(f.startswith(UNSUPPORTED_FLAG) for f in answer.flags)
        out.citations = [f"{c.file}, p. {c.page}" if c.page else f"{c.file}, {c.section or ''}"
                         for c in answer.citations]
        out.answer = answer.answer
        out.retrieval_ms = answer.timings.retrieval_ms
        out.first_token_ms = answer.timings.first_token_ms
        out.total_ms = answer.timings.total_ms
    return out


def evaluate(assistant: Assistant, questions: list[Question], project: str, *, k: int = 5, answers: bool = False,
             include_knowledge: bool = True, questions_file: str = "", progress: Progress | None = None
             ) -> EvalReport:
    """Search (and answer) every question; the summary holds the retrieval and answer metrics."""
    results = []
    for i, q in enumerate(questions):
        if progress:
            progress(q.id, i, len(questions))
        results.append(evaluate_question(assistant, q, project, k=k, answers=answers,
                                         include_knowledge=include_knowledge))
    if progress:
        progress("terminé", len(questions), len(questions))
    return EvalReport(questions_file=questions_file, project=project, k=k, results=results,
                      summary=summarize(results, k, assistant.settings.retrieval.min_dense_score, answers))


def summarize(results: list[QuestionResult], k: int, min_dense_score: float, answers: bool = False) -> dict:
    summary = {"questions": len(results), "uncovered": sum(not r.covered for r in results),
               **retrieval_metrics([r.rank for r in results if r.covered], k),
               "median_search_ms": round(statistics.median(r.search_ms for r in results), 1) if results else None,
               **quote_read(results),
               "coverage_rule": coverage_rates(results, min_dense_score),
               "suggested_min_dense_score": suggest_threshold(results)}
    if answers:
        summary["answers"] = answer_metrics(results)
    return summary


# -- report ----------------------------------------------------------------------------------------
def default_report_path(data_dir: Path, project: str) -> Path:
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", project).strip("-").lower() or "projet"
    return Path(data_dir) / "eval" / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"


def write_report(report: EvalReport, path: Path) -> Path:
    """Markdown when the path ends in .md, JSON lines otherwise (first line: the summary)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".md":
        path.write_text(report_markdown(report), encoding="utf-8")
        return path
    lines = [json.dumps({"summary": report.summary, "questions_file": report.questions_file,
                         "project": report.project, "k": report.k}, ensure_ascii=False)]
    lines += [json.dumps(asdict(r), ensure_ascii=False) for r in report.results]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def report_markdown(report: EvalReport) -> str:
    s = report.summary
    k = report.k
    out = [f"# Évaluation — projet « {report.project} »", "",
           f"Questions : {report.questions_file} ({s['questions']} dont {s['uncovered']} non couvertes)", "",
           "| mesure | valeur |", "|---|---|",
           f"| recall@1 | {shown(s['recall@1'])} |", f"| recall@{k} | {shown(s[f'recall@{k}'])} |",
           f"| MRR | {shown(s['mrr'])} |",
           f"| citation attendue lue par le modèle (quote_read) | {shown(s['quote_read'])} ({s['quote_read_count']}) |"]
    for key, value in s.get("answers", {}).items():
        out.append(f"| {key} | {shown(value)} |")
    out += ["", "| id | couverte | rang | lue au rang | meilleur cosinus | répondu | citation juste | passages |",
            "|---|---|---|---|---|---|---|---|"]
    for r in report.results:
        out.append(f"| {r.id} | {'oui' if r.covered else 'non'} | {r.rank or '—'} | {r.read_rank or '—'} | "
                   f"{r.best_dense:.3f} | "
                   f"{_yes_no(r.answered)} | {_yes_no(r.citation_hit)} | {'; '.join(r.top[:3])} |")
    return "\n".join(out) + "\n"


def shown(value) -> str:
    """« — » for a metric that does not apply (no covered question in the file, say)."""
    return "—" if value is None else str(value)


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("oui" if value else "non")
