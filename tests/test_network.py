"""No outbound connection, no telemetry, no document text in the logs.

Every way a socket leaves this process (``socket.connect``/``connect_ex``, ``create_connection``, name
resolution) is watched while the assistant ingests, answers, runs the guided method and serves the web UI: only
loopback addresses may be reached. Attempts elsewhere are recorded and refused, so the test fails instead of
sending anything.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from assistant import session
from assistant.config import shared_dir, Settings
from assistant.core import Assistant
from assistant.embeddings import HashingEmbedder
from assistant.llm import FakeChat

REPO = Path(__file__).resolve().parents[1]
CORPUS = shared_dir() / "corpus"
CAE = CORPUS / "incubateur-ademe__territoires-en-transitions" / "CAE_Reglement_label.pdf"
FICHE = CORPUS / "lassembleuse__dinan-pcaet" / "pcaet_fiches_actions" / "fiche29.md"
LOCAL_NAMES = {None, "", "localhost", "localhost.localdomain", "ip6-localhost"}


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class Outbound:
    """Records (and refuses) every attempt to reach a non-loopback address."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempts: list[str] = []
        self.local = 0
        connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
        create_connection, getaddrinfo = socket.create_connection, socket.getaddrinfo

        def check(kind: str, address) -> None:
            if isinstance(address, (str, bytes)):  # AF_UNIX path
                return
            host = address[0] if isinstance(address, tuple) else address
            if _is_local(host):
                self.local += 1
                return
            self.attempts.append(f"{kind} {address!r}")
            raise OSError(101, f"connexion sortante refusée par le test : {address!r}")

        def guarded_connect(sock, address):
            check("connect", address)
            return connect(sock, address)

        def guarded_connect_ex(sock, address):
            check("connect_ex", address)
            return connect_ex(sock, address)

        def guarded_create_connection(address, *args, **kwargs):
            check("create_connection", address)
            return create_connection(address, *args, **kwargs)

        def guarded_getaddrinfo(host, *args, **kwargs):
            if not _is_local(host):
                self.attempts.append(f"getaddrinfo {host!r}")
                raise socket.gaierror(socket.EAI_NONAME, f"résolution refusée par le test : {host!r}")
            return getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", guarded_connect)
        monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
        monkeypatch.setattr(socket, "create_connection", guarded_create_connection)
        monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.fixture
def outbound(monkeypatch) -> Outbound:
    return Outbound(monkeypatch)


def test_the_guard_itself_catches_an_outbound_attempt(outbound):
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)  # TEST-NET-1: refused before any packet
    with pytest.raises(OSError):
        socket.getaddrinfo("example.org", 443)
    assert len(outbound.attempts) == 2


def _assistant(tmp_path: Path, chat: FakeChat, **settings) -> Assistant:
    s = Settings(data_dir=tmp_path / "data", _env_file=None, **settings)
    s.retrieval.min_dense_score = 0.0
    return Assistant(s, chat=chat, embedder=HashingEmbedder())


def _reply(messages) -> str:
    if "<documents>" in messages[-1]["content"]:
        return "La stratégie de tourisme durable de Dinan repose sur cinq valeurs [1]."
    # A draft of the guided method: one hypothesis, with no quote.
    return json.dumps({"elements": [{"extrait": "", "passage": None, "categorie": "concurrent", "texte": "Saint-Malo"}]})


def test_ingest_ask_workflow_and_export_stay_on_this_machine(outbound, tmp_path):
    a = _assistant(tmp_path, FakeChat(_reply))
    reports = a.ingest([CAE, FICHE], "Dinan")
    assert all(r.status == "indexed" for r in reports)
    answer = a.ask("Quelle stratégie de tourisme durable pour Dinan ?", "Dinan")
    assert answer.answer
    space = session.ProjectSpace(a, "Dinan")
    space.strategy()
    space.engine().propose_draft(space.slug, "diagnostic")
    path, _ = space.export_json()
    assert path.is_file()
    a.forget("Dinan", FICHE.name)
    a.delete_project("Dinan")
    assert outbound.attempts == []


def test_real_embedding_model_loads_and_searches_offline(outbound, tmp_path):
    from assistant.embeddings import E5Embedder

    embedder = E5Embedder()  # loaded under watch: the model ships in its package, nothing is fetched
    a = Assistant(Settings(data_dir=tmp_path / "data", _env_file=None), chat=FakeChat([]), embedder=embedder)
    doc = tmp_path / "note.md"
    doc.write_text("# Tourisme\n\nLe port de plaisance de Dinan attire des visiteurs chaque été.\n", encoding="utf-8")
    a.ingest([doc], "Dinan")
    assert a.search("port de plaisance", "Dinan").passages[0].chunk.file == "note.md"
    assert outbound.attempts == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_served_ui_stays_on_this_machine(outbound, tmp_path):
    from gradio_client import Client

    from assistant import ui

    a = _assistant(tmp_path, FakeChat(_reply))
    a.ingest([FICHE], "Dinan")
    port = _free_port()
    app = ui.start(a, "127.0.0.1", port, block=False)  # what « serve » runs, without blocking
    try:
        assert app.analytics_enabled is False
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read().decode("utf-8")
        assert "Assistant" in page
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        chat, _status, _question = client.predict("Quelle stratégie de tourisme durable pour Dinan ?", "Dinan",
                                                   api_name="/respond")
        assert "cinq valeurs" in json.dumps(chat, ensure_ascii=False)
    finally:
        app.close()
    assert outbound.local > 0  # the page and the API were really fetched, over loopback
    assert outbound.attempts == []


def test_telemetry_and_analytics_are_off_even_in_a_bare_environment(tmp_path):
    """In a process where nobody set the variables, importing our adapters turns telemetry off by itself."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANONYMIZED_TELEMETRY", "GRADIO_ANALYTICS_ENABLED") and not k.startswith("ASSISTANT_")}
    env["PYTHONPATH"] = str(REPO)
    code = f"""
import json, os
from pathlib import Path
from assistant.config import Settings
from assistant.store import VectorStore
from assistant import ui
import gradio.analytics
store = VectorStore(Settings(_env_file=None).store, Path({str(tmp_path / 'chroma')!r}))
print(json.dumps({{"chroma_env": os.environ.get("ANONYMIZED_TELEMETRY"),
                  "chroma_client": store._client.get_settings().anonymized_telemetry,
                  "gradio_env": os.environ.get("GRADIO_ANALYTICS_ENABLED"),
                  "gradio": gradio.analytics.analytics_enabled()}}))
"""
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state == {"chroma_env": "False", "chroma_client": False, "gradio_env": "False", "gradio": False}


# --- logs ------------------------------------------------------------------------------------------------------

CANARY = "Le mot de passe du coffre municipal est ZEPHYRIN-4521"


def _records_with_canary(records, min_level: int) -> list[str]:
    found = []
    for r in records:
        text = r.getMessage() + (r.exc_text or "")
        if r.exc_info and not r.exc_text:
            text += logging.Formatter().formatException(r.exc_info)
        if r.levelno >= min_level and "ZEPHYRIN" in text:
            found.append(f"{r.levelname} {r.name}: {text[:200]}")
    return found


def _ingest_and_ask(tmp_path: Path, level: str, monkeypatch) -> Assistant:
    from assistant import readers

    a = _assistant(tmp_path / level, FakeChat(lambda m: "Le coffre municipal a un mot de passe [1]."),
                   log_level=level)
    (tmp_path / level).mkdir(parents=True, exist_ok=True)
    doc = tmp_path / level / "secret.md"
    doc.write_text(f"# Coffre\n\n{CANARY}, gardé par la mairie de Dinan.\n", encoding="utf-8")
    a.ingest([doc, FICHE], "Dinan")
    # A reader bug whose exception quotes the document: the traceback is DEBUG-only.
    real = readers.read_markdown

    def broken(text, file_name):
        raise ValueError(f"analyse impossible près de « {text[:80]} »")

    monkeypatch.setattr("assistant.ingest.read_markdown", broken)
    bug = tmp_path / level / "bug.md"
    bug.write_text(f"{CANARY}\n", encoding="utf-8")
    [report] = a.ingest([bug], "Dinan")
    assert report.status == "refused" and "ZEPHYRIN" not in report.message
    monkeypatch.setattr("assistant.ingest.read_markdown", real)
    a.ask("Que garde la mairie de Dinan dans le coffre municipal ?", "Dinan")
    return a


def test_logs_never_quote_documents_below_debug(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    _ingest_and_ask(tmp_path, "INFO", monkeypatch)
    ours = [r for r in caplog.records if r.name.startswith("assistant")]
    assert any(r.levelno == logging.INFO for r in ours)  # the run was logged…
    assert any(r.levelno == logging.WARNING and "bug.md" in r.getMessage() for r in ours)
    assert not any(r.levelno < logging.INFO for r in ours)  # …at the configured level…
    assert _records_with_canary(caplog.records, logging.DEBUG) == []  # …without a word of the documents


def test_debug_level_is_what_turns_document_text_on(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    _ingest_and_ask(tmp_path, "DEBUG", monkeypatch)
    assert _records_with_canary(caplog.records, logging.DEBUG)  # passages and tracebacks, at DEBUG…
    assert _records_with_canary(caplog.records, logging.INFO) == []  # …and never above


def test_default_level_is_warning(tmp_path, caplog, monkeypatch):
    assert Settings(_env_file=None).log_level == "WARNING"
    caplog.set_level(logging.DEBUG)
    _ingest_and_ask(tmp_path, "WARNING", monkeypatch)
    ours = [r for r in caplog.records if r.name.startswith("assistant")]
    assert ours and all(r.levelno >= logging.WARNING for r in ours)
    assert _records_with_canary(caplog.records, logging.DEBUG) == []
