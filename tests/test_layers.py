"""The dependency rule (docs/architecture.md "Layers"): a module imports only from layers
above it. Checked on the source itself (``ast``), so an upward import fails here before a
reviewer has to spot it; lazy imports inside functions, ``TYPE_CHECKING`` imports and
module names handed to ``import_module`` or ``python -m`` (string constants naming a module
of the package) count as imports too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "modelyard"

LAYERS = ("spec", "storage", "runtime", "executors", "store", "service", "api", "console",
          "client", "cli")
"""Top to bottom: each may import the ones before it, never one after it."""

SHARED = frozenset({"__init__", "__main__", "auth", "file_lock", "quick_exit", "settings"})
"""Modules beside the layers, importable from any layer; they import only each other."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    """Whether ``name`` is a module or package of ours (a file or folder under src)."""
    parts = name.split(".")
    if parts[0] != "modelyard" or not all(part.isidentifier() for part in parts):
        return False
    base = PACKAGE.parent.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imported(source: str, importer: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, module) for every module of ours that ``source`` imports or names."""
    package = importer if is_package else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:  # ``from modelyard import service`` names a layer
                if is_module(f"{base}.{alias.name}"):
                    yield node.lineno, f"{base}.{alias.name}"
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and is_module(node.value)):
            yield node.lineno, node.value


def place(module: str) -> str:
    """The layer (or shared module) a dotted module name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def violations(source: str, importer: str, is_package: bool = False) -> list[str]:
    home = place(importer)
    found = []
    for line, target in imported(source, importer, is_package):
        if target != "modelyard" and not target.startswith("modelyard."):
            continue
        there = place(target)
        if there == home:
            continue
        if home in SHARED:
            allowed = there in SHARED
        else:
            allowed = there in SHARED or LAYERS.index(there) < LAYERS.index(home)
        if not allowed:
            found.append(f"{importer}:{line} imports {target} ({home} -> {there})")
    return found


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_sits_in_a_layer_or_beside_them() -> None:
    strays = [module_name(p) for p in sources() if place(module_name(p)) not in
              (*LAYERS, *SHARED)]
    assert strays == [], "a new top-level module: put it in a layer or name it in SHARED"


def test_no_module_imports_from_a_layer_below_it() -> None:
    found = [v for p in sources()
             for v in violations(p.read_text(), module_name(p), p.name == "__init__.py")]
    assert found == []


@pytest.mark.parametrize(("source", "importer"), [
    ("from modelyard.service.jobs import JobService", "modelyard.spec.job"),
    ("import modelyard.cli.main", "modelyard.client.http"),
    ("def f():\n    from modelyard.api import app\n", "modelyard.store.db"),
    ("from modelyard import service", "modelyard.runtime.runner"),
    ("MODULE = 'modelyard.service.watcher'", "modelyard.executors.local"),
    ("from ...service import jobs", "modelyard.storage.images.store"),
    ("from modelyard.spec import job", "modelyard.settings"),
])
def test_an_upward_import_is_caught(source: str, importer: str) -> None:
    assert violations(source, importer)


@pytest.mark.parametrize(("source", "importer"), [
    ("from modelyard.spec.job import TrainingJob", "modelyard.service.jobs"),
    ("from modelyard.settings import Settings", "modelyard.storage.s3"),
    ("from . import file", "modelyard.runtime.jobside.moxing.tensorflow"),
    ("NAME = 'modelyard.audit'", "modelyard.spec.job"),  # a logger's name, not a module
    ("from modelyard.auth import parse_keys", "modelyard.settings"),
])
def test_an_allowed_import_passes(source: str, importer: str) -> None:
    assert violations(source, importer) == []
