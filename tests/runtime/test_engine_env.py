"""Engines of kind 'env': built once from their pinned list, found built afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.runtime.engine_env import COMPLETE, ensure_env, env_key, installed_packages
from modelyard.runtime.report import StagingError
from modelyard.spec.plan import EnginePlan


def engine(*packages: str) -> EnginePlan:
    return EnginePlan(engine_id="tiny-1", engine_name="Tiny", engine_version="1", kind="env",
                      python=sys.executable, packages=list(packages))


def test_the_key_covers_interpreter_and_list() -> None:
    assert env_key("/usr/bin/python3", ["a==1", "b==2"]) == env_key("/usr/bin/python3",
                                                                     ["b==2", "a==1"])
    assert env_key("/usr/bin/python3", ["a==1"]) != env_key("/usr/bin/python3", ["a==2"])


def _runner(calls: list[list[str]]):  # type: ignore[no-untyped-def]
    def run(argv: list[str]) -> int:
        calls.append(argv)
        return subprocess.run(argv, capture_output=True).returncode
    return run


@pytest.mark.slow
def test_built_on_first_use_then_reused(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    env = ensure_env(engine("six==1.17.0"), tmp_path, _runner(calls))
    assert env.built and (env.path / COMPLETE).is_file()
    assert [c[1:3] for c in calls] == [["-m", "venv"], ["-m", "pip"]]
    assert installed_packages(env.python)["six"] == "1.17.0"
    again = ensure_env(engine("six==1.17.0"), tmp_path, _runner(calls))
    assert not again.built and again.path == env.path and len(calls) == 2


@pytest.mark.slow
def test_a_failed_build_leaves_nothing_and_says_so(tmp_path: Path) -> None:
    with pytest.raises(StagingError, match="tiny-1: pip could not install"):
        ensure_env(engine("no-such-package-modelyard-test==0.0.1"), tmp_path, _runner([]))
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []
