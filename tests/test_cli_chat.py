"""The terminal conversation (`python -m assistant chat`): streamed draft, then what the checks changed."""

from __future__ import annotations

from typer.testing import CliRunner

from assistant import cli
from assistant.config import Settings
from assistant.core import Assistant
from assistant.embeddings import HashingEmbedder
from assistant.llm import FakeChat


def test_chat_shows_the_checked_answer_its_sources_and_keeps_the_thread(tmp_path, monkeypatch):
    doc = tmp_path / "tourisme.md"
    doc.write_text("# Tourisme durable\n\nLa stratégie de tourisme durable de Dinan Agglomération vise à allonger "
                   "la saison touristique. Son budget est de 120 000 euros par an.\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    settings.retrieval.min_dense_score = 0.0
    replies = iter(["La stratégie vise à allonger la saison touristique [1]. Elle coûte 450 000 euros [1].",
                    "Quel est le budget de la stratégie de tourisme durable ?",  # the follow-up, rewritten
                    "Son budget est de 120 000 euros par an [1]."])
    chat = FakeChat(lambda messages: next(replies))
    a = Assistant(settings, chat=chat, embedder=HashingEmbedder())
    a.ingest([doc], "Dinan")
    monkeypatch.setattr(cli, "_assistant", lambda: a)
    result = CliRunner().invoke(cli.app, ["chat", "--project", "Dinan"],
                                input="Que vise la stratégie de tourisme ?\net son budget ?\n\n")
    assert result.exit_code == 0, result.output
    out = result.output
    # The invented figure was streamed by the model, then shown flagged after the checks.
    assert "Après vérification" in out and "450 000 (chiffre non vérifié)" in out
    assert "⚠ nombre non sourcé : 450 000" in out
    assert "[1] tourisme.md, Tourisme durable — « La stratégie de tourisme durable de Dinan" in out
    # The follow-up was rewritten with the first turn as context, and answered from the document.
    assert "Que vise la stratégie de tourisme ?" in chat.calls[1][0]["content"]
    assert "Son budget est de 120 000 euros par an [1]." in out
