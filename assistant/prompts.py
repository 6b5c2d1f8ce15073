"""Prompt files: ``prompts/<name>.txt`` with ``$placeholders`` (string.Template). A missing value raises."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from string import Template

from .config import PROJECT_ROOT
from .errors import ConfigError

DEFAULT_DIR = PROJECT_ROOT / "prompts"


@lru_cache(maxsize=64)
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def render(name: str, prompts_dir: Path = DEFAULT_DIR, **values: object) -> str:
    path = Path(prompts_dir) / f"{name}.txt"
    if not path.is_file():
        raise ConfigError(f"Prompt introuvable : {path}", fix="vérifiez ASSISTANT_PROMPTS_DIR")
    try:
        return Template(_read(path)).substitute({k: str(v) for k, v in values.items()}).strip()
    except KeyError as e:
        raise ConfigError(f"Le prompt « {name} » attend la valeur {e}", fix="complétez l'appel à render()") from e
