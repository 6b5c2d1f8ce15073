"""Discussion screen: questions on the territory's documents and the method, answered with their sources."""

from __future__ import annotations

import logging
from collections.abc import Callable

import gradio as gr

from .. import session
from ..answer import Turn
from ..core import Assistant
from ..errors import AssistantError
from .format import LOADING, _status, answer_markdown, passages_markdown
from .project import _space

log = logging.getLogger(__name__)


class DiscussionScreen:
    """The conversation, the question box and the conversation's memory (the turns the model reads again)."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.chatbot = gr.Chatbot(label="Discussion", show_label=False, elem_id="discussion", height=480,
                                  buttons=["copy"],
                                  feedback_options=None, placeholder=(
                                      "**Posez une question sur vos documents ou sur la méthode.**<br>"
                                      "Chaque réponse cite ses sources (fichier, page, extrait)."))
        with gr.Row(equal_height=True):
            self.question = gr.Textbox(label="Votre question", lines=1, max_lines=6, scale=5, elem_id="question",
                                       placeholder="Ex. : Quels sont les atouts économiques de notre territoire ?")
            with gr.Column(scale=1, min_width=160):
                self.send = gr.Button("Envoyer", variant="primary", elem_id="envoyer", size="md")
                self.reset = gr.Button("Nouvelle discussion", variant="secondary", elem_id="nouvelle", size="md")
        self.status = gr.Markdown(elem_id="statut-discussion", elem_classes=["statut"])
        gr.Examples(label="Exemples de questions", inputs=[self.question], examples=[
            ["Comment définir un domaine d'activité stratégique (DAS) ?"],
            ["Quelles parties prenantes associer à la démarche ?"],
            ["Quels indicateurs prévoir dans le tableau de bord ?"],
        ])
        self.messages = gr.State([])
        self.turns = gr.State([])

    def wire(self, project: gr.Dropdown, allow: Callable[[session.ProjectSpace], None]) -> None:
        """``allow`` lets the page serve a project's originals (see ``build_app``)."""
        assistant = self.assistant

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

        gr.on([self.send.click, self.question.submit], respond,
              inputs=[self.question, project, self.messages, self.turns],
              outputs=[self.chatbot, self.status, self.messages, self.turns, self.question, self.send],
              concurrency_id="answer", trigger_mode="once")
        self.reset.click(lambda: ([], [], [], _status("Nouvelle discussion.")), None,
                         [self.chatbot, self.messages, self.turns, self.status])
        self.chatbot.clear(lambda: ([], [], _status("Discussion effacée.")), None,
                           [self.messages, self.turns, self.status])
