"""Web interface in French: the only gradio importer. Layout and event wiring only; logic lives in the facades.

Screens: Discussion (sourced answers), Documents (upload, list, remove), Démarche (guided method), Exports,
Paramètres. One territory selector sits above the tabs and drives every screen.
"""

from __future__ import annotations

import html
import logging
import os
import re
import unicodedata
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no outbound traffic

import gradio as gr  # noqa: E402
import pandas as pd  # noqa: E402  (a gradio dependency)

from . import session  # noqa: E402
from . import strategy_tables as tables  # noqa: E402
from .answer import Turn  # noqa: E402
from .config import Settings  # noqa: E402
from .core import Assistant  # noqa: E402
from .errors import AssistantError, InputError  # noqa: E402
from .schemas import KNOWLEDGE_PROJECT, Answer, Passage  # noqa: E402
from .workflow.agenda import Agenda, Gate, agenda, can_advance  # noqa: E402
from .workflow.artifacts import STAGE_LABELS, STAGES, Strategy  # noqa: E402
from .workflow.items import find_item, iter_items, pending_review  # noqa: E402
from .workflow.provenance import STAKEHOLDER_LABELS  # noqa: E402

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "ui_static"
TITLE = "Assistant de stratégie territoriale"
LOADING = "Chargement du modèle local (≈10 s la première fois)…"
NOT_SHOWN = False  # value of the page's territory state before the page has loaded (None is: no territory)
NO_PROJECT = "Choisissez un territoire en haut de la page, ou tapez le nom d'un nouveau territoire."

# lang="fr" for screen readers, and every element of class "statut" becomes a polite live region, so that
# status changes are announced without moving the focus (gradio renders tabs lazily: observe the DOM).
HEAD = """<script>
document.documentElement.lang = 'fr';
(function () {
  function mark() {
    document.documentElement.lang = 'fr';
    document.querySelectorAll('.statut:not([aria-live])').forEach(function (el) {
      el.setAttribute('role', 'status');
      el.setAttribute('aria-live', 'polite');
    });
  }
  new MutationObserver(mark).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('DOMContentLoaded', mark);
})();
</script>"""

# (label, format of ``exports.export_strategy``): the document, then the action plan.
DELIVERABLES = [
    ("Document de stratégie — Word (DOCX)", "docx"),
    ("Document de stratégie — OpenDocument (ODT)", "odt"),
    ("Document de stratégie — Markdown", "md"),
    ("Plan d'action — Excel (XLSX)", "xlsx"),
    ("Plan d'action — OpenDocument (ODS)", "ods"),
    ("Plan d'action — CSV", "csv"),
]
DOWNLOAD_DELIVERABLE = "Télécharger le livrable"

DOC_COLUMNS = ["Document", "Type", "Pages", "Passages", "Indexé le", "État"]
REPORT_COLUMNS = ["Fichier", "Statut", "Pages", "Passages", "Détail"]


def theme() -> gr.themes.Base:
    # Dark blue actions on white: contrast ≥ 4.5:1 for text (the default orange is below AA with white text).
    return gr.themes.Default(primary_hue="blue", neutral_hue="slate").set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
        button_cancel_background_fill="#b91c1c",
        button_cancel_text_color="white",
        body_text_color_subdued="#374151",
        input_placeholder_color="#4b5563",
    )


# --- formatting -----------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Quotes come from documents: keep their characters from being read as Markdown or HTML."""
    for ch in "\\`*_[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def _where(page: int | None, section: str | None) -> str:
    return f"p. {page}" if page else (section or "")


def _source_link(space: session.ProjectSpace | None, project: str, file: str, page: int | None,
                 section: str | None) -> str:
    label = _escape(", ".join(x for x in (file, _where(page, section)) if x))
    if project == KNOWLEDGE_PROJECT:
        return f"{label} (méthode)"
    url = space.document_url(file, page) if space else None
    return f"[{label}]({url})" if url else label


def answer_markdown(answer: Answer, space: session.ProjectSpace | None) -> str:
    """The answer, then its verified sources: plain Markdown, so that the copy button copies readable text."""
    if not answer.covered:
        return f"> **Non couvert par les documents.** {answer.answer}"
    # A line of the model starting with ">" must not look like the "not covered" note.
    lines = [re.sub(r"(?m)^(\s*)>", r"\1\\>", answer.answer)]
    if answer.citations:
        lines += ["", "---", "**Sources vérifiées**", ""]
        for c in answer.citations:
            project = c.project or (space.name if space else "")
            link = _source_link(space, project, c.file, c.page, c.section)
            lines.append(f"- **[{c.n}]** {link} — « {_escape(c.quote)} »")
    if answer.flags:
        lines += ["", "**Points de vigilance**", ""] + [f"- {_escape(f)}" for f in answer.flags]
    return "\n".join(lines)


def passages_markdown(passages: list[Passage], space: session.ProjectSpace | None) -> str:
    if not passages:
        return "Aucun passage trouvé."
    lines = []
    for i, p in enumerate(passages, 1):
        c = p.chunk
        excerpt = _escape(c.text[:220]) + ("…" if len(c.text) > 220 else "")
        lines.append(f"{i}. {_source_link(space, c.project, c.file, c.page, c.section)} — {excerpt}")
    return "\n".join(lines)


def documents_frame(space: session.ProjectSpace | None) -> pd.DataFrame:
    rows = []
    if space:
        for d in space.assistant.documents(space.name):
            rows.append([d.file, d.doc_type.upper(), d.pages, d.chunks, d.ingested_at[:16].replace("T", " "),
                         "consultable" if d.embedded else "vectorisation en cours"])
    return pd.DataFrame(rows, columns=DOC_COLUMNS)


def reports_frame(reports) -> pd.DataFrame:
    return pd.DataFrame([[r.file, session.report_label(r), r.pages or "", r.chunks or "", r.message]
                         for r in reports], columns=REPORT_COLUMNS)


def settings_markdown(assistant: Assistant) -> str:
    s = assistant.settings
    if s.llm.provider == "embedded":
        model = f"modèle local **{s.llm.gguf_path.name if s.llm.gguf_path else s.llm.model}** (llama.cpp)"
    else:
        model = f"**{s.llm.model_name or '?'}** via un point d'accès compatible OpenAI ({s.llm.base_url or 'OpenAI'})"
    state = f"actif : {assistant.chat.name}" if assistant.chat_loaded else "chargé à la première question"
    embed = ("multilingual-e5-small (local)" if s.embeddings.provider == "embedded"
             else f"{s.embeddings.model_name} ({s.embeddings.base_url or 'OpenAI'})")
    store = "Chroma local" if s.store.mode == "embedded" else f"serveur Chroma {s.store.host}:{s.store.port}"
    auth = "activée" if s.server.auth_user and s.server.auth_password else "désactivée"
    return "\n".join([
        f"- **Modèle de réponse** : {model} — {state}",
        f"- **Fournisseur** : {s.llm.provider}",
        f"- **Recherche sémantique** : {embed}",
        f"- **Base de passages** : {store}, dossier de données `{s.data_dir}`",
        f"- **Passages retenus par question** : {s.retrieval.k} (seuil de couverture {s.retrieval.min_dense_score})",
        f"- **Connexion par mot de passe** : {auth}",
        "",
        "Les clés et mots de passe ne sont jamais affichés. Pour changer de modèle : variables `ASSISTANT_LLM__…` "
        "(voir `python -m assistant config`).",
    ])


# --- Démarche (guided method) ---------------------------------------------------------------------------


def stages_html(strategy: Strategy) -> str:
    current = STAGES.index(strategy.current_stage)
    forced_stages = {o.stage for o in strategy.overrides}
    items = []
    for i, stage in enumerate(STAGES):
        label = f"{i + 1}. {STAGE_LABELS[stage]}"
        if i < current and stage in forced_stages:
            items.append(f'<li class="faite forcee">{label} (passage forcé)</li>')
        elif i < current:
            items.append(f'<li class="faite">{label} <span class="sr">(faite)</span></li>')
        elif i == current:
            items.append(f'<li class="courante" aria-current="step">{label} <span class="sr">(en cours)</span></li>')
        else:
            items.append(f"<li>{label}</li>")
    percent = round(100 * current / len(STAGES))
    forced = "".join(f"<li>{html.escape(o.label())}</li>" for o in strategy.overrides)
    if forced:
        forced = ('<div class="passages-forces"><p>Passages d\'étape forcés (raisons consignées) :</p>'
                  f'<ul>{forced}</ul></div>')
    return (f'<nav aria-label="Étapes de la démarche"><ol>{"".join(items)}</ol></nav>'
            f'<p>Étape {current + 1} sur {len(STAGES)} — {percent} % de la démarche parcourue.</p>{forced}')


def _message_markdown(message: str) -> str:
    """The engine's messages are lines, some of them "- " items: give each plain line its own paragraph."""
    out: list[str] = []
    for line in message.splitlines():
        item = line.startswith("- ")
        if out and not (item and out[-1].startswith("- ")):
            out.append("")
        out.append(line if item else _escape_keep_quotes(line))
    return "\n".join(out)


def _escape_keep_quotes(line: str) -> str:
    return line.replace("*", "\\*").replace("_", "\\_")


def question_markdown(view: Agenda) -> str:
    if view.next is None:
        return (f"**{view.label}** — plus de question pour cette étape. Complétez ou validez les tableaux "
                "ci-dessous, puis passez à l'étape suivante.")
    optional = "" if view.next.required else " _(facultatif)_"
    return f"**Question — {view.label}**{optional}\n\n{view.next.text}"


def gate_markdown(gate: Gate) -> str:
    if gate.ok:
        lines = ["**Étape complète** : vous pouvez passer à l'étape suivante."]
    else:
        lines = ["**Pour passer à l'étape suivante, il manque :**", ""] + [f"- {_escape(r)}" for r in gate.reasons]
    if gate.warnings:
        lines += ["", "**Conseils :**", ""] + [f"- {_escape(w)}" for w in gate.warnings]
    return "\n".join(lines)


class DemarcheScreen:
    """Stages, the current question, the answer box and each stage's artifact as editable tables."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.progress = gr.HTML(elem_classes=["etapes"], elem_id="etapes")
        with gr.Row():
            with gr.Column(scale=3):
                self.question = gr.Markdown(elem_classes=["question-courante"], elem_id="question-demarche")
                self.qid = gr.State(None)
                self.answer = gr.Textbox(label="Votre réponse", lines=3, max_lines=10, elem_id="reponse-demarche",
                                         info="Maj+Entrée pour enregistrer.",
                                         placeholder="Répondez en quelques phrases ; citez vos chiffres avec leur "
                                                     "source et leur année.")
                with gr.Row(equal_height=True):
                    self.origin = gr.Radio(label="D'où vient cette réponse ?", value="utilisateur",
                                           choices=[("de moi", "utilisateur"), ("d'un entretien", "entretien")],
                                           elem_id="origine-reponse")
                    self.interviewee = gr.Dropdown(label="Acteur interrogé", visible=False, elem_id="acteur-interroge",
                                                   choices=[(label, key) for key, label in STAKEHOLDER_LABELS.items()])
                with gr.Row():
                    self.save = gr.Button("Enregistrer la réponse", variant="primary", elem_id="enregistrer-reponse", size="md")
                    self.skip = gr.Button("Passer la question", elem_id="passer-question", size="md")
                    self.draft = gr.Button("Proposer à partir des documents", elem_id="proposer", size="md")
                self.status = gr.Markdown(elem_id="statut-demarche", elem_classes=["statut"])
            with gr.Column(scale=2):
                self.gate = gr.Markdown(elem_id="passage-etape")
                with gr.Row():
                    self.back = gr.Button("Étape précédente", elem_id="etape-precedente", size="md")
                    self.advance = gr.Button("Étape suivante", variant="primary", elem_id="etape-suivante", size="md")
                # While the gate refuses, going on anyway takes a reason, kept in the strategy with what was
                # missing; the panel opens when « Étape suivante » is refused.
                with gr.Accordion("Passer outre (raison obligatoire)", open=False, visible=False,
                                  elem_id="passer-outre") as self.override_box:
                    self.override_reason = gr.Textbox(
                        label="Raison pour passer outre", lines=2, max_lines=4, elem_id="raison-passer-outre",
                        info="Obligatoire. Elle est consignée dans la stratégie, avec ce qui manquait, et reprise "
                             "dans les exports.",
                        placeholder="Ex. : diagnostic complété en atelier le 12 mars")
                    self.override = gr.Button("Forcer le passage", variant="stop", elem_id="forcer-passage",
                                              size="md")
        gr.Markdown("### Livrables de l'étape\nModifiez les cellules puis enregistrez. Les listes se séparent par « ; », "
                    "les chiffres s'écrivent « 12500 visiteurs (2023) ». Chaque ligne indique sa provenance : "
                    "document, utilisateur, entretien ou hypothèse à valider.")
        self.shown = gr.Dropdown(label="Étape affichée", choices=[(STAGE_LABELS[s], s) for s in STAGES],
                                 value=STAGES[0], elem_id="etape-affichee")
        self.groups: dict[str, gr.Column] = {}
        self.tables: dict[str, gr.Dataframe] = {}
        for stage in STAGES:
            with gr.Column(visible=stage == STAGES[0], elem_id=f"livrable-{stage}") as group:
                specs = tables.TABLES[stage]
                if stage == "diagnostic":
                    gr.Markdown("#### Matrice SWOT")
                    swot, specs = specs[:4], specs[4:]
                    for pair in (swot[:2], swot[2:]):
                        with gr.Row():
                            for spec in pair:
                                self.tables[spec.key] = self._table(spec)
                for spec in specs:
                    self.tables[spec.key] = self._table(spec)
                if stage == "tableau_de_bord":
                    self.kpis = gr.State([])
                    gr.Markdown("#### Valeur de départ → valeur cible")

                    @gr.render(inputs=[self.kpis])
                    def kpi_charts(charts):
                        if not charts:
                            gr.Markdown("Aucun indicateur chiffré pour l'instant.")
                            return
                        with gr.Row(elem_id="graphiques-kpi"):
                            for chart in charts:
                                unit = f" ({chart['unit']})" if chart["unit"] else ""
                                gr.BarPlot(pd.DataFrame(chart["bars"]), x="Repère", y="Valeur",
                                           label=f"{chart['name']}{unit}", y_title=chart["unit"] or "valeur",
                                           x_title=" ", sort=[b["Repère"] for b in chart["bars"]], height=240,
                                           y_lim=[0, max(b["Valeur"] for b in chart["bars"]) * 1.15 or 1],
                                           min_width=280, key=f"kpi-{chart['id']}", elem_classes=["graphique-kpi"])
            self.groups[stage] = group
        self.save_tables = gr.Button("Enregistrer les modifications des tableaux", elem_id="enregistrer-tableaux",
                                     size="md")
        with gr.Row():
            self.item = gr.Dropdown(label="Élément à valider ou à supprimer", choices=[], scale=3,
                                    elem_id="element-a-valider",
                                    info="Les propositions tirées des documents et les hypothèses sont listées en tête.")
            with gr.Column(scale=2, min_width=260):
                self.confirm = gr.Button("Valider l'élément", variant="primary", size="md", elem_id="valider-element")
                self.delete = gr.Button("Supprimer l'élément", variant="stop", size="md", elem_id="supprimer-element")
        self.table_status = gr.Markdown(elem_id="statut-tableaux", elem_classes=["statut"])

    @staticmethod
    def _table(spec: tables.Table) -> gr.Dataframe:
        return gr.Dataframe(value=pd.DataFrame(columns=spec.headers), label=spec.title, interactive=True, wrap=True,
                            static_columns=spec.static_columns, elem_id=f"table-{spec.key.replace('.', '-')}",
                            column_widths=spec.widths, max_height=420, elem_classes=["livrable"])

    # -- rendering ---------------------------------------------------------------------------------
    @property
    def view_outputs(self) -> list:
        return [self.progress, self.question, self.qid, self.gate, self.back, self.override_box, self.shown,
                *self.groups.values(), *self.tables.values(), self.kpis, self.item]

    def render(self, space: session.ProjectSpace | None, shown: str | None = None, *,
               override: bool | None = None) -> list:
        """Every output of ``view_outputs``.

        The panel to pass a refused gate is there while the gate refuses; ``override`` opens (True) or closes
        (False) it, None leaves it as it is (when the tab is shown again, for instance).
        """
        if space is None:
            empty = [gr.update(value=pd.DataFrame(columns=t.headers)) for t in tables.ALL_TABLES]
            return ["", NO_PROJECT, None, "", gr.update(interactive=False), gr.update(visible=False), gr.update(),
                    *[gr.update() for _ in STAGES], *empty, [], gr.update(choices=[], value=None)]
        strategy = space.strategy()
        shown = shown if shown in STAGES else strategy.current_stage
        view = agenda(strategy)
        frames = [pd.DataFrame(tables.rows(strategy, t), columns=t.headers) for t in tables.ALL_TABLES]
        pending = {p.item_id for p in pending_review(strategy, shown)}
        choices = [(("[à valider] " if ref.item.id in pending else "") + f"{ref.item.label()[:90]} ({ref.item.id})",
                    ref.item.id) for ref in iter_items(strategy, shown)]
        choices.sort(key=lambda c: not c[0].startswith("[à valider]"))
        return [stages_html(strategy), question_markdown(view), view.next.id if view.next else None,
                gate_markdown(view.gate), gr.update(interactive=strategy.current_stage != STAGES[0]),
                gr.update(visible=not view.gate.ok and strategy.current_stage != STAGES[-1],
                          **({} if override is None else {"open": override})), shown,
                *[gr.update(visible=s == shown) for s in STAGES], *frames, tables.kpi_charts(strategy),
                gr.update(choices=choices, value=None)]

    # -- events ------------------------------------------------------------------------------------
    def wire(self, project: gr.Dropdown, shown_project: gr.State, tab: gr.Tab) -> None:
        """``shown_project`` changes once per territory switch (see ``build_app``)."""
        assistant = self.assistant
        outs = self.view_outputs

        def show(name, shown=None):
            try:
                return self.render(_space(assistant, name), shown)
            except AssistantError:
                return [gr.update()] * len(outs)  # the project status already says why

        tab.select(show, [project], outs)
        shown_project.change(show, [shown_project], outs)
        self.shown.input(show, [project, self.shown], outs)
        self.origin.change(lambda o: gr.update(visible=o == "entretien"), [self.origin], [self.interviewee])

        def act(fn, *, slow: bool = False, override: bool | None = None):
            """Run one workflow operation, then show its message and the refreshed stage.

            ``fn`` returns (message, stage shown, keep the answer box); a fourth item True means the gate refused
            « Étape suivante »: the message is a warning and the panel to pass anyway with a reason opens.
            ``override`` is what happens to that panel otherwise (see ``render``).
            """
            def handler(name, shown, *args):
                try:
                    space = _space(assistant, name)
                    if space is None:
                        raise InputError("Aucun territoire choisi", fix=NO_PROJECT)
                    space.strategy()
                    if slow:
                        yield [_status(LOADING if assistant.settings.llm.provider == "embedded"
                                       and not assistant.chat_loaded else "L'assistant lit votre réponse…",
                                       "attente"), gr.update()] + [gr.update()] * len(outs)
                    message, shown, keep_answer, *refused = fn(space, shown, *args)
                    yield ([_status(_message_markdown(message), "alerte" if refused else "ok"),
                            "" if not keep_answer else gr.update()]
                           + self.render(space, shown, override=True if refused else override))
                except AssistantError as e:
                    yield [_status(e.user_message, "erreur"), gr.update()] + [gr.update()] * len(outs)
            return handler

        def answer(space, shown, text, qid, origin, who):
            if origin == "entretien" and not who:
                raise InputError("Précisez l'acteur interrogé", fix="choisissez-le dans la liste « Acteur interrogé »")
            result = space.engine().answer(space.slug, text, question_id=qid,
                                           interview_with=who if origin == "entretien" else None)
            return result.message, None, not result.changes

        def skip(space, shown, qid):
            nxt = space.engine().skip(space.slug, qid)
            return ("Question reportée." + (f" Question suivante : {nxt.text}" if nxt else "")), None, True

        def draft(space, shown):
            result = space.engine().propose_draft(space.slug, shown)
            return result.message, shown, True

        def advance(space, shown):
            strategy = space.strategy()
            gate = can_advance(strategy)
            if not gate.ok and strategy.current_stage != STAGES[-1]:  # the engine says the last stage itself
                return (f"L'étape « {STAGE_LABELS[gate.stage]} » n'est pas terminée. Il manque :\n"
                        + "\n".join(f"- {r}" for r in gate.reasons)
                        + "\nComplétez-la, ou passez outre : écrivez la raison dans « Raison pour passer outre » "
                          "puis cliquez sur « Forcer le passage ».", None, True, True)
            view = space.engine().advance(space.slug)
            return f"Nouvelle étape : {view.label}.", None, True

        def force(space, shown, reason):
            reason = " ".join((reason or "").split())
            if not reason:
                raise InputError("La raison du passage forcé est vide",
                                 fix="écrivez pourquoi vous passez outre, ex. « diagnostic complété en atelier »")
            gate = can_advance(space.strategy())
            view = space.engine().advance(space.slug, override_reason=reason)
            if gate.ok:
                return (f"Étape « {STAGE_LABELS[gate.stage]} » terminée (le contrôle passait : rien à forcer). "
                        f"Nouvelle étape : {view.label}.", None, False)
            return (f"Passage forcé de l'étape « {STAGE_LABELS[gate.stage]} », raison consignée : « {reason} ». "
                    f"Manques laissés en l'état : {' ; '.join(gate.reasons)}.\nNouvelle étape : {view.label}.",
                    None, False)

        def back(space, shown):
            strategy = space.strategy()
            index = STAGES.index(strategy.current_stage)
            if index == 0:
                raise InputError("Vous êtes à la première étape", fix="répondez aux questions du cadrage")
            view = space.engine().back(space.slug, STAGES[index - 1])
            return f"Retour à l'étape : {view.label}. Le contenu des étapes suivantes est conservé.", None, True

        head = [self.status, self.answer]
        self.save.click(act(answer, slow=True), [project, self.shown, self.answer, self.qid, self.origin,
                                                 self.interviewee], head + outs, concurrency_id="answer")
        self.answer.submit(act(answer, slow=True), [project, self.shown, self.answer, self.qid, self.origin,
                                                    self.interviewee], head + outs, concurrency_id="answer")
        self.skip.click(act(skip), [project, self.shown, self.qid], head + outs)
        self.draft.click(act(draft, slow=True), [project, self.shown], head + outs, concurrency_id="answer")
        self.advance.click(act(advance, override=False), [project, self.shown], head + outs)
        # The reason box is emptied once the passage is recorded, kept as typed when it is refused.
        self.override.click(act(force, override=False), [project, self.shown, self.override_reason],
                            [self.status, self.override_reason] + outs)
        self.back.click(act(back, override=False), [project, self.shown], head + outs)

        def save_tables(space, shown, *frames):
            engine = space.engine()
            strategy = space.strategy()
            done, errors = [], []
            for spec, frame in zip(tables.ALL_TABLES, frames):
                if spec.stage != shown or frame is None:
                    continue
                edits = tables.diff(strategy, spec, frame.values.tolist())
                done += tables.apply(engine, space.slug, spec, edits)
                errors += edits.errors
            if errors:
                saved = f" ; {len(done)} autre(s) modification(s) enregistrée(s)" if done else ""
                raise InputError("Modification(s) refusée(s) : " + " ; ".join(errors) + saved,
                                 fix="corrigez les cellules indiquées puis enregistrez à nouveau")
            return (("Enregistré : " + " ; ".join(done)) if done else "Aucune modification à enregistrer."), shown, True

        def confirm(space, shown, item_id):
            if not item_id:
                raise InputError("Aucun élément choisi", fix="choisissez l'élément dans la liste")
            change = space.engine().confirm(space.slug, item_id)
            return f"Validé : « {change.label} ».", shown, True

        def delete(space, shown, item_id):
            if not item_id:
                raise InputError("Aucun élément choisi", fix="choisissez l'élément dans la liste")
            ref = find_item(space.strategy(), item_id)
            space.engine().delete_item(space.slug, ref.stage, item_id)
            return f"Supprimé : « {ref.item.label()} ».", shown, True

        tail = [self.table_status, self.answer]
        self.save_tables.click(act(save_tables), [project, self.shown, *self.tables.values()], tail + outs)
        self.confirm.click(act(confirm), [project, self.shown, self.item], tail + outs)
        self.delete.click(act(delete), [project, self.shown, self.item], tail + outs)


# --- the app --------------------------------------------------------------------------------------------


def _project_key(name: str | None) -> str | None:
    """The territory a value of the selector designates, read as ``ProjectSpace`` reads it (« Dinan » typed with a
    trailing space is « Dinan »); None for no territory."""
    return unicodedata.normalize("NFC", str(name or "").strip()) or None


def _space(assistant: Assistant, project: str | None) -> session.ProjectSpace | None:
    if not project or not str(project).strip():
        return None
    return session.ProjectSpace(assistant, project)


def _status(text: str, kind: str = "info") -> str:
    # Words, not colours or emoji, carry the kind of message (emoji fonts are missing on many desktops).
    prefix = {"info": "", "ok": "", "erreur": "**Erreur** — ", "alerte": "**Attention** — ",
              "attente": "**En cours** — "}[kind]
    return prefix + text


def build_app(assistant: Assistant) -> gr.Blocks:
    """The whole interface around one Assistant (tests inject an Assistant with a fake chat model)."""

    def allow(space: session.ProjectSpace) -> None:
        # Serve the originals of this project only (the citation links open them at the cited page).
        path = str(space.uploads)
        if path not in app.allowed_paths:
            app.allowed_paths.append(path)

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        with gr.Column(elem_id="entete"):
            gr.Markdown(f"# {TITLE}\nQuestions sourcées sur les documents de votre territoire et démarche guidée de "
                        "marketing territorial : diagnostic, DAS, positionnement, plan d'action, tableau de bord.")
        with gr.Row(equal_height=True):
            # Off until the page has loaded the list and shown the first territory: a name typed earlier would be
            # replaced by that first territory when the list arrives.
            project = gr.Dropdown(label="Territoire (projet)", choices=[], value=None, allow_custom_value=True,
                                  filterable=True, elem_id="projet", scale=3, interactive=False,
                                  info="Choisissez un territoire ou tapez un nouveau nom puis Entrée.")
            # The territory this page shows: NOT_SHOWN until the page has loaded, then a name, or None. Everything
            # that follows a switch hangs on its « change », which fires only when it really changes.
            shown_project = gr.State(NOT_SHOWN)
            project_status = gr.Markdown(elem_id="statut-projet", elem_classes=["statut"])

        with gr.Tabs(elem_id="ecrans"):
            # -- Discussion --------------------------------------------------------------------------
            with gr.Tab("Discussion", id="discussion"):
                chatbot = gr.Chatbot(label="Discussion", show_label=False, elem_id="discussion", height=480,
                                     buttons=["copy"],
                                     feedback_options=None, placeholder=(
                                         "**Posez une question sur vos documents ou sur la méthode.**<br>"
                                         "Chaque réponse cite ses sources (fichier, page, extrait)."))
                with gr.Row(equal_height=True):
                    question = gr.Textbox(label="Votre question", lines=1, max_lines=6, scale=5, elem_id="question",
                                          placeholder="Ex. : Quels sont les atouts économiques de notre territoire ?")
                    with gr.Column(scale=1, min_width=160):
                        send = gr.Button("Envoyer", variant="primary", elem_id="envoyer", size="md")
                        reset = gr.Button("Nouvelle discussion", variant="secondary", elem_id="nouvelle", size="md")
                chat_status = gr.Markdown(elem_id="statut-discussion", elem_classes=["statut"])
                gr.Examples(label="Exemples de questions", inputs=[question], examples=[
                    ["Comment définir un domaine d'activité stratégique (DAS) ?"],
                    ["Quelles parties prenantes associer à la démarche ?"],
                    ["Quels indicateurs prévoir dans le tableau de bord ?"],
                ])
                messages = gr.State([])
                turns = gr.State([])

            # -- Documents ---------------------------------------------------------------------------
            with gr.Tab("Documents", id="documents"):
                gr.Markdown("Déposez les documents du territoire : diagnostics, délibérations, études, données. "
                            "Formats acceptés : PDF, Word (DOCX), OpenDocument (ODT), Markdown, HTML, texte, CSV.")
                uploader = gr.File(label="Déposer des documents", file_count="multiple", elem_id="depot",
                                   file_types=list(session.ACCEPTED_SUFFIXES), height=140)
                doc_status = gr.Markdown(elem_id="statut-documents", elem_classes=["statut"])
                report = gr.Dataframe(value=pd.DataFrame(columns=REPORT_COLUMNS), label="Résultat du dernier dépôt",
                                      interactive=False, wrap=True, elem_id="rapport", visible=False,
                                      column_widths=["22%", "12%", "8%", "9%", "49%"])
                docs = gr.Dataframe(value=pd.DataFrame(columns=DOC_COLUMNS), label="Documents indexés",
                                    interactive=False, wrap=True, elem_id="documents-liste")
                with gr.Row():
                    to_remove = gr.Dropdown(label="Document à retirer", choices=[], value=None, scale=3,
                                            elem_id="document-a-retirer")
                    with gr.Column(scale=1, min_width=200):
                        remove = gr.Button("Retirer ce document", variant="stop", elem_id="retirer", size="md")
                with gr.Row(visible=False, elem_id="confirmation-retrait") as confirm_row:
                    confirm_text = gr.Markdown()
                    confirm_remove = gr.Button("Confirmer le retrait", variant="stop", elem_id="confirmer-retrait")
                    cancel_remove = gr.Button("Annuler", elem_id="annuler-retrait")

            # -- Démarche ----------------------------------------------------------------------------
            with gr.Tab("Démarche", id="demarche") as demarche_tab:
                demarche_ui = DemarcheScreen(assistant)

            # -- Exports -----------------------------------------------------------------------------
            with gr.Tab("Exports", id="exports") as exports_tab:
                gr.Markdown("### Livrables\nLe document de stratégie (synthèse pour les élus, un chapitre par "
                            "étape, sources en note de bas de page) ou le plan d'action en tableur. Les hypothèses "
                            "et les propositions à valider y sont signalées.")
                with gr.Row(equal_height=True):
                    deliverable_format = gr.Radio(label="Livrable et format", choices=DELIVERABLES, value="docx",
                                                  elem_id="format-livrable", scale=3)
                    with gr.Column(scale=1, min_width=240):
                        prepare = gr.Button("Préparer le livrable", variant="primary", elem_id="preparer-livrable",
                                            size="md")
                        deliverable = gr.DownloadButton(DOWNLOAD_DELIVERABLE, elem_id="telecharger-livrable",
                                                        interactive=False, size="md")
                deliverable_status = gr.Markdown(elem_id="statut-livrables", elem_classes=["statut"])
                gr.Markdown("### Données\nLa stratégie au format JSON (validée par son schéma) : toutes les "
                            "étapes, avec la provenance de chaque élément, pour la reprendre dans un autre outil.")
                export_status = gr.Markdown(elem_id="statut-exports", elem_classes=["statut"])
                with gr.Row():
                    download = gr.DownloadButton("Télécharger la stratégie (JSON)", variant="primary",
                                                 elem_id="telecharger-json", interactive=False)
                    gr.DownloadButton("Télécharger le schéma JSON", elem_id="telecharger-schema",
                                                        value=str(session.schema_file()))

            # -- Paramètres --------------------------------------------------------------------------
            with gr.Tab("Paramètres", id="parametres") as settings_tab:
                settings_md = gr.Markdown(settings_markdown(assistant), elem_id="parametres-resume")
                with gr.Accordion("Tous les réglages (secrets masqués)", open=False):
                    gr.JSON(assistant.settings.public_dump(), label="Réglages effectifs")
                check = gr.Button("Vérifier l'installation", elem_id="verifier", size="md")
                check_status = gr.Markdown(elem_id="statut-parametres", elem_classes=["statut"])
                doctor_json = gr.JSON(label="Diagnostic", visible=False)

        # -- handlers: project ----------------------------------------------------------------------

        def project_text(space, frame) -> str:
            n = len(frame)
            return (f"Territoire **{space.name}** : {n} document(s) indexé(s)." if n else
                    f"Territoire **{space.name}** : aucun document pour l'instant (onglet Documents).")

        def on_load():
            try:
                names = session.list_projects(assistant)
            except Exception:  # the selector must not stay off: a new territory can still be typed
                log.exception("liste des territoires illisible")
                names = []
            value = names[0] if names else None
            return [gr.update(choices=names, value=value, interactive=True), *switch(value, NOT_SHOWN)]

        def switch(name, shown):
            """One switch per territory chosen. The selector may report a choice more than once (its « change »
            also follows the value set by ``on_load``, and gradio releases differ there), and a territory typed
            again, with spaces around, or picked again in the list is the same one: nothing is done then, so the
            conversation is kept. A real switch empties it, and its memory."""
            key = _project_key(name)
            if key == shown:
                return [gr.skip()] * len(switch_outputs)
            return [key, *on_project(key)]

        def on_project(name):
            try:
                space = _space(assistant, name)
            except AssistantError as e:
                return (_status(e.user_message, "erreur"), [], [], [], gr.update(), gr.update(choices=[], value=None),
                        _status(e.user_message, "erreur"))
            if space is None:
                return (_status(NO_PROJECT), [], [], [], documents_frame(None), gr.update(choices=[], value=None), "")
            allow(space)
            frame = documents_frame(space)
            return (project_text(space, frame), [], [], [], frame,
                    gr.update(choices=list(frame["Document"]), value=None), "")

        switch_outputs = [shown_project, project_status, chatbot, messages, turns, docs, to_remove, chat_status]
        app.load(on_load, None, [project, *switch_outputs])
        project.change(switch, [project, shown_project], switch_outputs)

        # -- handlers: discussion -------------------------------------------------------------------

        def respond(q, name, msgs, history):
            msgs = list(msgs or [])
            history = list(history or [])
            q = (q or "").strip()

            def out(status, *, question_box=gr.skip(), busy=True):
                # The send button is off while an answer is written: a second question would race the first.
                return msgs, status, msgs, history, question_box, gr.update(interactive=not busy)

            if not q:
                yield out(_status("Tapez d'abord une question."), busy=False)
                return
            try:
                space = _space(assistant, name)
            except AssistantError as e:
                yield out(_status(e.user_message, "erreur"), busy=False)
                return
            if space:
                allow(space)
            current = space.name if space else None
            if any(t.get("project") != current for t in history):
                history = []  # memory never follows a project switch (API clients skip the dropdown event)
            msgs.append({"role": "user", "content": q})
            pending = {"role": "assistant", "content": "…"}
            msgs.append(pending)
            slow = assistant.settings.llm.provider == "embedded" and not assistant.chat_loaded
            # Clear the box once, at the start: the person may type the next question meanwhile.
            yield out(_status(LOADING if slow else "Recherche dans les documents…", "attente"), question_box="")
            thought = None
            text = ""
            try:
                turns = [Turn(t["question"], t["answer"]) for t in history]
                for event in assistant.ask_stream(q, current, turns):
                    if event.kind == "passages":
                        thought = {"role": "assistant", "content": passages_markdown(event.passages, space),
                                   "metadata": {"title": f"Passages consultés ({len(event.passages)})",
                                                "status": "pending"}}
                        msgs.insert(len(msgs) - 1, thought)
                        yield out(_status("Passages trouvés, rédaction de la réponse…", "attente"))
                    elif event.kind == "token":
                        text += event.text
                        pending["content"] = text
                        yield msgs, gr.skip(), msgs, history, gr.skip(), gr.skip()
                    elif event.kind == "final":
                        answer = event.answer
                        pending["content"] = answer_markdown(answer, space)
                        if thought is not None:
                            thought["metadata"]["status"] = "done"
                        history.append({"question": event.question, "answer": answer.answer, "project": current})
                        seconds = answer.timings.total_ms / 1000
                        done = (f"Réponse sourcée ({len(answer.citations)} source(s)) en {seconds:.1f} s."
                                if answer.covered else "Question non couverte par les documents indexés.")
                        yield out(_status(done), busy=False)
            except AssistantError as e:
                pending["content"] = f"**Erreur** : {e.user_message}"
                yield out(_status(e.user_message, "erreur"), busy=False)
            except Exception as e:  # an unexpected bug must leave a usable screen and say where to look
                log.exception("réponse impossible")
                pending["content"] = f"**Erreur inattendue** ({type(e).__name__}) : voir le journal du serveur."
                yield out(_status("Erreur inattendue : voir le journal du serveur.", "erreur"), busy=False)

        gr.on([send.click, question.submit], respond, inputs=[question, project, messages, turns],
              outputs=[chatbot, chat_status, messages, turns, question, send], concurrency_id="answer",
              trigger_mode="once")
        reset.click(lambda: ([], [], [], _status("Nouvelle discussion.")), None,
                    [chatbot, messages, turns, chat_status])
        chatbot.clear(lambda: ([], [], _status("Discussion effacée.")), None, [messages, turns, chat_status])

        # -- handlers: documents --------------------------------------------------------------------

        def on_upload(files, name, progress=gr.Progress()):
            files = [f for f in (files or []) if f]
            keep = gr.update()
            if not files:
                return keep, keep, keep, keep, "", None, keep
            try:
                space = _space(assistant, name)
                if space is None:
                    raise InputError("Aucun territoire choisi", fix=NO_PROJECT)
            except AssistantError as e:
                return keep, keep, keep, keep, _status(e.user_message, "erreur"), None, keep
            allow(space)

            def report_progress(label: str, done: int, total: int) -> None:
                progress((done, max(total, 1)), desc=f"{label} ({done}/{total})")

            progress(0, desc="Lecture des documents…")
            try:
                reports = space.ingest_uploads([(Path(f), Path(f).name) for f in files], progress=report_progress)
            except AssistantError as e:
                return keep, keep, keep, keep, _status(e.user_message, "erreur"), None, keep
            frame = documents_frame(space)
            ok = sum(r.status != "refused" for r in reports)
            refused = [r for r in reports if r.status == "refused"]
            summary = f"{len(reports)} fichier(s) traité(s) : {ok} consultable(s)"
            if refused:
                summary += f", {len(refused)} refusé(s) — " + " ; ".join(r.message for r in refused)
            names = session.list_projects(assistant)
            return (gr.update(value=reports_frame(reports), visible=True), frame,
                    gr.update(choices=list(frame["Document"]), value=None), gr.update(choices=names),
                    _status(summary, "alerte" if refused else "ok"), None, project_text(space, frame))

        uploader.upload(on_upload, [uploader, project],
                        [report, docs, to_remove, project, doc_status, uploader, project_status],
                        concurrency_id="ingest")

        def ask_remove(file):
            if not file:
                return gr.update(visible=False), "", _status("Choisissez d'abord le document à retirer.")
            return (gr.update(visible=True), f"Retirer **{_escape(file)}** et tous ses passages de l'index ?",
                    _status(f"Confirmez le retrait de « {file} ».", "attente"))

        def do_remove(file, name):
            try:
                space = _space(assistant, name)
                removed = bool(space and file and space.forget(file))
            except AssistantError as e:
                return (gr.update(visible=False), gr.update(), gr.update(), _status(e.user_message, "erreur"),
                        gr.update())
            frame = documents_frame(space)
            text = f"« {file} » a été retiré du territoire." if removed else f"« {file} » n'était pas indexé."
            return (gr.update(visible=False), frame, gr.update(choices=list(frame["Document"]), value=None),
                    _status(text, "ok" if removed else "info"), project_text(space, frame) if space else "")

        remove.click(ask_remove, [to_remove], [confirm_row, confirm_text, doc_status])
        confirm_remove.click(do_remove, [to_remove, project], [confirm_row, docs, to_remove, doc_status,
                                                               project_status])
        cancel_remove.click(lambda: (gr.update(visible=False), _status("Retrait annulé.")), None,
                            [confirm_row, doc_status])

        # -- handlers: démarche ---------------------------------------------------------------------
        demarche_ui.wire(project, shown_project, demarche_tab)

        # -- handlers: exports ----------------------------------------------------------------------

        def prepare_export(name):
            try:
                space = _space(assistant, name)
                if space is None:
                    return gr.update(value=None, interactive=False), _status(NO_PROJECT)
                path, summary = space.export_json()
            except AssistantError as e:
                return gr.update(value=None, interactive=False), _status(e.user_message, "erreur")
            return gr.update(value=str(path), interactive=True), _status(summary, "ok")

        exports_tab.select(prepare_export, [project], [download, export_status])
        shown_project.change(prepare_export, [shown_project], [download, export_status])

        def prepare_deliverable(name, fmt):
            off = gr.update(value=None, interactive=False, label=DOWNLOAD_DELIVERABLE)
            try:
                space = _space(assistant, name)
                if space is None:
                    return off, _status(NO_PROJECT)
                path, summary, empty = space.export_deliverable(fmt)
            except AssistantError as e:
                return off, _status(e.user_message, "erreur")
            except Exception as e:  # an unexpected bug must leave a usable screen and say where to look
                log.exception("export impossible")
                return off, _status(f"Erreur inattendue ({type(e).__name__}) : voir le journal du serveur.", "erreur")
            return (gr.update(value=str(path), interactive=True, label=f"Télécharger « {path.name} »"),
                    _status(f"Prêt à télécharger : {summary}", "alerte" if empty else "ok"))

        def forget_deliverable():  # another format or territory: the prepared file is no longer the one asked
            return gr.update(value=None, interactive=False, label=DOWNLOAD_DELIVERABLE), ""

        # One queue, in order: a file prepared just before the format or the territory changed is then withdrawn.
        export_queue = dict(concurrency_id="livrables", concurrency_limit=1)
        prepare.click(prepare_deliverable, [project, deliverable_format], [deliverable, deliverable_status],
                      **export_queue)
        deliverable_format.change(forget_deliverable, None, [deliverable, deliverable_status], **export_queue)
        shown_project.change(forget_deliverable, None, [deliverable, deliverable_status], **export_queue)

        # -- handlers: paramètres -------------------------------------------------------------------

        def run_doctor():
            yield (gr.update(), _status(LOADING if assistant.settings.llm.provider == "embedded"
                                        and not assistant.chat_loaded else "Vérification…", "attente"),
                   gr.update())
            report = assistant.doctor(generate=False)
            text = ("Tout fonctionne." if report["ok"] else
                    "Problème détecté : " + " ; ".join(v.get("error", "") for v in report.values()
                                                       if isinstance(v, dict) and v.get("error")))
            yield (settings_markdown(assistant), _status(text, "ok" if report["ok"] else "erreur"),
                   gr.update(value=report, visible=True))

        check.click(run_doctor, None, [settings_md, check_status, doctor_json], concurrency_id="answer")
        settings_tab.select(lambda: settings_markdown(assistant), None, [settings_md])
    return app


# --- launching ------------------------------------------------------------------------------------------


def launch_options(settings: Settings) -> dict:
    """Keyword arguments of ``Blocks.launch`` shared by ``serve`` and the tests."""
    auth = None
    if settings.server.auth_user and settings.server.auth_password:
        auth = (settings.server.auth_user, settings.server.auth_password.get_secret_value())
    uploads = sorted(str(p) for p in settings.projects_dir.resolve().glob(f"*/{session.UPLOADS_DIR}"))
    return dict(auth=auth, auth_message="Connexion à l'assistant de stratégie territoriale",
                max_file_size=f"{settings.server.max_upload_mb}mb", ssr_mode=False, footer_links=[],
                head=HEAD, css_paths=[STATIC / "app.css"], theme=theme(), show_error=True,
                allowed_paths=uploads, pwa=False, mcp_server=False)


def start(assistant: Assistant, host: str | None = None, port: int | None = None, *,
          block: bool = True) -> gr.Blocks:
    settings = assistant.settings
    app = build_app(assistant)
    # Bounded: beyond 64 waiting requests people get a clear "queue full" instead of an endless wait.
    app.queue(default_concurrency_limit=settings.server.concurrency, max_size=64)
    app.launch(server_name=host or settings.server.host, server_port=port or settings.server.port,
               prevent_thread_lock=not block, quiet=not block, **launch_options(settings))
    return app


def launch(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Entry point of ``python -m assistant serve``: index the method, then serve on 127.0.0.1 by default."""
    assistant = Assistant(settings)
    assistant.ensure_knowledge()
    start(assistant, host, port, block=True)

