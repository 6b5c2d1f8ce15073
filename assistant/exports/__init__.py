"""Deliverables of a strategy: the document (DOCX, ODT, Markdown), the action plan (XLSX, ODS, CSV), the JSON.

    export_strategy(strategy, "docx", Path("strategie.docx"))

- ``blocks``: the small document model every writer draws;
- ``strategy_doc``: what the strategy document says (cover, summary for élus, stages, sources);
- ``to_markdown`` / ``to_docx`` / ``to_odt``: the writers (real footnotes in DOCX and ODT);
- ``sheets``: the action plan as a spreadsheet;
- ``sources``: footnote texts, hypothesis markers, licence lines of the cited corpus files.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import shared_dir, PROJECT_ROOT
from ..errors import InputError, WorkflowError
from ..workflow.artifacts import Strategy, strategy_schema
from .blocks import Document
from .strategy_doc import build_strategy_document

__all__ = ["DEFAULT_SOURCES_MD", "FORMATS", "ExportResult", "default_name", "export_strategy", "strategy_json",
           "write_document"]

FORMATS = ("docx", "odt", "md", "xlsx", "ods", "csv", "json")
SHEET_FORMATS = ("xlsx", "ods", "csv")
DEFAULT_SOURCES_MD = shared_dir() / "corpus" / "SOURCES.md"


@dataclass
class ExportResult:
    path: Path
    format: str
    summary: str
    extra_files: tuple[Path, ...] = ()


def default_name(strategy: Strategy, fmt: str) -> str:
    stem = "plan-action" if fmt in SHEET_FORMATS else "strategie"
    return f"{stem}-{strategy.slug}.{fmt}"


def strategy_json(strategy: Strategy) -> str:
    """The strategy as JSON, validated against ``strategy.schema.json`` (the file a consultant can reuse)."""
    import jsonschema

    data = strategy.model_dump(mode="json")
    try:
        jsonschema.validate(data, strategy_schema())
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "racine"
        raise WorkflowError(f"La stratégie « {strategy.title} » ne respecte pas son schéma ({where} : "
                            f"{e.message[:160]})", fix="corrigez l'élément indiqué puis exportez de nouveau") from e
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def write_document(doc: Document, fmt: str, path: Path) -> Path:
    """Write any ``blocks.Document`` (strategy, interview guide…) as DOCX, ODT or Markdown."""
    if fmt == "docx":
        from .to_docx import write_docx

        return write_docx(doc, path)
    if fmt == "odt":
        from .to_odt import write_odt

        return write_odt(doc, path)
    if fmt == "md":
        from .to_markdown import write_markdown

        return write_markdown(doc, path)
    raise InputError(f"Format de document inconnu : « {fmt} »", fix="choisissez docx, odt ou md")


def export_strategy(strategy: Strategy, fmt: str, path: Path, *,
                    sources_md: Path | None = DEFAULT_SOURCES_MD) -> ExportResult:
    """Write one deliverable of ``strategy`` in ``fmt`` at ``path`` (its folder is created)."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(f"Format d'export inconnu : « {fmt} »", fix="formats possibles : " + ", ".join(FORMATS))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path.write_text(strategy_json(strategy), encoding="utf-8")
        return ExportResult(path, fmt, "Stratégie au format JSON, conforme à strategy.schema.json.")
    if fmt in SHEET_FORMATS:
        from . import sheets

        writer = {"xlsx": sheets.write_xlsx, "ods": sheets.write_ods, "csv": sheets.write_csv}[fmt]
        writer(strategy, path)
        count = len(strategy.plan_action.actions)
        return ExportResult(path, fmt, f"Plan d'action : {count} action(s).")
    extra: tuple[Path, ...] = ()
    if fmt == "md":
        doc = build_strategy_document(strategy, chart_dir=path.parent, sources_md=sources_md)
        extra = tuple(b.path for b in doc.blocks if hasattr(b, "path"))
        write_document(doc, fmt, path)
    else:
        with tempfile.TemporaryDirectory(prefix="assistant-export-") as tmp:
            doc = build_strategy_document(strategy, chart_dir=Path(tmp), sources_md=sources_md)
            write_document(doc, fmt, path)  # the chart is embedded: the temporary PNG can go
    notes = len(doc.notes())
    return ExportResult(path, fmt, f"Document « {doc.title} » : {notes} note(s) de source.", extra)
