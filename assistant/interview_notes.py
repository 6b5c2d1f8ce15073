"""Interview notes → pseudonymised text → key statements → « avis de partie prenante » in the diagnostic.

The notes (TXT, Markdown, DOCX, ODT) are read by the project's readers and pseudonymised before the model or the
strategy sees them; the pseudonymised copy is kept in the project folder (``entretiens/``), the original never
is. The chat model picks statements with ``complete_json`` (a small schema: verbatim quote, one-line summary,
diagnostic axis); a statement whose quote is not in the notes is dropped. Kept statements become diagnostic
evidence with an ``entretien`` provenance, left unconfirmed: a person reviews what the model read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from .errors import InputError
from .ingest import parse_file
from .llm import ChatModel
from .pseudonymize import PseudonymizedText, pseudonymize
from .workflow.artifacts import AXIS_LABELS, Axis, Evidence, Strategy
from .workflow.prompting import load_prompt
from .workflow.provenance import STAKEHOLDER_LABELS, InterviewSource
from .workflow.quotes import quote_occurs
from .workflow.storage import ProjectStorage, write_atomic

__all__ = ["NOTES_DIR", "NOTE_TYPES", "NotesResult", "Statement", "Statements", "add_interview_notes",
           "extract_statements", "read_notes"]

NOTES_DIR = "entretiens"
NOTE_TYPES = ("txt", "md", "docx", "odt")
CHUNK_CHARS = 2500  # the local model reads 4k tokens: prompt, notes and reply must fit
MAX_STATEMENTS = 6


class Statement(BaseModel):
    quote: str = Field(description="Extrait recopié mot pour mot des notes")
    summary: str = Field(description="Le constat en une phrase courte")
    axis: Axis = Field(description="Axe du diagnostic")


class Statements(BaseModel):
    statements: list[Statement] = Field(default_factory=list, max_length=MAX_STATEMENTS)


@dataclass
class NotesResult:
    file: str
    stakeholder_type: str
    pseudonymized: PseudonymizedText
    saved_to: Path | None = None
    added: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    model_used: bool = False
    version: int = 0


def read_notes(path: Path) -> str:
    """The text of a notes file, through the same readers as indexed documents."""
    doc = parse_file(path)
    if doc.doc_type not in NOTE_TYPES:
        raise InputError(f"« {doc.file} » est un fichier {doc.doc_type.upper()}, pas des notes d'entretien",
                         fix="déposez des notes au format TXT, Markdown, DOCX ou ODT")
    return "\n\n".join(p.text for p in doc.pages if p.text.strip())


def _chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    chunks, current = [], ""
    for paragraph in text.split("\n"):
        if current and len(current) + len(paragraph) + 1 > size:
            chunks.append(current)
            current = ""
        current = f"{current}\n{paragraph}" if current else paragraph[:size]
    if current.strip():
        chunks.append(current)
    return chunks


def extract_statements(chat: ChatModel, text: str, stakeholder_type: str, territory: str, *,
                       prompts_dir: Path | None = None) -> tuple[list[Statement], list[str]]:
    """Statements whose quote really occurs in the notes, and the reasons others were dropped."""
    kept: list[Statement] = []
    dropped: list[str] = []
    axes = ", ".join(f"{key} ({label})" for key, label in AXIS_LABELS.items())
    for chunk in _chunks(text):
        prompt = load_prompt("interview_statements", prompts_dir, territory=territory, notes=chunk, axes=axes,
                             stakeholder=STAKEHOLDER_LABELS[stakeholder_type])
        reply = chat.complete_json([{"role": "user", "content": prompt}], Statements)
        for statement in reply.statements:
            if not quote_occurs(statement.quote, chunk):
                dropped.append(f"« {statement.summary} » : extrait introuvable dans les notes")
            elif any(k.summary == statement.summary for k in kept):
                continue
            else:
                kept.append(statement)
    return kept, dropped


def _not_names(strategy: Strategy) -> list[str]:
    """Names the project already knows as places or organisations: never mistaken for people."""
    names = [strategy.title]
    if strategy.cadrage.territory:
        names.append(strategy.cadrage.territory.name)
    names += [c.name for c in strategy.diagnostic.competitors]
    names += [p.name for p in strategy.cadrage.stakeholders if p.name]
    return [n for n in names if n]


def add_interview_notes(storage: ProjectStorage, slug: str, path: Path, stakeholder_type: str,
                        chat: ChatModel | None, *, prompts_dir: Path | None = None) -> NotesResult:
    """Read, pseudonymise and keep the notes; fold the statements the model finds into the diagnostic."""
    if stakeholder_type not in STAKEHOLDER_LABELS:
        raise InputError(f"Type de partie prenante inconnu : « {stakeholder_type} »",
                         fix="types possibles : " + ", ".join(STAKEHOLDER_LABELS))
    strategy = storage.load(slug)
    path = Path(path)
    text = read_notes(path)
    pseudo = pseudonymize(text, not_names=_not_names(strategy))
    result = NotesResult(file=path.name, stakeholder_type=stakeholder_type, pseudonymized=pseudo)
    folder = storage.project_dir(slug) / NOTES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    result.saved_to = folder / f"{path.stem}-pseudonymise.txt"
    write_atomic(result.saved_to, pseudo.text.rstrip() + "\n")
    result.version = strategy.version
    if chat is None:
        return result
    territory = strategy.cadrage.territory.name if strategy.cadrage.territory else strategy.title
    statements, result.dropped = extract_statements(chat, pseudo.text, stakeholder_type, territory,
                                                    prompts_dir=prompts_dir)
    result.model_used = True
    label = STAKEHOLDER_LABELS[stakeholder_type]
    present = {e.statement for e in strategy.diagnostic.evidence}
    for s in statements:
        statement = f"Avis des {label} : {s.summary.strip()}"
        if statement in present:
            continue
        source = InterviewSource(stakeholder_type=stakeholder_type, confirmed=False,
                                 note=f"{result.saved_to.name} — « {s.quote.strip()} »")
        strategy.diagnostic.evidence.append(Evidence(axis=s.axis, statement=statement, provenance=source))
        result.added.append(f"{statement} [{AXIS_LABELS[s.axis]}]")
    if result.added:
        result.version = storage.save(strategy).version
    return result
