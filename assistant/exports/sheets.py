"""The action plan as a spreadsheet: XLSX (openpyxl), ODS (odfpy) and CSV for Excel-FR (``;``, UTF-8 with BOM).

One row per action. The budget is a number (summable in the spreadsheet); its provenance and any hypothesis are
spelled out in their own columns, so that a filtered or sorted sheet still says what is to be validated.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..territory import format_number
from ..workflow.artifacts import ACTION_TYPE_LABELS, Strategy
from ..workflow.provenance import HypothesisSource, describe
from .sources import HYPOTHESIS_MARK, marker, note_text

HEADERS = ["Réf.", "Action", "Type", "Cibles", "DAS", "Canal", "Porteur", "Début", "Fin", "Période",
           "Budget", "Unité", "Année du budget", "Source du budget", "Note sur le budget", "Indicateurs",
           "Provenance de l'action", "À valider"]
_WIDTHS = {"Action": 40, "Cibles": 28, "Indicateurs": 30, "Source du budget": 40, "Provenance de l'action": 40,
           "Note sur le budget": 28, "À valider": 24}


def action_rows(strategy: Strategy) -> list[dict[str, object]]:
    """Plain rows (numbers stay numbers) shared by the three formats."""
    targets = {t.id: t.name for t in strategy.diagnostic.targets}
    das = {d.id: d.name for d in strategy.das.domains}
    kpis = {k.id: k.name for k in strategy.tableau_de_bord.kpis}
    rows = []
    for a in strategy.plan_action.actions:
        warnings = [m.text for m in (marker(a.provenance), marker(a.budget.provenance) if a.budget else None) if m]
        if a.budget and isinstance(a.budget.provenance, HypothesisSource) and not a.budget.provenance.confirmed:
            warnings = [w if w != HYPOTHESIS_MARK else f"{HYPOTHESIS_MARK} (budget)" for w in warnings]
        rows.append({
            "Réf.": a.id, "Action": a.title, "Type": ACTION_TYPE_LABELS[a.type],
            "Cibles": " ; ".join(targets.get(t, t) for t in a.target_ids), "DAS": das.get(a.das_id or "", ""),
            "Canal": a.channel, "Porteur": a.owner, "Début": a.start or "", "Fin": a.end or "", "Période": a.period,
            "Budget": a.budget.value if a.budget else None, "Unité": a.budget.unit if a.budget else "",
            "Année du budget": a.budget.year if a.budget and a.budget.year else None,
            "Source du budget": _source(a.budget.provenance) if a.budget else "",
            "Note sur le budget": a.budget_note, "Indicateurs": " ; ".join(kpis.get(k, k) for k in a.kpi_ids),
            "Provenance de l'action": _source(a.provenance),
            "À valider": " ; ".join(dict.fromkeys(warnings)),
        })
    return rows


def write_csv(strategy: Strategy, path: Path) -> Path:
    """``;`` separated, UTF-8 with BOM and decimal commas: Excel in French opens it without an import wizard."""
    path = Path(path)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(HEADERS)
        for row in action_rows(strategy):
            writer.writerow([_csv_cell(row[h]) for h in HEADERS])
    return path


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = format_number(value, 0 if value.is_integer() else 2).replace("\u202f", "").replace(" ", "")
        return text.rstrip("0").rstrip(",") if "," in text else text
    return str(value)


def _source(provenance) -> str:
    if isinstance(provenance, HypothesisSource):
        return "Hypothèse sans source" + (f" — motif : {provenance.rationale}" if provenance.rationale else "")
    return note_text(provenance) or describe(provenance)


def write_xlsx(strategy: Strategy, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "Plan d'action"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E2F3")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in action_rows(strategy):
        ws.append([row[h] for h in HEADERS])
    budget_col = HEADERS.index("Budget") + 1
    for r in range(2, ws.max_row + 1):
        ws.cell(r, budget_col).number_format = "#,##0.00"
        for c in range(1, len(HEADERS) + 1):
            ws.cell(r, c).alignment = Alignment(wrap_text=True, vertical="top")
    for i, header in enumerate(HEADERS, 1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(header, 14)
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = ws.dimensions
    wb.properties.title = f"Plan d'action — {strategy.title}"
    path = Path(path)
    wb.save(path)
    return path


def write_ods(strategy: Strategy, path: Path) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import Style, TableCellProperties, TableColumnProperties, TextProperties
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    head = Style(name="Head", family="table-cell")
    head.addElement(TextProperties(fontweight="bold"))
    head.addElement(TableCellProperties(backgroundcolor="#d9e2f3"))
    doc.automaticstyles.addElement(head)
    table = Table(name="Plan d'action")
    for i, header in enumerate(HEADERS):
        col = Style(name=f"col{i}", family="table-column")
        col.addElement(TableColumnProperties(columnwidth=f"{_WIDTHS.get(header, 14) * 0.2:.1f}cm"))
        doc.automaticstyles.addElement(col)
        table.addElement(TableColumn(stylename=col))

    def cell(value: object, style=None) -> TableCell:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = int(value) if float(value).is_integer() else value  # "15000", not "15000.0"
            tc = TableCell(valuetype="float", value=number, **({"stylename": style} if style else {}))
            tc.addElement(P(text=_csv_cell(float(value))))
        else:
            tc = TableCell(valuetype="string", **({"stylename": style} if style else {}))
            tc.addElement(P(text="" if value is None else str(value)))
        return tc

    tr = TableRow()
    for header in HEADERS:
        tr.addElement(cell(header, head))
    table.addElement(tr)
    for row in action_rows(strategy):
        tr = TableRow()
        for header in HEADERS:
            tr.addElement(cell(row[header]))
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    path = Path(path)
    doc.save(str(path))
    return path
