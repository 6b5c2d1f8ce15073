"""Projects are sealed from each other: one territory's documents never reach another's searches, answers,
drafts or exports, through the facade, the real CLI (subprocesses) and the served UI; deleting a project removes
its chunks, vectors, uploaded originals and strategy, and nothing of the others.

Both projects hold a file with the same name (``bilan.md``) on the same topic, each with its own marker word:
any leak shows up as the other project's marker.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import InputError
from typer.testing import CliRunner

from assistant import cli, session
from assistant.config import Settings
from assistant.core import Assistant
from assistant.embeddings import HashingEmbedder
from assistant.llm import FakeChat
from assistant.store import collection_name

REPO = Path(__file__).resolve().parents[1]
A, B = "Dinan", "Lamballe"
MARK = {A: "ALPHACANARI", B: "BRAVOCANARI"}
QUESTION = "Comment évolue la fréquentation touristique du port de plaisance ?"


def bilan(project: str) -> str:
    return (f"# Bilan du tourisme de {project}\n\n"
            f"La fréquentation touristique du port de plaisance de {project} progresse chaque été ; "
            f"le code {MARK[project]} identifie ce bilan.\n\n"
            f"Les visiteurs du port de plaisance de {project} viennent surtout de Bretagne et d'Île-de-France "
            f"({MARK[project]}).\n")


def write_docs(root: Path) -> dict[str, Path]:
    folders = {}
    for project in (A, B):
        folder = root / project.lower()
        folder.mkdir(parents=True)
        (folder / "bilan.md").write_text(bilan(project), encoding="utf-8")
        folders[project] = folder
    return folders


def other(project: str) -> str:
    return B if project == A else A


def echo_chat() -> FakeChat:
    """Repeats passage [1] (which carries its project's marker), cited: whatever it was shown, it says."""
    def reply(messages):
        user = messages[-1]["content"]
        first = user.split("[1] (", 1)[1].split("\n", 1)[1].split("\n\n[2]")[0].split("</documents>")[0]
        return " ".join(first.split()) + " [1]."
    return FakeChat(reply)


def make_assistant(data_dir: Path, chat: FakeChat | None = None) -> Assistant:
    s = Settings(data_dir=data_dir, _env_file=None)
    s.retrieval.min_dense_score = 0.0
    return Assistant(s, chat=chat or echo_chat(), embedder=HashingEmbedder())


@pytest.fixture
def two_projects(tmp_path) -> Assistant:
    a = make_assistant(tmp_path / "data")
    folders = write_docs(tmp_path / "docs")
    for project in (A, B):
        [report] = a.ingest([folders[project]], project)
        assert report.status == "indexed"
    return a


def test_facade_searches_answers_and_listings_stay_in_their_project(two_projects):
    a = two_projects
    for project in (A, B):
        leak = MARK[other(project)]
        docs = a.documents(project)
        assert [d.project for d in docs] == [project] and [d.file for d in docs] == ["bilan.md"]
        for query in (QUESTION, leak, f"{leak} port de plaisance {other(project)}"):
            result = a.search(query, project)
            assert result.passages, query
            assert {p.chunk.project for p in result.passages} == {project}
            assert all(leak not in p.chunk.text for p in result.passages)
        answer = a.ask(f"Que dit le bilan du port de {other(project)} ?", project)
        user = a.chat.calls[-1][1]["content"]
        shown = user[user.index("<documents>"):user.index("</documents>")]  # the question names the other one
        assert MARK[project] in shown and leak not in shown and other(project) not in shown
        assert leak not in answer.answer and all(c.file == "bilan.md" for c in answer.citations)
        assert {p.chunk.project for p in answer.passages} == {project}
        # The other project's marker is in no document of this one: refused by code, before any model call.
        calls = len(a.chat.calls)
        refused = a.ask(f"Que dit le bilan {leak} ?", project)
        assert not refused.covered and not refused.citations and len(a.chat.calls) == calls
        assert {p.chunk.project for p in refused.passages} <= {project}
    # The same file name in both projects: forgetting it in one leaves the other whole.
    assert a.forget(A, "bilan.md")
    assert a.documents(A) == [] and a.search(QUESTION, A, include_knowledge=False).passages == []
    assert [d.file for d in a.documents(B)] == ["bilan.md"]
    assert a.search(QUESTION, B).passages[0].chunk.project == B


def _cli_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_DATA_DIR=str(data_dir), ASSISTANT_MODELS_DIR=os.environ.get("ASSISTANT_MODELS_DIR", ""),
               PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "assistant", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done


def test_real_cli_in_subprocesses(tmp_path, monkeypatch, e5):
    """The real command line, real embedded embeddings: two projects on one data folder, searched and listed."""
    data_dir = tmp_path / "data"
    env = _cli_env(data_dir)
    folders = write_docs(tmp_path / "docs")
    _run(env, "ingest", str(folders[A]), "--project", A)
    Assistant(Settings(data_dir=data_dir, _env_file=None), chat=FakeChat([]), embedder=e5).ingest([folders[B]], B)
    rows = json.loads(_run(env, "search", f"{MARK[B]} port de plaisance", "--project", A, "--json").stdout)
    assert rows and {r["project"] for r in rows} == {A}
    assert all(MARK[B] not in r["text"] for r in rows)
    # Listing and forgetting through the CLI in this process, on the same data folder.
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data_dir))
    runner = CliRunner()
    listed = runner.invoke(cli.app, ["documents", "--project", B, "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(d["project"], d["file"]) for d in json.loads(listed.stdout)] == [(B, "bilan.md")]
    assert runner.invoke(cli.app, ["forget", "bilan.md", "--project", B]).exit_code == 0
    still = runner.invoke(cli.app, ["documents", "--project", A, "--json"])
    assert [d["file"] for d in json.loads(still.stdout)] == ["bilan.md"]


def test_cli_ask_and_search_with_a_fake_model(two_projects, monkeypatch):
    data_dir = two_projects.settings.data_dir
    chat = echo_chat()
    monkeypatch.setattr(cli, "_assistant", lambda: make_assistant(data_dir, chat))
    runner = CliRunner()
    for project in (A, B):
        leak = MARK[other(project)]
        result = runner.invoke(cli.app, ["ask", f"Que dit le bilan de {other(project)} ?", "--project", project,
                                         "--json"])
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        assert MARK[project] in answer["answer"] and leak not in result.stdout
        assert answer["citations"] and {c["file"] for c in answer["citations"]} == {"bilan.md"}
        result = runner.invoke(cli.app, ["ask", f"Que dit le bilan {leak} ?", "--project", project, "--json"])
        refused = json.loads(result.stdout)
        assert result.exit_code == 0 and refused["covered"] is False and not refused["citations"]
        result = runner.invoke(cli.app, ["search", leak, "--project", project, "--json"])
        assert result.exit_code == 0 and leak not in result.stdout
        assert {r["project"] for r in json.loads(result.stdout)} == {project}


def test_workflow_drafts_and_exports_stay_in_their_project(two_projects):
    a = two_projects
    seen: dict[str, str] = {}

    def draft(messages):
        prompt = messages[-1]["content"]
        project = A if MARK[A] in prompt else B
        seen[project] = prompt
        quote = f"le code {MARK[project]} identifie ce bilan"
        return json.dumps({"elements": [{"extrait": quote, "passage": 1, "categorie": "force",
                                         "texte": f"Port de plaisance attractif ({MARK[project]})"}]})

    a._chat = FakeChat(draft)
    exports = {}
    for project in (A, B):
        space = session.ProjectSpace(a, project)
        space.strategy()
        result = space.engine().propose_draft(space.slug, "diagnostic")
        assert result.changes, result.message
        path, _ = space.export_json()
        exports[project] = path.read_text(encoding="utf-8")
    for project in (A, B):
        leak = MARK[other(project)]
        assert MARK[project] in seen[project] and leak not in seen[project]
        assert MARK[project] in exports[project] and leak not in exports[project]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(two_projects):
    """The real gradio app on 127.0.0.1, answering with the echoing fake model."""
    from assistant import ui

    port = _free_port()
    app = ui.build_app(two_projects)
    app.queue(default_concurrency_limit=1)
    app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
               **ui.launch_options(two_projects.settings))
    try:
        yield f"http://127.0.0.1:{port}/", two_projects
    finally:
        app.close()


def _assistant_messages(chat) -> str:
    return json.dumps([m for m in chat if m["role"] == "assistant"], ensure_ascii=False)


def test_served_ui_answers_from_the_chosen_project_only(served):
    from gradio_client import Client

    url, _ = served
    for project in (A, B):
        client = Client(url, verbose=False)  # one browser session per person
        chat, _status, _question = client.predict(f"Que dit le bilan du port de {other(project)} ?", project,
                                                  api_name="/respond")
        text = _assistant_messages(chat)
        assert MARK[project] in text and MARK[other(project)] not in text, text[:2000]


def test_four_simultaneous_people_on_two_projects(served):
    """Four sessions at once through the gradio queue: all answered, none with another project's documents."""
    from gradio_client import Client

    url, _ = served
    people = [(Client(url, verbose=False), project) for project in (A, B, A, B)]
    jobs = [(client.submit(f"Comment évolue le port de plaisance de {project} ?", project, api_name="/respond"),
             project) for client, project in people]
    for job, project in jobs:
        chat, status, _question = job.result(timeout=180)
        assert "Réponse sourcée" in status, status
        text = _assistant_messages(chat)
        assert MARK[project] in text and MARK[other(project)] not in text


def test_conversation_memory_does_not_follow_a_project_switch(served):
    from gradio_client import Client

    url, a = served
    a._chat = FakeChat(lambda messages: ("Le port de plaisance [1]." if "<documents>" in messages[-1]["content"]
                                         else "Fréquentation du port de plaisance ?"))
    client = Client(url, verbose=False)
    client.predict(f"Que dit le bilan {MARK[A]} du port de plaisance ?", A, api_name="/respond")
    client.predict("Et les visiteurs ?", B, api_name="/respond")
    sent_for_b = json.dumps(a.chat.calls[1:], ensure_ascii=False)
    assert MARK[A] not in sent_for_b and A not in sent_for_b


def test_delete_project_removes_chunks_vectors_uploads_and_strategy(tmp_path):
    a = make_assistant(tmp_path / "data")
    folders = write_docs(tmp_path / "docs")
    spaces = {}
    for project in (A, B):
        space = spaces[project] = session.ProjectSpace(a, project)
        [report] = space.ingest_uploads([(folders[project] / "bilan.md", "bilan.md")])
        assert report.status == "indexed"
        space.strategy()
        assert space.stored_path("bilan.md") is not None and (space.dir / "strategy.json").is_file()
    names = lambda: {c.name for c in a.vectors._client.list_collections()}  # noqa: E731
    assert {collection_name(A), collection_name(B)} <= names()

    a.delete_project(A)
    assert a.documents(A) == [] and a.docstore.count(A) == 0 and a.projects() == [B]
    assert collection_name(A) not in names()
    assert not spaces[A].dir.exists()
    assert A not in session.list_projects(a)
    assert a.search(QUESTION, A, include_knowledge=False).passages == []
    # The other project is untouched, vectors included.
    assert [d.file for d in a.documents(B)] == ["bilan.md"]
    assert a.vectors.ids(B) == {c.id for c in a.docstore.chunks(B)}
    assert spaces[B].stored_path("bilan.md") is not None and (spaces[B].dir / "strategy.json").is_file()
    # A fresh project with the old name starts empty.
    assert session.ProjectSpace(a, A).strategy().version == 1


def test_delete_keeps_a_folder_still_used_by_a_same_slug_project(tmp_path):
    a = make_assistant(tmp_path / "data")
    folders = write_docs(tmp_path / "docs")
    a.ingest([folders[A]], A)
    space = session.ProjectSpace(a, A)
    space.strategy()
    a.ingest([folders[A]], "DINAN")  # the CLI can still index under a look-alike name
    a.delete_project("DINAN")
    assert space.dir.is_dir() and a.documents(A)
    a.delete_project(A)
    assert not space.dir.exists()


def test_look_alike_project_names_are_refused_instead_of_sharing_files(tmp_path):
    """« Dinan » and « DINAN » would share one folder (uploads, strategy): the look-alike is refused."""
    a = make_assistant(tmp_path / "data")
    folders = write_docs(tmp_path / "docs")
    space = session.ProjectSpace(a, A)
    assert space.ingest_uploads([(folders[A] / "bilan.md", "bilan.md")])[0].status == "indexed"
    look_alike = A.upper() if A.upper() != A else A.lower()
    with pytest.raises(InputError, match="existe déjà"):
        session.ProjectSpace(a, look_alike)
    assert session.ProjectSpace(a, A).dir == space.dir
