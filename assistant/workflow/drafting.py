"""Drafting a stage from documents: gather passages, show them numbered, keep only verifiable proposals.

A proposal whose quote occurs verbatim in a passage gets provenance ``document`` (file, page, quote); one
with no quote becomes a ``hypothese``; one whose quote cannot be found, or whose text carries a number its
quote does not contain, is dropped and reported. Nothing drafted is confirmed until a person says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ValidationError

from ..schemas import Passage
from .artifacts import Strategy
from .extraction import DraftElement, DraftSpec, Merged
from .provenance import DocumentSource, HypothesisSource, Provenance
from .quotes import clean_quote, quote_occurs, unsupported_numbers

Search = Callable[[str], list[Passage]]
MAX_PASSAGES = 6
MIN_PASSAGE_CHARS = 110  # a heading and one line (« Pilotage : service tourisme ») is no evidence of anything
PASSAGE_CHARS = 700  # six passages of ~200 tokens leave room for the prompt and the reply in a 4k context


def gather(search: Search | None, queries: Sequence[str], limit: int = MAX_PASSAGES) -> list[Passage]:
    """Best passages across queries, taken in turn from each query so that every axis gets a voice."""
    if search is None:
        return []
    results = [[p for p in search(q) if len(p.chunk.text.strip()) >= MIN_PASSAGE_CHARS] for q in queries if q.strip()]
    chosen: list[Passage] = []
    seen: set[str] = set()
    for rank in range(max((len(r) for r in results), default=0)):
        for result in results:
            if rank < len(result) and result[rank].chunk.id not in seen and len(chosen) < limit:
                seen.add(result[rank].chunk.id)
                chosen.append(result[rank])
    return chosen


def render_passages(passages: Sequence[Passage]) -> str:
    if not passages:
        return "(aucun passage : toute proposition sera une hypothèse, avec un extrait vide)"
    blocks = []
    for n, p in enumerate(passages, 1):
        text = " ".join(p.chunk.text.split())
        cut = text[:PASSAGE_CHARS] + (" …" if len(text) > PASSAGE_CHARS else "")
        blocks.append(f"[{n}] {p.label}\n{cut}")
    return "\n\n".join(blocks)


def resolve_source(element: DraftElement, passages: Sequence[Passage]) -> Provenance | None:
    """Document provenance if the quote is verbatim in a passage, hypothesis if there is no quote, else None."""
    quote = (element.extrait or "").strip()
    if not quote:
        return HypothesisSource(rationale="proposé par le modèle sans passage à l'appui")
    # The cited passage first, then the others: a wrong number must not hide a genuine quote.
    cited = element.passage - 1 if element.passage and 0 < element.passage <= len(passages) else None
    order = ([passages[cited]] if cited is not None else []) + [p for i, p in enumerate(passages) if i != cited]
    for passage in order:
        if quote_occurs(quote, passage.chunk.text):
            c = passage.chunk
            return DocumentSource(file=c.file, page=c.page, section=c.section, quote=quote.strip("\"'«» "))
    return None


def is_heading(quote: str, section: str | None) -> bool:
    """A quote that is only the title of its section (« Axe 1 : Garantir… ») states nothing: small models copy
    headings because they look like claims."""
    if not section:
        return False
    return clean_quote(quote) in {clean_quote(part) for part in section.split(">")}


def _texts(element: BaseModel) -> list[str]:
    texts: list[str] = []
    for name in type(element).model_fields:
        if name in ("extrait", "passage"):
            continue
        value = getattr(element, name)
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            texts += [v for v in value if isinstance(v, str)]
    return texts


def apply_draft(strategy: Strategy, spec: DraftSpec, elements: Sequence[DraftElement],
                passages: Sequence[Passage]) -> tuple[Merged, list[str]]:
    """Add the verifiable proposals to the strategy; return the merge and the reasons for each dropped one."""
    merged, dropped = Merged(), []
    for element in elements:
        summary = " / ".join(t for t in _texts(element) if t)[:80] or "(vide)"
        source = resolve_source(element, passages)
        if source is None:
            dropped.append(f"« {summary} » : l'extrait cité ne figure dans aucun passage")
            continue
        if isinstance(source, DocumentSource) and is_heading(source.quote, source.section):
            dropped.append(f"« {summary} » : l'extrait cité est un titre de section, pas un constat")
            continue
        if isinstance(source, DocumentSource):
            invented = sorted({n for t in _texts(element) for n in unsupported_numbers(t, source.quote)})
            if invented:
                numbers = ", ".join(f"{n:g}" for n in invented)
                dropped.append(f"« {summary} » : chiffre(s) absent(s) de l'extrait ({numbers})")
                continue
        before = (len(merged.changes), len(merged.warnings))
        try:
            spec.build(strategy, element, source, merged)
        except ValidationError as e:
            dropped.append(f"« {summary} » : proposition incomplète ({e.errors()[0]['msg']})")
            continue
        if (len(merged.changes), len(merged.warnings)) == before:
            dropped.append(f"« {summary} » : déjà présent")
    return merged, dropped
