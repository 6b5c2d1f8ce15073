"""Pydantic models that cross a module boundary: chunks, passages, citations, answers, ingestion reports.

Stage artifacts of the strategy method live in ``assistant.workflow.artifacts``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

KNOWLEDGE_PROJECT = "_methode"
"""Reserved project name of the methodology collection (``knowledge/``), always searchable."""

DocType = Literal["pdf", "md", "html", "txt", "docx", "odt", "csv"]


class Chunk(BaseModel):
    """A piece of a document with everything needed to cite it back to the exact page or section."""

    id: str = Field(description="Identifiant stable : hash du projet, du fichier, de la page et du contenu")
    project: str = Field(description="Projet (territoire) auquel appartient le document")
    file: str = Field(description="Nom du fichier source (sans dossier)")
    doc_type: DocType
    page: int | None = Field(default=None, description="Page PDF (1 = première page), None hors PDF")
    section: str | None = Field(default=None, description="Titre de section (Markdown, HTML, DOCX…)")
    start: int = Field(description="Position du premier caractère dans le texte nettoyé de la page")
    end: int = Field(description="Position après le dernier caractère")
    text: str
    content_hash: str = Field(description="sha256 du fichier source entier")
    ingested_at: str = Field(description="Horodatage ISO 8601 de l'indexation")

    def metadata(self) -> dict:
        """Flat metadata for the vector store (no None values: Chroma rejects them)."""
        meta = self.model_dump(exclude={"id", "text"})
        return {k: v for k, v in meta.items() if v is not None}


class Passage(BaseModel):
    """A retrieved chunk and its score, as shown to the model and to the user."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None

    @property
    def label(self) -> str:
        c = self.chunk
        where = f"p. {c.page}" if c.page else (c.section or "")
        return f"{c.file}, {where}".rstrip(", ")


class Citation(BaseModel):
    n: int = Field(description="Numéro de la citation dans la réponse ([1], [2]…)")
    file: str
    page: int | None = None
    section: str | None = None
    quote: str = Field(description="Extrait verbatim vérifié dans le passage cité")
    project: str = ""


class Timings(BaseModel):
    retrieval_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0


class Answer(BaseModel):
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    covered: bool = True
    flags: list[str] = Field(default_factory=list, description="Alertes : nombres non sourcés, citations retirées…")
    timings: Timings = Field(default_factory=Timings)
    passages: list[Passage] = Field(default_factory=list, exclude=True)


class DocumentRecord(BaseModel):
    """One indexed file of a project, as listed by ``documents``."""

    project: str
    file: str
    doc_type: str
    content_hash: str
    pages: int
    chunks: int
    ingested_at: str
    embedded: bool = True


IngestStatus = Literal["indexed", "unchanged", "replaced", "refused"]


class FileReport(BaseModel):
    """Outcome of ingesting one file; ``message`` is French and says the fix when refused."""

    file: str
    status: IngestStatus
    chunks: int = 0
    pages: int = 0
    message: str = ""
    reason: str | None = Field(None, description="Motif du refus : no_text, encrypted, corrupt, too_large, "
                               "unsupported, invalid_name, not_found, unreadable")
    empty_pages: list[int] = Field(default_factory=list)
