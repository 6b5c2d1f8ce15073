"""The embedded embedding model, in the main process and spread over worker processes."""

from __future__ import annotations

import os
import signal

import numpy as np

from assistant.config import EmbeddingSettings
from assistant import embeddings
from assistant.embeddings import E5Embedder, build_embedder

TEXTS = [f"Le passage {i} décrit la stratégie touristique de Dinan Agglomération et ses {i * 3} actions."
         for i in range(40)]


def test_worker_processes_give_the_same_vectors_as_the_main_process():
    alone = E5Embedder(workers=1, batch_size=8).embed_passages(TEXTS)
    parallel = E5Embedder(workers=2, batch_size=8)
    try:
        spread = parallel.embed_passages(TEXTS)
        assert embeddings._pool is not None  # the work did go to the workers
        pids = {p.pid for p in embeddings._pool._processes.values()}
        assert len(pids) == 2 and os.getpid() not in pids
        # A second embedder of the same process shares the pool instead of starting two more processes.
        E5Embedder(workers=2, batch_size=8).embed_passages(TEXTS[:16])
        assert {p.pid for p in embeddings._pool._processes.values()} == pids
    finally:
        embeddings.close_workers()
    assert spread.shape == alone.shape == (40, parallel.dim) and spread.dtype == np.float32
    assert np.allclose(spread, alone, atol=1e-5)
    # Order is kept: each text's vector is closest to its own vector from the other run.
    assert (np.argmax(spread @ alone.T, axis=1) == np.arange(40)).all()


def test_a_dead_worker_costs_time_not_vectors():
    embedder = E5Embedder(workers=2, batch_size=8)
    try:
        first = embedder.embed_passages(TEXTS[:16])
        for process in list(embeddings._pool._processes.values()):
            os.kill(process.pid, signal.SIGKILL)
        again = embedder.embed_passages(TEXTS[:16])  # the broken pool is dropped, the main process does the work
        assert embeddings._pool is None
    finally:
        embeddings.close_workers()
    assert np.allclose(first, again, atol=1e-5)


def test_a_few_passages_stay_in_the_main_process():
    embeddings.close_workers()
    E5Embedder(workers=2).embed_passages(TEXTS[:embeddings.POOL_MIN_PASSAGES])
    assert embeddings._pool is None  # no process started for a question-sized job
    try:
        E5Embedder(workers=2).embed_passages(TEXTS[:embeddings.POOL_MIN_PASSAGES + 1])
        assert embeddings._pool is not None
    finally:
        embeddings.close_workers()


def test_the_embedded_model_takes_one_passage_per_call_and_a_remote_one_64(monkeypatch):
    assert build_embedder(EmbeddingSettings(cache=False)).batch_size == 1
    # (the remote embedder asks its endpoint for the vector size when built: answered here without a server)
    monkeypatch.setattr(embeddings.OpenAIEmbedder, "embed_query", lambda self, text: np.ones(3, dtype=np.float32))
    remote = EmbeddingSettings(provider="openai", base_url="http://127.0.0.1:9/v1", model_name="m", cache=False)
    assert build_embedder(remote).batch_size == 64
    assert build_embedder(EmbeddingSettings(batch_size=4, cache=False)).batch_size == 4


def test_default_workers_follow_the_cores():
    assert EmbeddingSettings().workers == min(2, os.cpu_count() or 1)


def test_the_cli_ingests_through_worker_processes(tmp_path, corpus_dir):
    """``python -m assistant``: the spawned workers must not run the command line again (they import
    ``assistant.__main__`` under another name) and the document ends fully embedded."""
    import json
    import subprocess
    import sys

    env = dict(os.environ, ASSISTANT_DATA_DIR=str(tmp_path / "data"), ASSISTANT_EMBEDDINGS__WORKERS="2",
               ASSISTANT_EMBEDDINGS__BATCH_SIZE="4", ASSISTANT_KNOWLEDGE_DIR=str(tmp_path / "no-method"))
    fiche = corpus_dir / "lassembleuse__dinan-pcaet" / "pcaet_fiches_actions" / "fiche29.md"
    run = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(fiche), "--project", "Dinan"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("passages indexés") == 1  # printed once: no worker re-ran the command
    listing = subprocess.run([sys.executable, "-m", "assistant", "documents", "--project", "Dinan", "--json"],
                             capture_output=True, text=True, env=env, timeout=120)
    [doc] = json.loads(listing.stdout)
    assert doc["file"] == "fiche29.md" and doc["embedded"] is True and doc["chunks"] > 4


def test_rounds_read_ahead_give_each_round_its_own_vectors_in_order(tmp_path):
    alone = E5Embedder(workers=1, batch_size=8).embed_passages(TEXTS)
    rounds = [TEXTS[:12], [], TEXTS[12:30], TEXTS[30:]]
    parallel = E5Embedder(workers=2, batch_size=8)
    try:
        out = list(parallel.embed_rounds(iter(rounds)))
        assert embeddings._pool is not None  # the rounds went to the workers
    finally:
        embeddings.close_workers()
    assert [len(v) for v in out] == [12, 0, 18, 10]
    assert np.allclose(np.vstack(out), alone, atol=1e-5)
    # One round of several batches (a single file's passages): still spread over the workers, nothing lost.
    try:
        [single] = list(parallel.embed_rounds(iter([TEXTS[:20]])))
        assert embeddings._pool is not None
    finally:
        embeddings.close_workers()
    assert np.allclose(single, alone[:20], atol=1e-5)


def test_a_worker_dying_between_rounds_costs_time_not_vectors():
    embedder = E5Embedder(workers=2, batch_size=8)
    expected = E5Embedder(workers=1, batch_size=8).embed_passages(TEXTS)
    rounds = [TEXTS[:16], TEXTS[16:32], TEXTS[32:]]
    out = []
    try:
        for i, vectors in enumerate(embedder.embed_rounds(iter(rounds))):
            out.append(vectors)
            if i == 0:  # the next round is already in the workers' hands: kill them
                for process in list(embeddings._pool._processes.values()):
                    os.kill(process.pid, signal.SIGKILL)
        assert embeddings._pool is None  # the broken pool was dropped: the main process did the rest
    finally:
        embeddings.close_workers()
    assert np.allclose(np.vstack(out), expected, atol=1e-5)


def test_cached_rounds_send_only_new_texts_to_the_model(tmp_path):
    from assistant.embeddings import CachedEmbedder, HashingEmbedder

    inner = HashingEmbedder()
    sent: list[list[str]] = []
    original = inner.embed_passages
    inner.embed_passages = lambda texts: sent.append(list(texts)) or original(texts)
    cached = CachedEmbedder(inner, tmp_path / "cache.sqlite3")
    cached.embed_passages(["plan d'action", "diagnostic"])
    sent.clear()
    out = list(cached.embed_rounds(iter([["diagnostic", "cibles"], ["plan d'action"], ["promesse"]])))
    assert sent == [["cibles"], [], ["promesse"]]
    assert cached.hits == 2
    assert np.allclose(out[0], original(["diagnostic", "cibles"])) and np.allclose(out[2], original(["promesse"]))


def test_one_passage_per_call_gives_the_vectors_of_a_batch():
    """Vectors already in the cache (computed by batches of 16 before) and new ones must be interchangeable."""
    one = E5Embedder(workers=1, batch_size=1).embed_passages(TEXTS[:20])
    batched = E5Embedder(workers=1, batch_size=16).embed_passages(TEXTS[:20])
    assert np.allclose(one, batched, atol=1e-5)
