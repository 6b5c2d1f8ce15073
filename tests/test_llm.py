"""Chat-model seam: the test switch, structured output with one repair, model-file integrity."""

from pathlib import Path

import pytest
from pydantic import BaseModel

from assistant.config import LLMSettings
from assistant.errors import ConfigError, ModelError, ModelIntegrityError
from assistant.llm import FakeChat, build_chat_model
from assistant.modelfiles import PRESETS, resolve_gguf, sha256_of


class Cibles(BaseModel):
    cibles: list[str]


def test_real_models_are_blocked_by_default(tmp_path):
    with pytest.raises(ModelError, match="bloqué"):
        build_chat_model(LLMSettings(), tmp_path)


def test_complete_json_sends_validation_error_back_once():
    chat = FakeChat(['{"cibles": "touristes"}', '{"cibles": ["touristes", "étudiants"]}'])
    result = chat.complete_json([{"role": "user", "content": "Quelles cibles ?"}], Cibles)
    assert result.cibles == ["touristes", "étudiants"]
    assert len(chat.calls) == 2
    repair = chat.calls[1][-1]["content"]
    assert "ne respecte pas le schéma" in repair and "cibles" in repair
    assert chat.schemas[0]["properties"]["cibles"]["type"] == "array"


def test_complete_json_gives_up_with_french_message():
    chat = FakeChat(["pas du json", "toujours pas"])
    with pytest.raises(ModelError, match="JSON valide"):
        chat.complete_json([{"role": "user", "content": "?"}], Cibles)


def test_custom_gguf_with_wrong_hash_is_refused(tmp_path):
    fake = tmp_path / "autre.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(ModelIntegrityError, match="empreinte"):
        resolve_gguf("x", fake, "0" * 64, tmp_path)
    path, description = resolve_gguf("x", fake, sha256_of(fake), tmp_path)
    assert path == fake and "vérifié" in description


def test_unknown_preset_and_missing_file_say_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="qwen2.5-coder-1.5b"):
        resolve_gguf("inconnu", None, None, tmp_path)
    with pytest.raises(ConfigError, match="GGUF_PATH"):
        resolve_gguf("x", tmp_path / "absent.gguf", None, tmp_path)


def test_assembled_default_model_matches_pinned_hash(tmp_path):
    """The part packages reassemble into the official file (sha256 pinned from MODELS.md)."""
    preset = PRESETS["qwen2.5-coder-0.5b"]
    path, _ = resolve_gguf(preset.name, None, None, tmp_path)
    assert path.stat().st_size == preset.size
    # A corrupted byte must be caught at the next load.
    with path.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\xff")
    with pytest.raises(ModelIntegrityError):
        resolve_gguf(preset.name, None, None, tmp_path)


def test_openai_provider_needs_a_model_name(tmp_path):
    with pytest.raises(ConfigError, match="MODEL_NAME"):
        build_chat_model(LLMSettings(provider="openai", base_url="http://127.0.0.1:9/v1"), tmp_path)


def test_embedding_cache_returns_the_same_vectors_without_recomputing(tmp_path):
    from assistant.embeddings import CachedEmbedder, HashingEmbedder

    inner = HashingEmbedder()
    calls = []
    original = inner.embed_passages
    inner.embed_passages = lambda texts: calls.append(list(texts)) or original(texts)
    cached = CachedEmbedder(inner, tmp_path / "cache.sqlite3")
    first = cached.embed_passages(["écoute des habitants", "plan d'action"])
    second = CachedEmbedder(inner, tmp_path / "cache.sqlite3").embed_passages(["plan d'action", "nouveau texte"])
    assert calls == [["écoute des habitants", "plan d'action"], ["nouveau texte"]]
    assert (second[0] == first[1]).all() and second.shape == (2, inner.dim)
