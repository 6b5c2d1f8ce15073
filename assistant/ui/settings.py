"""Paramètres screen: the effective settings (secrets masked) and a check of the installation."""

from __future__ import annotations

import gradio as gr

from ..core import Assistant
from .format import LOADING, _status, settings_markdown


class SettingsScreen:
    """A summary of the settings, all of them on demand, and the « doctor » of the installation."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.summary = gr.Markdown(settings_markdown(assistant), elem_id="parametres-resume")
        with gr.Accordion("Tous les réglages (secrets masqués)", open=False):
            gr.JSON(assistant.settings.public_dump(), label="Réglages effectifs")
        self.check = gr.Button("Vérifier l'installation", elem_id="verifier", size="md")
        self.check_status = gr.Markdown(elem_id="statut-parametres", elem_classes=["statut"])
        self.doctor_json = gr.JSON(label="Diagnostic", visible=False)

    def wire(self, tab: gr.Tab) -> None:
        assistant = self.assistant

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

        self.check.click(run_doctor, None, [self.summary, self.check_status, self.doctor_json],
                         concurrency_id="answer")
        tab.select(lambda: settings_markdown(assistant), None, [self.summary])
