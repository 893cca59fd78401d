"""Engines of kind ``env``: a virtual environment built on first use from a pinned list.

The catalog (service/engines.yaml) names the packages of, say, ``Scikit_Learn
scikit_learn_1.9.1``; the first job on that engine builds ``$MODELYARD_HOME/engines/<key>``
(``python -m venv`` from the host interpreter, then ``pip install`` of the pinned list from
the installation's package index) with pip's output in the job's log, and every later job
finds it built. The key covers the interpreter and the list, so changing either builds a
new environment and never changes one a running job uses.

The environment is built at its final path (a venv is not relocatable: its scripts name
their interpreter by absolute path) under a lock; a marker file written last says it is
complete, so a crash mid-build leaves a folder that the next job removes and builds again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from modelyard.file_lock import exclusive
from modelyard.runtime.deps import normalise
from modelyard.runtime.report import StagingError
from modelyard.spec.plan import EnginePlan

COMPLETE = ".modelyard-complete"


@dataclass(frozen=True)
class EngineEnv:
    path: Path
    python: str
    """The environment's interpreter (``<path>/bin/python``)."""
    built: bool
    """True when this call built it (the job's first use)."""


def env_key(python: str, packages: Sequence[str]) -> str:
    real = os.path.realpath(python)
    text = json.dumps({"python": real, "packages": sorted(p.strip() for p in packages)})
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def ensure_env(engine: EnginePlan, root: Path,
               run: Callable[[list[str]], int],
               wait_tick: Callable[[], None] = lambda: None) -> EngineEnv:
    """The environment of ``engine``, built with ``run(argv) -> exit code`` (the runtime's
    logged subprocess) when missing. ``wait_tick`` runs while another job builds it."""
    if engine.kind != "env" or not engine.python:
        raise ValueError("ensure_env is for engines of kind 'env'")
    key = env_key(engine.python, engine.packages)
    path = root / key
    python = str(path / "bin" / "python")
    if (path / COMPLETE).is_file():
        return EngineEnv(path, python, built=False)
    root.mkdir(parents=True, exist_ok=True)
    with exclusive(root / f"{key}.lock", wait_tick):
        if (path / COMPLETE).is_file():  # another job built it while we waited
            return EngineEnv(path, python, built=False)
        shutil.rmtree(path, ignore_errors=True)  # a build that did not finish
        try:
            _build(engine, path, run)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
    return EngineEnv(path, python, built=True)


def _build(engine: EnginePlan, path: Path, run: Callable[[list[str]], int]) -> None:
    assert engine.python is not None
    rc = run([engine.python, "-m", "venv", str(path)])
    if rc != 0:
        raise StagingError(f"Building the environment of engine {engine.engine_id}: "
                           f"python -m venv failed (exit code {rc}); see the log")
    pinned = path / "engine-packages.txt"
    pinned.write_text("".join(f"{p}\n" for p in engine.packages))
    rc = run([str(path / "bin" / "python"), "-m", "pip", "install", "--no-input",
              "--disable-pip-version-check", "--progress-bar", "off", "-r", str(pinned)])
    if rc != 0:
        raise StagingError(f"Building the environment of engine {engine.engine_id}: "
                           f"pip could not install its packages (exit code {rc}); see the "
                           "log", transient=False)
    (path / COMPLETE).write_text(json.dumps({"engine_id": engine.engine_id,
                                             "packages": engine.packages}))


def installed_packages(python: str) -> dict[str, str]:
    """{normalised name: version} of what ``python`` has installed (importlib.metadata, run
    in that interpreter: it is the engine's view that counts)."""
    code = ("import json, importlib.metadata as m\n"
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions() "
            "if d.metadata['Name']}))")
    try:
        res = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                             timeout=120, stdin=subprocess.DEVNULL)
        found = json.loads(res.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
    return {normalise(k): str(v) for k, v in found.items()}
