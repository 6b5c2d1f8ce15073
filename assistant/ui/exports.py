"""Exports screen: the deliverables (strategy document, action plan) and the strategy as JSON, to download."""

from __future__ import annotations

import logging

import gradio as gr

from .. import session
from ..core import Assistant
from ..errors import AssistantError
from .format import _status
from .project import NO_PROJECT, _space

log = logging.getLogger(__name__)

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


class ExportsScreen:
    """A deliverable is prepared on demand, in the format chosen; the JSON each time the territory is shown."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        gr.Markdown("### Livrables\nLe document de stratégie (synthèse pour les élus, un chapitre par "
                    "étape, sources en note de bas de page) ou le plan d'action en tableur. Les hypothèses "
                    "et les propositions à valider y sont signalées.")
        with gr.Row(equal_height=True):
            self.deliverable_format = gr.Radio(label="Livrable et format", choices=DELIVERABLES, value="docx",
                                               elem_id="format-livrable", scale=3)
            with gr.Column(scale=1, min_width=240):
                self.prepare = gr.Button("Préparer le livrable", variant="primary", elem_id="preparer-livrable",
                                         size="md")
                self.deliverable = gr.DownloadButton(DOWNLOAD_DELIVERABLE, elem_id="telecharger-livrable",
                                                     interactive=False, size="md")
        self.deliverable_status = gr.Markdown(elem_id="statut-livrables", elem_classes=["statut"])
        gr.Markdown("### Données\nLa stratégie au format JSON (validée par son schéma) : toutes les "
                    "étapes, avec la provenance de chaque élément, pour la reprendre dans un autre outil.")
        self.export_status = gr.Markdown(elem_id="statut-exports", elem_classes=["statut"])
        with gr.Row():
            self.download = gr.DownloadButton("Télécharger la stratégie (JSON)", variant="primary",
                                              elem_id="telecharger-json", interactive=False)
            gr.DownloadButton("Télécharger le schéma JSON", elem_id="telecharger-schema",
                              value=str(session.schema_file()))

    def wire(self, project: gr.Dropdown, shown_project: gr.State, tab: gr.Tab) -> None:
        """``shown_project`` changes once per territory switch (see ``build_app``)."""
        assistant = self.assistant

        def prepare_export(name):
            try:
                space = _space(assistant, name)
                if space is None:
                    return gr.update(value=None, interactive=False), _status(NO_PROJECT)
                path, summary = space.export_json()
            except AssistantError as e:
                return gr.update(value=None, interactive=False), _status(e.user_message, "erreur")
            return gr.update(value=str(path), interactive=True), _status(summary, "ok")

        tab.select(prepare_export, [project], [self.download, self.export_status])
        shown_project.change(prepare_export, [shown_project], [self.download, self.export_status])

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
        self.prepare.click(prepare_deliverable, [project, self.deliverable_format],
                           [self.deliverable, self.deliverable_status], **export_queue)
        self.deliverable_format.change(forget_deliverable, None, [self.deliverable, self.deliverable_status],
                                       **export_queue)
        shown_project.change(forget_deliverable, None, [self.deliverable, self.deliverable_status], **export_queue)
