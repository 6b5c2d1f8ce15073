"""Serving the page: launch options shared by ``serve`` and the tests, the bounded queue, the entry point."""

from __future__ import annotations

import gradio as gr

from .. import session
from ..config import Settings
from ..core import Assistant
from .app import build_app
from .assets import HEAD, STATIC, theme


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

