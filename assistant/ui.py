"""Web interface: the only gradio importer. Layout and event wiring only; all logic lives in the facade."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no outbound traffic

import gradio as gr  # noqa: E402

from .answer import Turn  # noqa: E402
from .config import Settings  # noqa: E402
from .core import Assistant  # noqa: E402
from .errors import AssistantError  # noqa: E402

HEAD = "<script>document.documentElement.lang = 'fr';</script>"


def _sources_markdown(answer) -> str:
    if not answer.covered:
        return "**Non couvert par les documents indexés.**"
    if not answer.citations:
        return "_Aucune source vérifiée pour cette réponse._"
    lines = ["**Sources vérifiées**"]
    for c in answer.citations:
        where = f"page {c.page}" if c.page else (c.section or "")
        lines.append(f"- [{c.n}] {c.file}, {where} — « {c.quote} »")
    lines += [f"- ⚠ {f}" for f in answer.flags]
    return "\n".join(lines)


def build_app(assistant: Assistant) -> gr.Blocks:
    with gr.Blocks(title="Assistant de stratégie territoriale", analytics_enabled=False) as app:
        gr.Markdown("# Assistant de stratégie territoriale\nQuestions sourcées sur vos documents et sur la méthode "
                    "de marketing territorial.")
        project = gr.Textbox(label="Projet (territoire)", value="Mon territoire", elem_id="projet")
        chatbot = gr.Chatbot(label="Discussion", elem_id="discussion", height=420)
        question = gr.Textbox(label="Votre question", placeholder="Quels sont les atouts économiques de notre territoire ?",
                              elem_id="question")
        send = gr.Button("Envoyer", variant="primary", elem_id="envoyer")
        sources = gr.Markdown(elem_id="sources")
        history = gr.State([])

        def respond(q, proj, messages, turns):
            messages = list(messages or [])
            messages.append({"role": "user", "content": q})
            messages.append({"role": "assistant", "content": "…"})
            yield messages, "_Recherche dans les documents…_", turns, ""
            try:
                text = ""
                for event in assistant.ask_stream(q, proj or None, [Turn(**t) for t in turns]):
                    if event.kind == "passages":
                        names = ", ".join(p.label for p in event.passages) or "aucun passage"
                        yield messages, f"_Passages consultés : {names} — rédaction en cours…_", turns, ""
                    elif event.kind == "token":
                        text += event.text
                        messages[-1] = {"role": "assistant", "content": text}
                        yield messages, gr.skip(), turns, ""
                    elif event.kind == "final":
                        answer = event.answer
                        messages[-1] = {"role": "assistant", "content": answer.answer}
                        turns = turns + [{"question": event.question, "answer": answer.answer}]
                        yield messages, _sources_markdown(answer), turns, ""
            except AssistantError as e:
                messages[-1] = {"role": "assistant", "content": f"Erreur : {e.user_message}"}
                yield messages, "", turns, q

        send.click(respond, [question, project, chatbot, history], [chatbot, sources, history, question])
        question.submit(respond, [question, project, chatbot, history], [chatbot, sources, history, question])
    return app


def launch(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    assistant = Assistant(settings)
    assistant.ensure_knowledge()
    app = build_app(assistant)
    auth = None
    if settings.server.auth_user and settings.server.auth_password:
        auth = (settings.server.auth_user, settings.server.auth_password.get_secret_value())
    app.queue(default_concurrency_limit=settings.server.concurrency)
    app.launch(server_name=host or settings.server.host, server_port=port or settings.server.port, auth=auth,
               max_file_size=f"{settings.server.max_upload_mb}mb", ssr_mode=False, footer_links=[],
               head=HEAD, show_error=True)
