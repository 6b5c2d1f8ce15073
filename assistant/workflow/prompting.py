"""Workflow prompts: ``prompts/workflow_*.txt`` filled with string.Template, and field guides drawn from schemas.

A placeholder left without a value raises, and so does a value the prompt does not use: both mean that the
prompt file and the code have drifted apart.
"""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

from pydantic import BaseModel

from ..config import PROJECT_ROOT
from ..errors import ConfigError

DEFAULT_PROMPTS_DIR = PROJECT_ROOT / "prompts"


def load_prompt(name: str, prompts_dir: Path | None = None, **values: Any) -> str:
    """Read ``<prompts_dir>/<name>.txt`` and substitute ``$placeholders`` from ``values``."""
    path = Path(prompts_dir or DEFAULT_PROMPTS_DIR) / f"{name}.txt"
    try:
        template = Template(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"Prompt introuvable : {path}", fix="vérifiez ASSISTANT_PROMPTS_DIR") from e
    wanted = set(template.get_identifiers())
    if missing := sorted(wanted - values.keys()):
        raise ConfigError(f"Le prompt « {name} » attend la ou les valeurs : {', '.join(missing)}",
                          fix="complétez l'appel à load_prompt()")
    if unused := sorted(values.keys() - wanted):
        raise ConfigError(f"Le prompt « {name} » n'utilise pas : {', '.join(unused)}",
                          fix=f"ajoutez les $placeholders correspondants dans {path.name} ou retirez ces valeurs")
    return template.substitute({k: str(v) for k, v in values.items()}).strip()


def _kind(prop: dict, defs: dict) -> tuple[str, dict | None]:
    """A French name for a JSON Schema type, and the object schema to describe below it, if any."""
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        kind, sub = _kind(options[0], defs) if options else ("texte", None)
        return f"{kind}, ou null", sub
    if "$ref" in prop:
        target = defs[prop["$ref"].rsplit("/", 1)[-1]]
        return ("objet", target) if "properties" in target else _kind(target, defs)
    if "enum" in prop:
        return "un de : " + ", ".join(map(str, prop["enum"])), None
    if prop.get("type") == "array":
        kind, sub = _kind(prop.get("items", {}), defs)
        return ("liste d'objets", sub) if sub else (f"liste ({kind})", None)
    return {"string": "texte", "number": "nombre", "integer": "nombre entier", "boolean": "vrai ou faux"}.get(
        prop.get("type", ""), "valeur"), None


def describe_fields(model: type[BaseModel]) -> str:
    """One line per field (nested objects indented): name, expected type or choices, description."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    lines: list[str] = []

    def walk(obj: dict, indent: str) -> None:
        for name, prop in obj.get("properties", {}).items():
            kind, sub = _kind(prop, defs)
            desc = prop.get("description", "")
            lines.append(f"{indent}- {name} ({kind})" + (f" : {desc}" if desc else ""))
            if sub:
                walk(sub, indent + "  ")

    walk(schema, "")
    return "\n".join(lines)
