"""SIGKILL at the worst moments leaves every store consistent, and running the job again finishes it.

Real subprocesses are killed: one ingesting a folder of real corpus files (during reading, then during
vectorisation), one saving a strategy in a loop. After each kill the data folder is reopened and checked: every
listed document has all its chunks, vectors are a subset of chunks, re-running the ingestion is idempotent and ends
with vectors == chunks; the strategy JSON loads and validates, its history is coherent and the next save works.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jsonschema
import pytest

from assistant.config import shared_dir, Settings
from assistant.core import Assistant
from assistant.embeddings import HashingEmbedder
from assistant.llm import FakeChat
from assistant.workflow import ProjectStorage, strategy_schema

REPO = Path(__file__).resolve().parents[1]
CORPUS = shared_dir() / "corpus"
FILES = [
    CORPUS / "incubateur-ademe__territoires-en-transitions" / "CAE_Reglement_label.pdf",
    CORPUS / "incubateur-ademe__territoires-en-transitions" / "ECi_Reglement_label.pdf",
    CORPUS / "lassembleuse__dinan-pcaet" / "avis-codev_pcaet_dinan_2022.pdf",
    CORPUS / "lassembleuse__dinan-pcaet" / "pcaet_fiches_actions" / "fiche29.md",
    CORPUS / "lassembleuse__dinan-pcaet" / "pcaet_fiches_actions" / "fiche32.md",
    CORPUS / "observatoire-territoires__rapport-ot-2018" / "synthese_rapport_OT_2018_mobilites_residentielles.html",
]
PROJECT = "Dinan"

INGEST_SCRIPT = """
import os, sys, time
from assistant.config import Settings
from assistant.core import Assistant
from assistant.embeddings import HashingEmbedder
from assistant.llm import FakeChat

data_dir, marker, folder, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

class SlowEmbedder(HashingEmbedder):
    # The real model needs seconds per batch: the kill must be able to land between the two stores.
    def embed_passages(self, texts):
        time.sleep(delay)
        return super().embed_passages(texts)

def progress(label, done, total):
    with open(marker, "a", encoding="utf-8") as f:
        f.write(f"{label}\\t{done}\\t{total}\\n")
        f.flush()
        os.fsync(f.fileno())

a = Assistant(Settings(data_dir=data_dir, _env_file=None), chat=FakeChat([]), embedder=SlowEmbedder())
a.ingest([folder], "Dinan", progress=progress)
progress("fini", 1, 1)
"""

SAVE_SCRIPT = """
import os, sys
from assistant.workflow import ProjectStorage

root, marker = sys.argv[1], sys.argv[2]
storage = ProjectStorage(root, keep=20)
strategy = storage.load("dinan") if storage.exists("dinan") else storage.create("Dinan")
for i in range(100000):
    strategy.title = f"Dinan {i}"
    strategy.skipped.append(f"question-{i:05d}-" + "x" * 200)  # a file that grows: longer writes
    strategy = storage.save(strategy)
    with open(marker, "a", encoding="utf-8") as f:
        f.write(f"{i}\\n")
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    return env


def _marker_lines(marker: Path) -> list[list[str]]:
    if not marker.exists():
        return []
    return [line.split("\t") for line in marker.read_text(encoding="utf-8").splitlines() if line.strip()]


def _run_and_kill(script: str, args: list[str], marker: Path, ready, timeout: float = 120) -> bool:
    """Start ``script``, SIGKILL it as soon as ``ready(marker lines)`` holds. Returns False if it finished first."""
    log = marker.with_suffix(".log")
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], cwd=REPO, env=_env(),
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if ready(_marker_lines(marker)):
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return True
            if proc.poll() is not None:
                raise AssertionError(f"le script s'est arrêté seul ({proc.returncode}) : {log.read_text()[-3000:]}")
            time.sleep(0.02)
        raise AssertionError(f"délai dépassé ; sortie : {log.read_text()[-3000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "documents"
    folder.mkdir()
    for f in FILES:
        shutil.copy(f, folder / f.name)
    return folder


def assert_consistent(a: Assistant) -> None:
    """Every listed document has all its chunks (of its own version); vectors never outlive their chunk."""
    chunks = a.docstore.chunks(PROJECT)
    for record in a.documents(PROJECT):
        mine = [c for c in chunks if c.file == record.file]
        assert len(mine) == record.chunks > 0, record
        assert {c.content_hash for c in mine} == {record.content_hash}
    assert {c.file for c in chunks} == {d.file for d in a.documents(PROJECT)}
    assert a.vectors.ids(PROJECT) <= {c.id for c in chunks}


def assert_finished(a: Assistant) -> None:
    assert sorted(d.file for d in a.documents(PROJECT)) == sorted(f.name for f in FILES)
    assert all(d.embedded for d in a.documents(PROJECT))
    assert a.docstore.pending_count(PROJECT) == 0
    assert a.vectors.ids(PROJECT) == {c.id for c in a.docstore.chunks(PROJECT)}


def _reopen(data_dir: Path) -> Assistant:
    return Assistant(Settings(data_dir=data_dir, _env_file=None), chat=FakeChat([]), embedder=HashingEmbedder())


@pytest.mark.parametrize("moment", ["reading", "vectorisation"])
def test_kill_during_ingestion_then_resume(tmp_path, moment):
    folder = _folder(tmp_path)
    data_dir, marker = tmp_path / "data", tmp_path / "progress.txt"

    def ready(lines) -> bool:
        if moment == "reading":  # the second file has started: the first one is committed
            return any(label != "vectorisation" and int(done) >= 2 for label, done, _ in lines)
        return any(label == "vectorisation" and int(done) > 0 for label, done, _ in lines)

    assert _run_and_kill(INGEST_SCRIPT, [str(data_dir), str(marker), str(folder), "0.4"], marker, ready)

    a = _reopen(data_dir)
    assert_consistent(a)
    listed = a.documents(PROJECT)
    assert listed, "au moins le premier fichier annoncé doit être indexé"
    if moment == "vectorisation":
        assert len(listed) == len(FILES) and a.docstore.pending_count(PROJECT) > 0
    # Running the same ingestion again finishes the job: complete files are skipped, vectors resume.
    reports = a.ingest([folder], PROJECT)
    assert {r.file for r in reports if r.status == "unchanged"} == {d.file for d in listed}
    assert all(r.status in ("unchanged", "indexed") for r in reports), reports
    assert_finished(a)
    # And once more: nothing to do, nothing changes.
    before = a.vectors.ids(PROJECT)
    assert all(r.status == "unchanged" for r in a.ingest([folder], PROJECT))
    assert a.vectors.ids(PROJECT) == before
    assert a.search("règlement du label", PROJECT).passages


def test_vectors_are_reconciled_after_a_crash_between_the_two_stores(tmp_path):
    """Simulated kills between SQLite and Chroma: a forget half done, vectors lost on the Chroma side."""
    a = _reopen(tmp_path / "data")
    a.ingest(FILES[3:5], PROJECT)
    lost_file, forgotten_file = FILES[3].name, FILES[4].name
    # 1. forget() killed after the chunk store, before Chroma: orphan vectors.
    a.docstore.delete_document(PROJECT, forgotten_file)
    # 2. Chroma restored from an older backup: vectors missing for chunks marked embedded.
    lost = sorted(c.id for c in a.docstore.chunks(PROJECT) if c.file == lost_file)[:3]
    a.vectors.delete_ids(PROJECT, lost)
    assert a.vectors.ids(PROJECT) != {c.id for c in a.docstore.chunks(PROJECT)}
    # The next ingestion (any file) repairs both.
    a.ingest(FILES[5:6], PROJECT)
    assert a.vectors.ids(PROJECT) == {c.id for c in a.docstore.chunks(PROJECT)}
    assert a.docstore.pending_count(PROJECT) == 0


def _check_strategy_folder(root: Path, last_reported: int) -> int:
    storage = ProjectStorage(root, keep=20)
    strategy = storage.load("dinan")  # raises if the file is torn or invalid
    data = json.loads((root / "dinan" / "strategy.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, strategy_schema())
    # The save announced last is on disk (or the one after it, killed after its rename).
    assert int(strategy.title.split()[-1]) in (last_reported, last_reported + 1)
    versions = storage.versions("dinan")
    numbers = [v.version for v in versions]
    assert numbers == list(range(numbers[0], numbers[-1] + 1)), numbers  # no gap, no duplicate
    assert numbers[-1] in (strategy.version, strategy.version - 1)  # killed between the two writes at worst
    for v in versions:
        old = storage.load_version("dinan", v.version)
        assert old.version == v.version
    assert [p.title for p in storage.list_projects()] == [strategy.title]
    return strategy.version


def test_kill_during_strategy_saves(tmp_path):
    root, marker = tmp_path / "projects", tmp_path / "saves.txt"
    for round_ in range(2):  # two kills at different moments of the loop
        start = len(_marker_lines(marker))
        assert _run_and_kill(SAVE_SCRIPT, [str(root), str(marker)], marker,
                             lambda lines, start=start: len(lines) >= start + 15 + 10 * round_)
        lines = _marker_lines(marker)
        version = _check_strategy_folder(root, int(lines[-1][0]))
        # Work goes on after the crash: the next save is the next version, and history follows.
        storage = ProjectStorage(root, keep=20)
        strategy = storage.load("dinan")
        strategy.title = f"Dinan {int(lines[-1][0]) + 1}"
        saved = storage.save(strategy)
        assert saved.version == version + 1
        assert storage.versions("dinan")[-1].version == saved.version
        with marker.open("a", encoding="utf-8") as f:
            f.write(f"{int(lines[-1][0]) + 1}\n")
