"""Chat models: the only importer of llama_cpp and openai. A tiny protocol, three implementations, a test switch.

- ``LlamaCppChat``: the embedded GGUF through llama-cpp-python (offline default).
- ``OpenAIChat``: any OpenAI-compatible endpoint (OpenAI, Albert, Mistral, Ollama, vLLM, llama.cpp server).
- ``FakeChat``: queued or computed replies, for logic tests.

Structured output: ``complete_json(messages, Model)`` constrains generation to the model's JSON Schema
(a llama.cpp grammar locally, ``response_format`` remotely), validates with pydantic and sends the
validation error back once for another try.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .config import LLMSettings
from .errors import ConfigError, ModelError

Message = dict[str, str]
T = TypeVar("T", bound=BaseModel)

_real_models_blocked = False


def block_real_models(blocked: bool = True) -> None:
    """Tests call this so that no real model is loaded or called unless a test asks for one."""
    global _real_models_blocked
    _real_models_blocked = blocked


def _ensure_allowed(what: str) -> None:
    if _real_models_blocked:
        raise ModelError(
            f"Appel à un modèle réel ({what}) bloqué pendant les tests",
            fix="utilisez FakeChat, ou le marqueur/la fixture « real_models » dans le test",
        )


class ChatModel(ABC):
    """A chat model. Subclasses implement ``_stream``; everything else is shared."""

    provider: str = "?"
    name: str = "?"

    def __init__(self, *, max_tokens: int = 400, temperature: float = 0.1) -> None:
        self.max_tokens = max_tokens
        self.temperature = temperature

    @abstractmethod
    def _stream(self, messages: list[Message], *, max_tokens: int, temperature: float,
                schema: dict | None) -> Iterator[str]:
        """Yield text pieces of the reply; when ``schema`` is given, the reply is JSON valid against it."""

    def stream(self, messages: list[Message], *, max_tokens: int | None = None,
               temperature: float | None = None) -> Iterator[str]:
        return self._stream(messages, max_tokens=max_tokens or self.max_tokens,
                            temperature=self.temperature if temperature is None else temperature, schema=None)

    def complete(self, messages: list[Message], **kwargs: Any) -> str:
        return "".join(self.stream(messages, **kwargs))

    def complete_json(self, messages: list[Message], model_cls: type[T], *, max_tokens: int | None = None,
                      retries: int = 1) -> T:
        schema = model_cls.model_json_schema()
        convo = list(messages)
        last_error: Exception | None = None
        for _ in range(retries + 1):
            text = "".join(self._stream(convo, max_tokens=max_tokens or self.max_tokens * 2,
                                        temperature=0.0, schema=schema))
            try:
                return model_cls.model_validate_json(_strip_fences(text))
            except ValidationError as e:
                last_error = e
                # Instructor-style repair: show the model its own output and the errors, once.
                convo = convo + [
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": "Ta réponse JSON ne respecte pas le schéma :\n"
                     f"{_short_errors(e)}\nRéponds de nouveau avec un JSON valide uniquement."},
                ]
        raise ModelError(
            f"Le modèle {self.name} n'a pas produit de JSON valide ({_short_errors(last_error)})",
            fix="reformulez plus simplement, ou configurez un modèle plus puissant (ASSISTANT_LLM__PROVIDER=openai)",
        )

    def describe(self) -> dict:
        return {"provider": self.provider, "model": self.name}


def _strip_fences(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`")
        if text.startswith("json"):
            text = text[4:]
    return text.strip()


def _short_errors(error: Exception | None) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
    return str(error)


class LlamaCppChat(ChatModel):
    """The embedded GGUF model. One instance per process: loading costs seconds and ~1–2 GB of RAM."""

    provider = "embedded"

    def __init__(self, path: Path, *, description: str = "", n_ctx: int = 4096, n_threads: int = 1,
                 n_threads_batch: int = 2, **kwargs: Any) -> None:
        _ensure_allowed("llama.cpp")
        super().__init__(**kwargs)
        try:
            from llama_cpp import Llama
        except ImportError as e:  # pragma: no cover - install problem
            raise ModelError("llama-cpp-python n'est pas installé",
                             fix="relancez « bash scripts/setup.sh »") from e
        self.path = Path(path)
        self.name = self.path.name
        self.description = description
        try:
            self._llm = Llama(model_path=str(self.path), n_ctx=n_ctx, n_threads=n_threads,
                              n_threads_batch=n_threads_batch, verbose=False)
        except Exception as e:
            raise ModelError(f"Impossible de charger le modèle {self.path}",
                             fix="vérifiez que le fichier est un GGUF valide (python -m assistant doctor)") from e
        self._lock = threading.Lock()  # llama.cpp contexts are not thread-safe
        self._grammars: dict[str, Any] = {}

    def _grammar(self, schema: dict) -> Any:
        # Converting a JSON Schema into a GBNF grammar costs seconds on this CPU: do it once per schema.
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]

    def _stream(self, messages, *, max_tokens, temperature, schema):
        _ensure_allowed("llama.cpp")
        grammar = self._grammar(schema) if schema else None
        with self._lock:
            try:
                for part in self._llm.create_chat_completion(
                    messages=messages, max_tokens=max_tokens, temperature=temperature,
                    stream=True, grammar=grammar,
                ):
                    piece = part["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except ValueError as e:  # prompt longer than the context window
                raise ModelError("La demande dépasse la mémoire de contexte du modèle",
                                 fix="posez une question plus courte ou réduisez le nombre de passages (ASSISTANT_RETRIEVAL__K)") from e

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))


class OpenAIChat(ChatModel):
    """Any OpenAI-compatible endpoint. Changing provider is configuration, never code."""

    provider = "openai"

    def __init__(self, *, base_url: str | None, api_key: str | None, model_name: str,
                 structured_output: str = "auto", timeout_s: float = 300.0, **kwargs: Any) -> None:
        _ensure_allowed("OpenAI-compatible")
        super().__init__(**kwargs)
        from openai import OpenAI

        self.name = model_name
        self.base_url = base_url
        # Local servers accept any key; the client refuses an empty one.
        self._client = OpenAI(base_url=base_url, api_key=api_key or "sans-cle", timeout=timeout_s, max_retries=1)
        if structured_output == "auto":
            structured_output = "json_schema" if not base_url or "openai.com" in base_url else "json_object"
        self.structured_output = structured_output

    def _response_format(self, schema: dict) -> dict:
        if self.structured_output == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "reponse", "schema": schema}}
        # llama.cpp's server rejects json_schema (HTTP 500) but honours a schema inside json_object.
        return {"type": "json_object", "schema": schema}

    def _stream(self, messages, *, max_tokens, temperature, schema):
        _ensure_allowed("OpenAI-compatible")
        from openai import APIConnectionError, APIError

        kwargs: dict[str, Any] = {"model": self.name, "messages": messages, "max_tokens": max_tokens,
                                  "temperature": temperature}
        if schema:
            kwargs["response_format"] = self._response_format(schema)
            kwargs["messages"] = messages + [{"role": "system", "content": "Réponds uniquement en JSON conforme à ce "
                                              "schéma : " + json.dumps(schema, ensure_ascii=False)}]
        try:
            for event in self._client.chat.completions.create(stream=True, **kwargs):
                if event.choices and event.choices[0].delta.content:
                    yield event.choices[0].delta.content
        except APIConnectionError as e:
            raise ModelError(f"Le point d'accès {self.base_url or 'OpenAI'} ne répond pas",
                             fix="vérifiez ASSISTANT_LLM__BASE_URL et que le serveur est démarré") from e
        except APIError as e:
            raise ModelError(f"Le point d'accès {self.base_url or 'OpenAI'} a refusé la demande : {e.message}",
                             fix="vérifiez ASSISTANT_LLM__MODEL_NAME et ASSISTANT_LLM__API_KEY") from e

    def complete_once(self, messages: list[Message], max_tokens: int = 64) -> str:
        """Non-streaming call (some gateways behave differently; doctor and tests use both paths)."""
        _ensure_allowed("OpenAI-compatible")
        resp = self._client.chat.completions.create(model=self.name, messages=messages, max_tokens=max_tokens,
                                                    temperature=self.temperature, stream=False)
        return resp.choices[0].message.content or ""


class FakeChat(ChatModel):
    """Deterministic stand-in for logic tests: replays queued replies, or calls ``fn(messages)``."""

    provider = "fake"
    name = "fake"

    def __init__(self, replies: list[str | dict | BaseModel] | Callable[[list[Message]], str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fn = replies if callable(replies) else None
        self._queue = list(replies) if isinstance(replies, list) else []
        self.calls: list[list[Message]] = []
        self.schemas: list[dict | None] = []

    def _stream(self, messages, *, max_tokens, temperature, schema):
        self.calls.append(messages)
        self.schemas.append(schema)
        if self._fn is not None:
            reply = self._fn(messages)
        elif self._queue:
            reply = self._queue.pop(0)
        else:
            raise AssertionError("FakeChat : plus aucune réponse en file")
        if isinstance(reply, BaseModel):
            reply = reply.model_dump_json()
        elif isinstance(reply, dict):
            reply = json.dumps(reply, ensure_ascii=False)
        for i in range(0, len(reply), 8):
            yield reply[i:i + 8]


def build_chat_model(settings: LLMSettings, models_dir: Path) -> ChatModel:
    """Build the configured chat model (embedded by default)."""
    common = {"max_tokens": settings.max_tokens, "temperature": settings.temperature}
    if settings.provider == "openai":
        if not settings.model_name:
            raise ConfigError("Aucun nom de modèle pour le fournisseur compatible OpenAI",
                              fix="définissez ASSISTANT_LLM__MODEL_NAME (ex. gpt-4o-mini, mistral-small-latest)")
        key = settings.api_key.get_secret_value() if settings.api_key else None
        if not settings.base_url and not key:
            raise ConfigError("Aucune clé d'API pour OpenAI",
                              fix="définissez ASSISTANT_LLM__API_KEY, ou ASSISTANT_LLM__BASE_URL vers un serveur local")
        return OpenAIChat(base_url=settings.base_url, api_key=key, model_name=settings.model_name,
                          structured_output=settings.structured_output, timeout_s=settings.timeout_s, **common)
    from .modelfiles import resolve_gguf

    _ensure_allowed("llama.cpp")
    path, description = resolve_gguf(settings.model, settings.gguf_path, settings.gguf_sha256, models_dir)
    return LlamaCppChat(path, description=description, n_ctx=settings.n_ctx, n_threads=settings.n_threads,
                        n_threads_batch=settings.n_threads_batch, **common)


def measure_speed(model: ChatModel, prompt: str = "Dis bonjour en une phrase.") -> dict:
    """A short real generation: returns the text, seconds and an approximate tokens/s (doctor)."""
    start = time.perf_counter()
    pieces = list(model.stream([{"role": "user", "content": prompt}], max_tokens=24))
    seconds = time.perf_counter() - start
    text = "".join(pieces)
    tokens = model.count_tokens(text) if isinstance(model, LlamaCppChat) else max(len(pieces), 1)
    return {"text": text, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1) if seconds else None}
