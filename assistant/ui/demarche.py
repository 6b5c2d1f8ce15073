"""Démarche screen: the guided method, stage by stage, with each stage's deliverables as editable tables."""

from __future__ import annotations

import gradio as gr
import pandas as pd  # a gradio dependency

from .. import session
from .. import strategy_tables as tables
from ..core import Assistant
from ..errors import AssistantError, InputError
from ..workflow.agenda import agenda, can_advance
from ..workflow.artifacts import STAGE_LABELS, STAGES
from ..workflow.items import find_item, iter_items, pending_review
from ..workflow.provenance import STAKEHOLDER_LABELS
from .format import LOADING, _message_markdown, _status, gate_markdown, question_markdown, stages_html
from .project import NO_PROJECT, _space


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
