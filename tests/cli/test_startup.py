"""What a command imports: only what it needs, so that ``modelyard storage cp`` starts fast.

Each case runs the command in a fresh interpreter (typer's CliRunner over the real app) and
looks at ``sys.modules`` afterwards; no timing is asserted. The service and its database
(SQLAlchemy), the API (FastAPI) and other command groups' modules cost ~1.5 s to import.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUN = """
import sys
from typer.testing import CliRunner
from modelyard.cli.main import app
result = CliRunner().invoke(app, sys.argv[1:])
print(result.output, file=sys.stderr)
print(result.exit_code)
print(*sorted(sys.modules))
"""

CONTROL_PLANE = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "modelyard.service",
                 "modelyard.store", "modelyard.api", "modelyard.executors", "modelyard.runtime")
OTHER_GROUPS = ("modelyard.cli.algorithm", "modelyard.cli.job", "modelyard.cli.fs",
                "modelyard.cli.search", "modelyard.cli.backend")


def modules_after(*args: str) -> set[str]:
    """Runs ``modelyard ARGS`` in a new interpreter; the modules it imported (exit code 0)."""
    proc = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    code, modules = proc.stdout.splitlines()[-2:]
    assert code == "0", proc.stderr
    return set(modules.split())


def imported(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


@pytest.mark.usefixtures("home")
def test_storage_cp_imports_neither_the_control_plane_nor_other_groups(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for i in range(3):
        (src / f"f{i}.txt").write_text(f"file {i}")
    (src / "sub" / "g.txt").write_text("g")
    dst = tmp_path / "dst"
    modules = modules_after("storage", "cp", "-r", str(src), f"file://{dst}/")
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.txt")) == [
        "f0.txt", "f1.txt", "f2.txt", "sub/g.txt"]
    assert "modelyard.storage.transfer" in modules  # the case did copy, through the engine
    assert imported(modules, CONTROL_PLANE + OTHER_GROUPS) == []


@pytest.mark.usefixtures("home")
def test_help_imports_neither_pydantic_nor_the_engine() -> None:
    modules = modules_after("storage", "cp", "--help")
    assert "modelyard.cli.storage" in modules
    assert imported(modules, CONTROL_PLANE + OTHER_GROUPS + (
        "pydantic", "pydantic_settings", "modelyard.settings", "modelyard.storage")) == []


@pytest.mark.usefixtures("home")
def test_top_level_help_lists_every_group_without_importing_it() -> None:
    proc = subprocess.run([sys.executable, "-c", RUN, "--help"], capture_output=True,
                          text=True, timeout=120)
    modules = set(proc.stdout.splitlines()[-1].split())
    for name in ("algorithm", "job", "storage", "fs", "search", "server"):
        assert f" {name} " in proc.stderr
    assert "Copy and list object storage." in proc.stderr
    assert imported(modules, CONTROL_PLANE + OTHER_GROUPS + ("modelyard.cli.storage",
                                                           "pydantic")) == []


@pytest.mark.usefixtures("home")
def test_job_list_imports_only_its_own_group() -> None:
    modules = modules_after("job", "list")
    assert "modelyard.cli.job" in modules and "modelyard.service" in modules
    assert imported(modules, ("modelyard.cli.storage", "modelyard.cli.fs",
                              "modelyard.cli.search", "modelyard.cli.algorithm")) == []


@pytest.mark.usefixtures("home")
def test_storage_cp_into_a_pipe_prints_its_summary_without_rich(tmp_path: Path) -> None:
    """A script's ``storage cp`` (stdout not a terminal) prints the plain summary line; rich
    (~0.08 s to import) is for terminals. The real entry point, its imports from -X
    importtime."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "modelyard.cli.main", "storage", "cp",
         "-r", str(tmp_path / "src"), f"file://{tmp_path / 'dst'}/"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("Copied 1 files (1 bytes), skipped 0 unchanged"), proc.stdout
    modules = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:")}
    assert (tmp_path / "dst" / "a.txt").read_text() == "a"
    assert imported(modules, ("rich",)) == []
