"""How a provenance is shown in a deliverable: a footnote text, a warning marker, and the licence lines owed.

- a document passage → note « fichier, p. N — « extrait » »;
- official data → note « jeu de données, millésime » ;
- an interview → note « entretien (type de partie prenante) » ;
- typed by the team → no note (the introduction says so) ;
- a hypothesis → the marker « [Hypothèse à valider] » next to the text, never a note that would look like a source.

Files of the shared corpus come with attribution lines (``shared/corpus/SOURCES.md``): a deliverable that cites
one of them repeats its origin and licence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..territory import INDICATORS_ATTRIBUTION, POPULATION_ATTRIBUTION, format_number
from ..workflow.artifacts import Figure, Strategy
from ..workflow.items import iter_items
from ..workflow.provenance import (
    STAKEHOLDER_LABELS, DocumentSource, HypothesisSource, InterviewSource, OfficialDataSource, UserSource,
)
from .blocks import Inline, Note, Run

HYPOTHESIS_MARK = "[Hypothèse à valider]"
CONFIRMED_HYPOTHESIS_MARK = "[Hypothèse validée, à sourcer]"
PROPOSAL_MARK = "[Proposition à valider]"
_MAX_QUOTE = 280


def note_text(provenance) -> str | None:
    if isinstance(provenance, DocumentSource):
        where = f"p. {provenance.page}" if provenance.page else (provenance.section or "")
        quote = provenance.quote if len(provenance.quote) <= _MAX_QUOTE else provenance.quote[:_MAX_QUOTE] + "…"
        return f"{provenance.file}{', ' + where if where else ''} — « {quote} »"
    if isinstance(provenance, OfficialDataSource):
        year = f"millésime {provenance.year}" if provenance.year else "millésime non précisé dans le fichier"
        code = f", code {provenance.code}" if provenance.code else ""
        return f"{provenance.dataset}, {year}{code}"
    if isinstance(provenance, InterviewSource):
        context = f" — {provenance.note}" if provenance.note else ""
        return f"Entretien avec des {STAKEHOLDER_LABELS[provenance.stakeholder_type]}{context}"
    return None


def marker(provenance) -> Run | None:
    if isinstance(provenance, HypothesisSource):
        return Run(CONFIRMED_HYPOTHESIS_MARK if provenance.confirmed else HYPOTHESIS_MARK, bold=True, mark=True)
    if not isinstance(provenance, UserSource) and not provenance.confirmed:
        return Run(PROPOSAL_MARK, bold=True, mark=True)
    return None


def source_parts(provenance) -> list[Inline]:
    """What follows a sourced text: its warning marker, then its footnote."""
    parts: list[Inline] = []
    mark = marker(provenance)
    if mark:
        parts += [Run(" "), mark]
    text = note_text(provenance)
    if text:
        parts.append(Note(text))
    elif isinstance(provenance, HypothesisSource) and provenance.rationale:
        parts.append(Note(f"Hypothèse sans source — motif : {provenance.rationale}"))
    return parts


def sourced(text: str, provenance, *, bold: bool = False) -> list[Inline]:
    return [Run(text, bold=bold), *source_parts(provenance)]


def figure_text(figure: Figure) -> str:
    decimals = 0 if float(figure.value).is_integer() else 2
    number = format_number(figure.value, decimals)
    if decimals:
        number = number.rstrip("0").rstrip(",")  # "17,70" → "17,7"
    unit = f" {figure.unit}" if figure.unit else ""
    year = f" ({figure.year})" if figure.year else ""
    return f"{number}{unit}{year}"


def figure_parts(figure: Figure | None, *, empty: str = "—") -> list[Inline]:
    if figure is None:
        return [Run(empty)]
    return [Run(figure_text(figure)), *source_parts(figure.provenance)]


# ------------------------------------------------------------------------------------------------ citations


@dataclass
class Citations:
    documents: dict[str, set[int]] = field(default_factory=dict)  # file -> pages (empty: not paged)
    datasets: set[str] = field(default_factory=set)
    interviews: set[str] = field(default_factory=set)
    hypotheses: int = 0


def citations(strategy: Strategy) -> Citations:
    found = Citations()
    for ref in iter_items(strategy):
        for source in [ref.item.provenance] + [f.provenance for _, f in ref.item.figures()]:
            if isinstance(source, DocumentSource):
                pages = found.documents.setdefault(source.file, set())
                if source.page:
                    pages.add(source.page)
            elif isinstance(source, OfficialDataSource):
                found.datasets.add(source.dataset)
            elif isinstance(source, InterviewSource):
                found.interviews.add(STAKEHOLDER_LABELS[source.stakeholder_type])
            elif isinstance(source, HypothesisSource) and not source.confirmed:
                found.hypotheses += 1
    return found


@dataclass(frozen=True)
class CorpusEntry:
    paths: tuple[str, ...]  # relative to the corpus folder, possibly with a wildcard (``fiches/*.md``)
    origin: str
    licence: str
    names: frozenset[str] = frozenset()  # file names found on disk for those paths

    def line(self) -> str:
        return f"{', '.join(self.paths)} — {self.origin} — {self.licence}"

    def matches(self, name: str) -> bool:
        base = Path(name).name
        if self.names:
            return base in self.names
        return any("*" not in p and Path(p).name == base for p in self.paths)


def _clean(cell: str) -> str:
    return re.sub(r"\s+", " ", cell.replace("`", "").replace("**", "")).strip()


def read_corpus_sources(path: Path | None) -> list[CorpusEntry]:
    """The table of ``SOURCES.md``: file(s), origin, licence. Missing file → no attribution lines (not an error).

    "same repo" and "same" refer to the row above (or to the repository named by the folder, whose name is
    ``owner__repo``); wildcards are expanded on disk so that only files really in the corpus are attributed.
    """
    if path is None or not Path(path).is_file():
        return []
    root = Path(path).parent
    entries: list[CorpusEntry] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        paths = re.findall(r"`([^`]+)`", cells[0]) if len(cells) >= 3 else []
        if not paths:
            continue
        # "datacom.csv + meta.xlsx": the second name sits in the folder of the first one.
        folder = str(Path(paths[0]).parent)
        paths = [p if "/" in p else f"{folder}/{p}" for p in paths]
        repo = paths[0].split("/")[0].replace("__", "/")
        origin, licence = _clean(cells[1]), _clean(cells[2])
        if origin == "same" and entries:
            origin = entries[-1].origin
        origin = re.sub(r"^same repo(?: as [^:,]*)?", repo, origin)
        if licence == "same" and entries:
            licence = entries[-1].licence
        names = frozenset(f.name for p in paths for f in root.glob(p) if f.is_file())
        entries.append(CorpusEntry(tuple(paths), origin, licence, names))
    return entries


def attribution_lines(cited: Citations, sources_md: Path | None) -> list[str]:
    """Licence lines for every cited corpus file and official dataset, each once."""
    entries = read_corpus_sources(sources_md)
    lines: list[str] = []
    names = list(cited.documents)
    for dataset in cited.datasets:
        names += re.findall(r"[\w.-]+\.(?:csv|xlsx)", dataset)
        if "donnees_communes.csv" in dataset and POPULATION_ATTRIBUTION not in lines:
            lines.append(POPULATION_ATTRIBUTION)
        if "datacom.csv" in dataset and INDICATORS_ATTRIBUTION not in lines:
            lines.append(INDICATORS_ATTRIBUTION)
    for entry in entries:
        if any(entry.matches(n) for n in names):
            line = f"Corpus : {entry.line()}"
            if line not in lines:
                lines.append(line)
    return lines
