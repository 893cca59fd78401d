"""The requirements layer (CONTRACT.md "Dependencies", seed S1.2).

A ``requirements.txt`` (or ``pip-requirements.txt``) at the top of the code directory is
installed with ``pip install --target`` into ``$MODELYARD_HOME/envs/<key>`` and put on
``PYTHONPATH`` after ``MA_JOB_DIR``; the key is the file's hash with the engine and pip's
settings. The layer sits on top of the engine, not beside it: pip first resolves the file
against the engine's own packages (``--dry-run --report``), and only what the engine lacks
is installed (``--no-deps``); a pin that replaces one of the engine's packages is a warning
naming it. The folder only ever appears complete: pip
installs into a private temporary folder that is renamed into place, under a lock file, so
two jobs with the same file install once and a crashed install leaves nothing half-made.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.runtime.report import StagingError

REQUIREMENT_FILES = ("requirements.txt", "pip-requirements.txt")
LAYER_MOUNT = Path("/modelyard/envs")
"""Where layers appear inside the sandbox (outside every read-only host folder)."""
PIP_CONFIG_MOUNT = Path("/modelyard/pip.conf")
PIP_PASS_THROUGH_PREFIX = "PIP_"


@dataclass(frozen=True)
class Layer:
    key: str
    path: Path
    """Host path of the finished layer."""
    cached: bool


def find_requirements(code_dir: Path) -> Path | None:
    for name in REQUIREMENT_FILES:
        path = code_dir / name
        if path.is_file():
            return path
    return None


def has_requirements(req: Path) -> bool:
    """False for a file with only blank lines and comments (pip would refuse it)."""
    for line in req.read_text(errors="replace").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return True
    return False


def layer_key(req: Path, salt: str = "") -> str:
    """The file's hash, with ``salt``: the engine and pip's settings, since the same file
    on another engine (or index) installs something else (see ``layer_salt``)."""
    digest = hashlib.sha256(req.read_bytes())
    if salt:
        digest.update(b"\0" + salt.encode())
    return digest.hexdigest()


def layer_salt(engine_key: str, pip_env: Mapping[str, str], pip_conf: Path | None) -> str:
    """What besides the file decides what a layer holds."""
    parts = [engine_key, *(f"{k}={v}" for k, v in sorted(pip_env.items()))]
    if pip_conf is not None:
        with contextlib.suppress(OSError):
            parts.append(hashlib.sha256(pip_conf.read_bytes()).hexdigest())
    return "\n".join(parts)


def ensure_layer(req: Path, envs_root: Path, install: Callable[[Path, str], int],
                 wait_tick: Callable[[], None] = lambda: None, salt: str = "") -> Layer:
    """Returns the layer for ``req``, calling ``install(target, key)`` to build it when it is
    not cached; ``install`` returns pip's exit code. ``wait_tick`` is called while waiting
    for another job's install of the same file (it may raise to give up)."""
    key = layer_key(req, salt)
    final = envs_root / key
    if final.is_dir():
        return Layer(key, final, cached=True)
    envs_root.mkdir(parents=True, exist_ok=True)
    with open(envs_root / f"{key}.lock", "w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                wait_tick()
                time.sleep(0.2)
        if final.is_dir():  # another job finished it while we waited
            return Layer(key, final, cached=True)
        for stale in envs_root.glob(f".{key}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = envs_root / f".{key}.tmp-{os.getpid()}"
        tmp.mkdir()
        try:
            rc = install(tmp, key)
            if rc != 0:
                raise StagingError(
                    f"Installing {req.name} failed (pip exit code {rc}); see the log")
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return Layer(key, final, cached=False)


def pip_command(python: str, target: Path, requirements: Path,
                no_deps: bool = False) -> list[str]:
    return [python, "-m", "pip", "install", "--target", str(target), "-r", str(requirements),
            "--no-input", "--no-cache-dir", "--disable-pip-version-check",
            "--progress-bar", "off", *(["--no-deps"] if no_deps else [])]


def dry_run_command(python: str, requirements: Path, report: Path) -> list[str]:
    """pip resolving ``requirements`` against what the engine already has, installing
    nothing: its report lists only what the engine lacks (or has in another version)."""
    return [python, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report),
            "-r", str(requirements), "--no-input", "--disable-pip-version-check",
            "--progress-bar", "off"]


@dataclass(frozen=True)
class Conflict:
    name: str
    wanted: str
    engine_has: str

    def message(self, req_name: str) -> str:
        return (f"{req_name} pins {self.name} {self.wanted}, but the engine has "
                f"{self.name} {self.engine_has}: the layer's copy comes first on PYTHONPATH "
                "and the engine's compiled packages built against its own version may "
                "break; prefer the engine's version")


def missing_from_report(report: dict[str, Any], engine_has: Mapping[str, str]
                        ) -> tuple[list[str], list[Conflict]]:
    """(requirement lines to install without dependencies, pins that replace one of the
    engine's packages) from pip's installation report (``--report``, format version 1)."""
    lines: list[str] = []
    conflicts: list[Conflict] = []
    for item in report.get("install", []):
        meta = item.get("metadata") or {}
        name, version = str(meta.get("name", "")), str(meta.get("version", ""))
        info = item.get("download_info") or {}
        if item.get("is_direct") and info.get("url"):
            lines.append(str(info["url"]))
        elif name and version:
            lines.append(f"{name}=={version}")
        else:
            continue
        have = engine_has.get(normalise(name))
        if have is not None and have != version:
            conflicts.append(Conflict(name, version, have))
    return lines, conflicts


_OPTION_PREFIXES = ("--index-url", "-i", "--extra-index-url", "--find-links", "-f",
                    "--no-index", "--trusted-host", "--pre", "--prefer-binary",
                    "--only-binary", "--no-binary")


def index_options(req: Path) -> list[str]:
    """The lines of a requirements file that say where packages come from (``--index-url``,
    ``--find-links ./wheels``...): the second pip step needs them to find the same files."""
    out = []
    for line in req.read_text(errors="replace").splitlines():
        text = line.strip()
        if text.startswith(_OPTION_PREFIXES):
            out.append(text)
    return out


def normalise(name: str) -> str:
    """PEP 503 name normalisation (``Scikit_Learn`` and ``scikit-learn`` are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_config(env: Mapping[str, str]) -> tuple[dict[str, str], Path | None]:
    """pip's settings from the runtime's own environment: ``PIP_*`` variables and the
    runtime user's pip.conf. A job's HOME is its own, so without this pip would forget the
    index the installation is configured for."""
    extra = {k: v for k, v in env.items() if k.startswith(PIP_PASS_THROUGH_PREFIX)}
    config = extra.pop("PIP_CONFIG_FILE", None)
    if config and Path(config).is_file():
        return extra, Path(config)
    home = Path(env.get("HOME", "/root"))
    xdg = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    for candidate in (xdg / "pip" / "pip.conf", home / ".pip" / "pip.conf"):
        if candidate.is_file():
            return extra, candidate
    return extra, None
