"""The OpenAI-compatible path, for real: llama-cpp-python's server on 127.0.0.1 with the embedded GGUF."""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from pydantic import BaseModel

from assistant.config import LLMSettings, Settings
from assistant.core import Assistant
from assistant.llm import OpenAIChat, build_chat_model
from assistant.modelfiles import resolve_gguf

from .conftest import CORPUS, REPO

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # The 0.5B preset keeps this test quick; the code path is the same for any model behind the server.
    gguf, _ = resolve_gguf("qwen2.5-coder-0.5b", None, None, REPO / "data" / "models")
    port = _free_port()
    # A file, not a pipe: llama.cpp logs a lot at load and would block on a full, unread pipe.
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "2", "--model_alias", "qwen-local"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/models", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail("le serveur llama.cpp s'est arrêté : " + log.read()[-2000:])
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("le serveur llama.cpp n'a pas démarré en 120 s")
    yield base
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


class Territoire(BaseModel):
    nom: str
    type: str


def test_streaming_and_non_streaming(server, real_models):
    chat = build_chat_model(LLMSettings(provider="openai", base_url=server, model_name="qwen-local",
                                        max_tokens=30), REPO / "data")
    assert isinstance(chat, OpenAIChat) and chat.structured_output == "json_object"
    pieces = list(chat.stream([{"role": "user", "content": "Dis bonjour en français."}]))
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert chat.complete_once([{"role": "user", "content": "Réponds par un mot : bonjour"}]).strip()


def test_structured_output_through_server(server, real_models):
    chat = OpenAIChat(base_url=server, api_key=None, model_name="qwen-local")
    result = chat.complete_json([{"role": "user", "content": "Dinan est une commune des Côtes-d'Armor. "
                                  "Donne son nom et son type (commune, epci, departement, region)."}], Territoire)
    assert isinstance(result, Territoire) and result.nom


def test_assistant_answers_through_openai_provider(server, real_models, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", _env_file=None,
                        llm=LLMSettings(provider="openai", base_url=server, model_name="qwen-local"))
    assistant = Assistant(settings)
    fiche = CORPUS / "lassembleuse__dinan-pcaet" / "pcaet_fiches_actions" / "fiche29.md"
    assert assistant.ingest([fiche], "Dinan")[0].status == "indexed"
    answer = assistant.ask("Quels sont les objectifs de la stratégie de tourisme durable de Dinan Agglomération ?",
                           "Dinan")
    print(answer.model_dump_json(indent=1))
    assert answer.covered and answer.answer
    assert answer.timings.first_token_ms is not None
    assert all(c.file == "fiche29.md" or c.project == "_methode" for c in answer.citations)
