"""The page: header, territory selector above the tabs, the five screens, and what a territory switch updates."""

from __future__ import annotations

import logging

import gradio as gr

from .. import session
from ..core import Assistant
from ..errors import AssistantError
from .demarche import DemarcheScreen
from .discussion import DiscussionScreen
from .documents import DocumentsScreen, documents_frame
from .exports import ExportsScreen
from .format import _status, project_text
from .project import NO_PROJECT, NOT_SHOWN, _project_key, _space
from .settings import SettingsScreen

log = logging.getLogger(__name__)

TITLE = "Assistant de stratégie territoriale"


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
                                  info="Choisissez un territoire dans la liste, ou tapez le nom d'un nouveau "
                                       "territoire puis Entrée.")
            # The territory this page shows: NOT_SHOWN until the page has loaded, then a name, or None. Everything
            # that follows a switch hangs on its « change », which fires only when it really changes.
            shown_project = gr.State(NOT_SHOWN)
            project_status = gr.Markdown(elem_id="statut-projet", elem_classes=["statut"])

        with gr.Tabs(elem_id="ecrans"):
            with gr.Tab("Discussion", id="discussion"):
                discussion = DiscussionScreen(assistant)
            with gr.Tab("Documents", id="documents"):
                documents = DocumentsScreen(assistant)
            with gr.Tab("Démarche", id="demarche") as demarche_tab:
                demarche_ui = DemarcheScreen(assistant)
            with gr.Tab("Exports", id="exports") as exports_tab:
                exports = ExportsScreen(assistant)
            with gr.Tab("Paramètres", id="parametres") as settings_tab:
                settings = SettingsScreen(assistant)

        # -- handlers: project ----------------------------------------------------------------------

        def territories() -> list[str] | None:
            try:
                return session.list_projects(assistant)
            except Exception:  # the selector must not stay off: a new territory can still be typed
                log.exception("liste des territoires illisible")
                return None

        def on_load():
            names = territories() or []
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

        switch_outputs = [shown_project, project_status, discussion.chatbot, discussion.messages, discussion.turns,
                          documents.docs, documents.to_remove, discussion.status]
        app.load(on_load, None, [project, *switch_outputs])
        project.change(switch, [project, shown_project], switch_outputs)

        # -- handlers of the screens: their order numbers the page's events (and their API names) -------
        discussion.wire(project, allow)
        documents.wire(project, project_status, allow)
        demarche_ui.wire(project, shown_project, demarche_tab)
        exports.wire(project, shown_project, exports_tab)
        settings.wire(settings_tab)

        def listed():
            """The list as it is now: a territory created by typing its name appears in it from then on."""
            names = territories()
            return gr.skip() if names is None else gr.update(choices=names)

        # Last, so that the events above keep their numbers (and API names).
        project.focus(listed, None, project, show_progress="hidden")
    return app
