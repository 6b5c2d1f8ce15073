"""The same code against a real ``chroma run`` server on 127.0.0.1, chosen by configuration only.

The server is started as a subprocess (output to a file, telemetry off), waited for through its heartbeat, then
used by two ``Assistant`` instances sharing one data folder, as two app workers would: ingest, search, forget,
delete a project, and keep working when the other worker deleted a collection this one had cached.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from assistant.config import shared_dir, Settings, StoreSettings
from assistant.core import Assistant
from assistant.embeddings import HashingEmbedder
from assistant.errors import StoreError
from assistant.llm import FakeChat
from assistant.store import collection_name

CORPUS = shared_dir() / "corpus"
FICHES = CORPUS / "lassembleuse__dinan-pcaet" / "pcaet_fiches_actions"
CAE = CORPUS / "incubateur-ademe__territoires-en-transitions" / "CAE_Reglement_label.pdf"
CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    assert CHROMA.is_file(), f"CLI chroma introuvable : {CHROMA}"
    root = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    log = (root / "server.log").open("w")
    proc = subprocess.Popen([str(CHROMA), "run", "--host", "127.0.0.1", "--port", str(port), "--path",
                             str(root / "db")], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"le serveur Chroma n'a pas démarré : {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
    try:
        yield proc, port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        log.close()


def _settings(data_dir: Path, port: int) -> Settings:
    s = Settings(data_dir=data_dir, store=StoreSettings(mode="http", host="127.0.0.1", port=port), _env_file=None)
    s.retrieval.min_dense_score = 0.0
    return s


def _worker(data_dir: Path, port: int) -> Assistant:
    return Assistant(_settings(data_dir, port), chat=FakeChat(lambda m: "Le tourisme durable [1]."),
                     embedder=HashingEmbedder())


def _server_connections_are_local(proc: subprocess.Popen) -> None:
    remote = [c.raddr for c in psutil.Process(proc.pid).net_connections(kind="inet") if c.raddr]
    assert all(ipaddress.ip_address(r.ip).is_loopback for r in remote), remote


def test_same_code_through_a_chroma_server(chroma_server, tmp_path):
    proc, port = chroma_server
    data_dir = tmp_path / "data"
    one, two = _worker(data_dir, port), _worker(data_dir, port)
    assert one.vectors.description == f"serveur Chroma http://127.0.0.1:{port}"

    reports = one.ingest([FICHES / "fiche29.md", FICHES / "fiche32.md", CAE], "Dinan")
    assert [r.status for r in reports] == ["indexed"] * 3
    two.ingest([FICHES / "fiche05.md"], "Lamballe")
    assert not one.settings.chroma_dir.exists()  # nothing embedded: vectors live on the server
    _server_connections_are_local(proc)

    # Either worker sees everything the other wrote (shared chunk store, shared vector server).
    for worker in (one, two):
        assert {d.file for d in worker.documents("Dinan")} == {"fiche29.md", "fiche32.md", CAE.name}
        assert worker.vectors.ids("Dinan") == {c.id for c in worker.docstore.chunks("Dinan")}
        found = worker.search("stratégie de développement du tourisme durable", "Dinan").passages
        assert found and found[0].chunk.file == "fiche29.md" and found[0].dense_rank is not None
        assert {p.chunk.project for p in found} == {"Dinan"}
    answer = two.ask("Quelle stratégie de tourisme durable ?", "Dinan")
    assert answer.citations

    assert two.forget("Dinan", "fiche32.md")
    assert one.vectors.ids("Dinan") == {c.id for c in one.docstore.chunks("Dinan")}
    assert all(p.chunk.file != "fiche32.md" for p in one.search("plan climat", "Dinan").passages)

    # Worker two deletes the project whose collection worker one has cached; worker one keeps working.
    two.delete_project("Dinan")
    import chromadb

    names = {c.name for c in chromadb.HttpClient(host="127.0.0.1", port=port).list_collections()}
    assert collection_name("Dinan") not in names and collection_name("Lamballe") in names
    assert one.documents("Dinan") == []
    assert one.search("tourisme durable", "Dinan", include_knowledge=False).passages == []
    [report] = one.ingest([FICHES / "fiche29.md"], "Dinan")
    assert report.status == "indexed"
    assert one.vectors.ids("Dinan") == {c.id for c in one.docstore.chunks("Dinan")}
    assert two.search("tourisme durable", "Dinan").passages[0].chunk.file == "fiche29.md"
    assert [d.file for d in one.documents("Lamballe")] == ["fiche05.md"]
    _server_connections_are_local(proc)


def test_server_down_is_a_french_error_with_the_fix(tmp_path):
    port = _free_port()  # nothing listens there
    a = _worker(tmp_path / "data", port)
    with pytest.raises(StoreError) as info:
        a.ingest([FICHES / "fiche29.md"], "Dinan")
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "ASSISTANT_STORE__MODE" in message
    # The text phase committed before the vector phase failed: nothing is lost, the next run resumes.
    assert a.docstore.pending_count("Dinan") > 0
