"""Documents screen: upload the territory's documents, list them, remove one (after a confirmation)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gradio as gr
import pandas as pd  # a gradio dependency

from .. import session
from ..core import Assistant
from ..errors import AssistantError, InputError
from .format import _escape, _status, project_text
from .project import NO_PROJECT, _space

DOC_COLUMNS = ["Document", "Type", "Pages", "Passages", "Indexé le", "État"]
REPORT_COLUMNS = ["Fichier", "Statut", "Pages", "Passages", "Détail"]


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


class DocumentsScreen:
    """The upload box, the report of the last upload, the indexed documents and the removal of one of them."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        gr.Markdown("Déposez les documents du territoire : diagnostics, délibérations, études, données. "
                    "Formats acceptés : PDF, Word (DOCX), OpenDocument (ODT), Markdown, HTML, texte, CSV.")
        self.uploader = gr.File(label="Déposer des documents", file_count="multiple", elem_id="depot",
                                file_types=list(session.ACCEPTED_SUFFIXES), height=140)
        self.status = gr.Markdown(elem_id="statut-documents", elem_classes=["statut"])
        self.report = gr.Dataframe(value=pd.DataFrame(columns=REPORT_COLUMNS), label="Résultat du dernier dépôt",
                                   interactive=False, wrap=True, elem_id="rapport", visible=False,
                                   column_widths=["22%", "12%", "8%", "9%", "49%"])
        self.docs = gr.Dataframe(value=pd.DataFrame(columns=DOC_COLUMNS), label="Documents indexés",
                                 interactive=False, wrap=True, elem_id="documents-liste")
        with gr.Row():
            self.to_remove = gr.Dropdown(label="Document à retirer", choices=[], value=None, scale=3,
                                         elem_id="document-a-retirer")
            with gr.Column(scale=1, min_width=200):
                self.remove = gr.Button("Retirer ce document", variant="stop", elem_id="retirer", size="md")
        with gr.Row(visible=False, elem_id="confirmation-retrait") as self.confirm_row:
            self.confirm_text = gr.Markdown()
            self.confirm_remove = gr.Button("Confirmer le retrait", variant="stop", elem_id="confirmer-retrait")
            self.cancel_remove = gr.Button("Annuler", elem_id="annuler-retrait")

    def wire(self, project: gr.Dropdown, project_status: gr.Markdown,
             allow: Callable[[session.ProjectSpace], None]) -> None:
        """An upload may create the territory: the selector's list and the project status line follow."""
        assistant = self.assistant

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

        self.uploader.upload(on_upload, [self.uploader, project],
                             [self.report, self.docs, self.to_remove, project, self.status, self.uploader,
                              project_status],
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

        self.remove.click(ask_remove, [self.to_remove], [self.confirm_row, self.confirm_text, self.status])
        self.confirm_remove.click(do_remove, [self.to_remove, project],
                                  [self.confirm_row, self.docs, self.to_remove, self.status, project_status])
        self.cancel_remove.click(lambda: (gr.update(visible=False), _status("Retrait annulé.")), None,
                                 [self.confirm_row, self.status])
