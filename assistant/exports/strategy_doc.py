"""The strategy document: cover, one-page summary for élus, then one chapter per stage, then the sources.

Everything shown comes from the ``Strategy`` with its provenance: a footnote for every sourced item and figure,
« [Hypothèse à valider] » next to every unconfirmed hypothesis, « [Proposition à valider] » next to what a
model drafted and nobody reviewed yet. Nothing is added that the strategy does not hold.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..charts import Bar, Panel, charts_available, draw_panels
from ..territory import format_number
from ..workflow.artifacts import (
    ACTION_TYPE_LABELS, AXIS_LABELS, INVOLVEMENT_LABELS, STAGE_LABELS, Strategy,
)
from ..workflow.items import pending_review
from ..workflow.provenance import STAKEHOLDER_LABELS, HypothesisSource, OfficialDataSource
from .blocks import Block, BulletList, Document, Heading, Image, Inline, Note, PageBreak, Paragraph, Run, Table
from .sources import (
    HYPOTHESIS_MARK, attribution_lines, citations, figure_parts, figure_text, note_text, source_parts, sourced,
)

TERRITORY_TYPES = {"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région"}
_NONE = [Run("—")]


def _territory_name(s: Strategy) -> str:
    t = s.cadrage.territory
    return t.name if t and t.name else s.title


def _joined(values: list[str]) -> list[Inline]:
    return [Run(" ; ".join(v for v in values if v))] if any(values) else list(_NONE)


def build_strategy_document(strategy: Strategy, *, chart_dir: Path | None = None,
                            sources_md: Path | None = None) -> Document:
    """The whole deliverable as blocks; ``chart_dir`` receives the KPI chart (PNG) when there are values."""
    s = strategy
    doc = Document(title=f"Stratégie d'attractivité — {_territory_name(s)}",
                   subject="Stratégie de marketing territorial")
    blocks = doc.blocks
    blocks += _cover(s)
    blocks += _summary(s)
    blocks += _cadrage(s)
    blocks += _diagnostic(s)
    blocks += _das(s)
    blocks += _positionnement(s)
    blocks += _plan(s)
    blocks += _dashboard(s, chart_dir)
    blocks += _sources(s, sources_md)
    return doc


def _cover(s: Strategy) -> list[Block]:
    t = s.cadrage.territory
    kind = TERRITORY_TYPES.get(t.type or "", "") if t else ""
    code = f" — code INSEE {t.code_insee}" if t and t.code_insee else (f" — SIREN {t.siren}" if t and t.siren else "")
    pending = len(pending_review(s))
    return [
        Paragraph([Run("Stratégie d'attractivité et de marketing territorial")], style="subtitle"),
        Paragraph([Run(_territory_name(s))], style="title"),
        Paragraph([Run(f"{kind.capitalize()}{code}" if kind or code else s.title)], style="subtitle"),
        Paragraph([Run(f"Projet « {s.title} » — version {s.version} du {date.today().strftime('%d/%m/%Y')} — "
                       f"étape en cours : {STAGE_LABELS[s.current_stage]}")]),
        Paragraph([Run("Document de travail produit avec l'assistant de stratégie territoriale. Chaque chiffre et "
                       "chaque constat renvoie à sa source en note de bas de page ; les éléments saisis par l'équipe "
                       "projet n'ont pas d'appel de note. Les mentions "), Run(HYPOTHESIS_MARK, bold=True, mark=True),
                   Run(" signalent des propositions sans source, à confirmer avant toute diffusion"
                       + (f" ({pending} élément(s) restent à valider)." if pending else "."))], style="small"),
        PageBreak(),
    ]


def _summary(s: Strategy) -> list[Block]:
    d = s.diagnostic
    blocks: list[Block] = [Heading("Synthèse pour les élus", 1)]
    if s.cadrage.ambition:
        a = s.cadrage.ambition
        horizon = f" (horizon {a.horizon})" if a.horizon else ""
        blocks.append(Paragraph([Run("Ambition : ", bold=True), *sourced(a.text + horizon, a.provenance)]))
    # Official figures first (population at their head), then sourced figures from documents.
    key = [e for e in d.evidence if e.figure or isinstance(e.provenance, OfficialDataSource)]
    key.sort(key=lambda e: (not isinstance(e.provenance, OfficialDataSource), "opulation" not in e.statement))
    # One page: no notes here (each line is sourced in the chapters), but hypotheses stay marked.
    points: list[tuple[str, list[list[Inline]]]] = [
        ("Chiffres clés", [_brief(e.statement, e.provenance) for e in key[:5]]),
        ("Forces", [_brief(i.text, i.provenance) for i in d.strengths[:3]]),
        ("Faiblesses", [_brief(i.text, i.provenance) for i in d.weaknesses[:3]]),
        ("Cibles prioritaires", [_brief(t.name, t.provenance) for t in d.targets[:4]]),
        ("Domaines d'activité stratégique", [_brief(x.name, x.provenance) for x in s.das.domains[:4]]),
        ("Promesses", [_brief(p.promise, p.provenance) for p in s.positionnement.positionings[:3] if p.promise]),
    ]
    for title, items in points:
        if items:
            blocks += [Paragraph([Run(title, bold=True)]), BulletList(items)]
    budget, hypothetical = _budget(s)
    actions = len(s.plan_action.actions)
    if actions:
        text = f"{actions} action(s) planifiée(s)"
        if budget:
            text += f", budget chiffré {format_number(budget)} €"
            if hypothetical:
                text += f" dont {format_number(hypothetical)} € d'hypothèses à valider"
        blocks.append(Paragraph([Run("Plan d'action : ", bold=True), Run(text + ".")]))
    if s.tableau_de_bord.kpis:
        blocks.append(Paragraph([Run("Suivi : ", bold=True),
                                 Run(f"{len(s.tableau_de_bord.kpis)} indicateur(s) au tableau de bord.")]))
    pending = pending_review(s)
    if pending:
        blocks.append(Paragraph([Run("À valider avant diffusion : ", bold=True),
                                 Run(f"{len(pending)} proposition(s) ou hypothèse(s), signalées dans le texte.")]))
    blocks.append(Paragraph([Run("Les sources de chaque élément figurent en note dans les chapitres suivants.")],
                            style="small"))
    blocks.append(PageBreak())
    return blocks


_EUROS = {"€": 1, "eur": 1, "euro": 1, "euros": 1, "": 1, "k€": 1e3, "keur": 1e3, "m€": 1e6, "meur": 1e6,
          "millions d'euros": 1e6, "millions €": 1e6}


def _brief(text: str, provenance) -> list[Inline]:
    return [p for p in sourced(text, provenance) if not isinstance(p, Note)]


def _budget(s: Strategy) -> tuple[float, float]:
    """Total of the action budgets in euros, and the part of it that is still a hypothesis."""
    total = hypothetical = 0.0
    for a in s.plan_action.actions:
        factor = _EUROS.get(a.budget.unit.strip().lower()) if a.budget else None
        if a.budget and factor:
            total += a.budget.value * factor
            if isinstance(a.budget.provenance, HypothesisSource) and not a.budget.provenance.confirmed:
                hypothetical += a.budget.value * factor
    return total, hypothetical


def _cadrage(s: Strategy) -> list[Block]:
    c = s.cadrage
    blocks: list[Block] = [Heading(f"1. {STAGE_LABELS['cadrage']}", 1)]
    if c.territory:
        t = c.territory
        details = [x for x in (TERRITORY_TYPES.get(t.type or "", ""), t.settlement or "",
                               f"code INSEE {t.code_insee}" if t.code_insee else "",
                               f"SIREN {t.siren}" if t.siren else "", t.perimeter) if x]
        blocks.append(Paragraph([Run("Territoire : ", bold=True),
                                 *sourced(t.name + (f" ({', '.join(details)})" if details else ""), t.provenance)]))
    if c.ambition:
        blocks.append(Paragraph([Run("Ambition : ", bold=True), *sourced(c.ambition.text, c.ambition.provenance)]))
    if c.stakeholders:
        rows = [[sourced(STAKEHOLDER_LABELS[p.type], p.provenance), [Run(p.name or "—")], _joined(p.expectations),
                 [Run(INVOLVEMENT_LABELS[p.involvement])], [Run(p.how or "—")]] for p in c.stakeholders]
        blocks.append(Table(["Partie prenante", "Acteur", "Attentes", "Implication", "Modalité"], rows,
                            caption="Parties prenantes", widths=[1.5, 1.5, 2.5, 1, 1.2]))
    if len(blocks) == 1:
        blocks.append(Paragraph([Run("Étape non renseignée.", italic=True)]))
    return blocks


def _diagnostic(s: Strategy) -> list[Block]:
    d = s.diagnostic
    blocks: list[Block] = [Heading(f"2. {STAGE_LABELS['diagnostic']}", 1)]
    if d.evidence:
        blocks.append(Heading("Constats par axe", 2))
        order = list(AXIS_LABELS)
        rows = [[[Run(AXIS_LABELS[e.axis])], sourced(e.statement, e.provenance), _figure_cell(e)]
                for e in sorted(d.evidence, key=lambda e: order.index(e.axis))]
        blocks.append(Table(["Axe", "Constat", "Chiffre"], rows, caption="Constats du diagnostic",
                            widths=[1.2, 3, 1.5]))
    blocks.append(Heading("Matrice SWOT", 2))

    def cell(items) -> list[Inline]:
        parts: list[Inline] = []
        for i, item in enumerate(items):
            parts += ([Run("\n")] if i else []) + [Run("• ")] + sourced(item.text, item.provenance)
        return parts or [Run("(aucun élément)", italic=True)]

    blocks.append(Table(["Forces (internes)", "Faiblesses (internes)"],
                        [[cell(d.strengths), cell(d.weaknesses)],
                         [[Run("Opportunités (externes)", bold=True)], [Run("Menaces (externes)", bold=True)]],
                         [cell(d.opportunities), cell(d.threats)]], caption="Matrice SWOT", grid=True))
    if d.targets:
        blocks += [Heading("Cibles prioritaires", 2),
                   BulletList([sourced(t.name + (f" — {t.rationale}" if t.rationale else ""), t.provenance)
                               for t in d.targets])]
    if d.competitors:
        blocks += [Heading("Territoires concurrents", 2),
                   BulletList([[Run(c.name, bold=True), Run(f" — {c.reason}" if c.reason else ""),
                                *source_parts(c.provenance)] for c in d.competitors])]
    return blocks


def _figure_cell(evidence) -> list[Inline]:
    """The figure of a constat; its note is left out when the constat already cites the same source."""
    parts = figure_parts(evidence.figure)
    if evidence.figure and note_text(evidence.figure.provenance) == note_text(evidence.provenance):
        parts = [p for p in parts if not isinstance(p, Note)]
    return parts


def _names(ids: list[str], items) -> list[Inline]:
    by_id = {i.id: i.label() for i in items}
    return _joined([by_id.get(i, f"(supprimé : {i})") for i in ids])


def _das(s: Strategy) -> list[Block]:
    blocks: list[Block] = [Heading(f"3. {STAGE_LABELS['das']}", 1)]
    if not s.das.domains:
        return blocks + [Paragraph([Run("Aucun DAS défini.", italic=True)])]
    rows = []
    for x in s.das.domains:
        budget = figure_parts(x.budget, empty=x.budget_note or "non chiffré")
        rows.append([sourced(x.name, x.provenance, bold=True), _joined(x.activities),
                     _names(x.target_ids, s.diagnostic.targets), [Run(x.mission or "—")], _joined(x.objectives),
                     _joined(x.key_success_factors), _joined(x.resources), budget])
    blocks.append(Table(["DAS", "Activités", "Cibles", "Mission", "Objectifs", "FCS", "Ressources", "Budget"], rows,
                        caption="Domaines d'activité stratégique"))
    return blocks


def _positionnement(s: Strategy) -> list[Block]:
    blocks: list[Block] = [Heading(f"4. {STAGE_LABELS['positionnement']}", 1)]
    targets = {t.id: t.name for t in s.diagnostic.targets}
    if not s.positionnement.positionings:
        return blocks + [Paragraph([Run("Aucun positionnement défini.", italic=True)])]
    for p in s.positionnement.positionings:
        blocks.append(Heading(f"Cible : {targets.get(p.target_id, p.target_id)}", 2))
        blocks.append(Paragraph([Run("Promesse : ", bold=True), *sourced(p.promise or "—", p.provenance)]))
        for label, values in (("Avantages compétitifs", p.advantages), ("Marqueurs identitaires", p.identity_markers)):
            if values:
                blocks += [Paragraph([Run(label, bold=True)]), BulletList([[Run(v)] for v in values])]
        if p.slogan:
            blocks.append(Paragraph([Run("Slogan : ", bold=True), Run(f"« {p.slogan} »", italic=True)]))
    return blocks


def _calendar(a) -> str:
    if a.start or a.end:
        return f"{a.start or '?'} → {a.end or '?'}"
    return a.period or "—"


def _plan(s: Strategy) -> list[Block]:
    blocks: list[Block] = [Heading(f"5. {STAGE_LABELS['plan_action']}", 1)]
    if not s.plan_action.actions:
        return blocks + [Paragraph([Run("Aucune action planifiée.", italic=True)])]
    rows = []
    for a in s.plan_action.actions:
        das = next((x.name for x in s.das.domains if x.id == a.das_id), "—")
        rows.append([sourced(a.title, a.provenance, bold=True), [Run(ACTION_TYPE_LABELS[a.type])],
                     _names(a.target_ids, s.diagnostic.targets), [Run(das)], [Run(a.channel or "—")],
                     [Run(a.owner or "—")], [Run(_calendar(a))],
                     figure_parts(a.budget, empty=a.budget_note or "non chiffré"),
                     _names(a.kpi_ids, s.tableau_de_bord.kpis)])
    blocks.append(Table(["Action", "Type", "Cibles", "DAS", "Canal", "Porteur", "Calendrier", "Budget",
                         "Indicateurs"], rows, caption="Plan d'action"))
    return blocks


def _dashboard(s: Strategy, chart_dir: Path | None) -> list[Block]:
    blocks: list[Block] = [Heading(f"6. {STAGE_LABELS['tableau_de_bord']}", 1)]
    kpis = s.tableau_de_bord.kpis
    if not kpis:
        return blocks + [Paragraph([Run("Aucun indicateur défini.", italic=True)])]
    rows = [[sourced(k.name, k.provenance, bold=True), [Run(k.nature)], [Run(k.formula or k.definition or "—")],
             [Run(k.source or "—")], figure_parts(k.baseline), figure_parts(k.target), [Run(k.frequency or "—")],
             [Run(k.owner or "—")]] for k in kpis]
    blocks.append(Table(["Indicateur", "Nature", "Formule", "Source", "Valeur de départ", "Valeur cible",
                         "Fréquence", "Responsable"], rows, caption="Tableau de bord"))
    chart = kpi_chart(s, chart_dir) if chart_dir is not None else None
    if chart:
        blocks.append(Image(chart, "Indicateurs : valeur de départ et valeur cible"))
    return blocks


def kpi_chart(s: Strategy, folder: Path) -> Path | None:
    """PNG of each quantitative KPI from its baseline to its target; None when no KPI has both."""
    panels = []
    for k in s.tableau_de_bord.kpis:
        if not (k.baseline and k.target):
            continue
        bars = [Bar(f"Départ {k.baseline.year}", k.baseline.value, figure_text(k.baseline), colour="#1f4e79"),
                Bar(f"Cible {k.target.year}", k.target.value, figure_text(k.target), colour="#c55a11")]
        hypo = [name for name, f in (("valeur de départ", k.baseline), ("valeur cible", k.target))
                if isinstance(f.provenance, HypothesisSource) and not f.provenance.confirmed]
        note = f"{HYPOTHESIS_MARK} : {' et '.join(hypo)}" if hypo else ""
        panels.append(Panel(k.name, bars, note=note))
    if not panels or not charts_available():
        return None
    return draw_panels(Path(folder) / f"indicateurs-{s.slug}.png", f"Tableau de bord — {_territory_name(s)}",
                       panels, footer="Valeurs et sources : voir le tableau des indicateurs.")


def _sources(s: Strategy, sources_md: Path | None) -> list[Block]:
    cited = citations(s)
    blocks: list[Block] = [Heading("Sources", 1)]
    if cited.documents:
        items = []
        for file, pages in sorted(cited.documents.items()):
            where = f" — p. {', '.join(str(p) for p in sorted(pages))}" if pages else ""
            items.append([Run(file, italic=True), Run(where)])
        blocks += [Paragraph([Run("Documents cités", bold=True)]), BulletList(items)]
    if cited.datasets:
        blocks += [Paragraph([Run("Données officielles", bold=True)]),
                   BulletList([[Run(d)] for d in sorted(cited.datasets)])]
    if cited.interviews:
        blocks += [Paragraph([Run("Entretiens", bold=True)]),
                   BulletList([[Run(f"Entretiens avec des {t} (notes pseudonymisées)")]
                               for t in sorted(cited.interviews)])]
    lines = attribution_lines(cited, sources_md)
    if lines:
        blocks += [Paragraph([Run("Attributions et licences", bold=True)]), BulletList([[Run(x)] for x in lines])]
    if cited.hypotheses:
        blocks.append(Paragraph([Run(f"{cited.hypotheses} hypothèse(s) sans source restent à valider : elles sont "
                                     f"marquées {HYPOTHESIS_MARK} dans le document.")]))
    if len(blocks) == 1:
        blocks.append(Paragraph([Run("Aucune source citée : tous les éléments ont été saisis par l'équipe projet.",
                                     italic=True)]))
    return blocks
