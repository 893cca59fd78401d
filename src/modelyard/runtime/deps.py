"""The requirements layer (docs/contract.md "Dependencies", seed S1.2).

A ``requirements.txt`` (or ``pip-requirements.txt``) at the top of the code directory is
installed with ``pip install --target`` into ``$MODELYARD_HOME/envs/<key>`` and put on
``PYTHONPATH`` after ``MA_JOB_DIR``. The layer sits on top of the engine, not beside it:
pip first resolves the file against the engine's own packages (``--dry-run --report``),
and only what the engine lacks is installed (``--no-deps``); a pin that replaces one of the
engine's packages is a warning naming it. The folder only ever appears complete: pip
installs into a private temporary folder that is renamed into place, under a lock file, so
two jobs with the same key install once and a crashed install leaves nothing half-made.

The key (issue 13) is a hash of everything that decides what pip puts in the layer, so a
layer is reused only by a job that would have installed the same thing:

- the requirements file as pip reads it (``${VAR}`` expanded from pip's environment), and
  the content of every file or folder of the code directory it refers to (``-r``, ``-c``,
  ``--find-links ./wheels``, ``./pkg``);
- the engine: the interpreter's path and the identity of its executable;
- the installation's pip settings (the server's ``PIP_*`` variables and its pip.conf);
- its **scope**. A job can steer pip through the variables it sets (``PIP_INDEX_URL``,
  ``PIP_FIND_LINKS``, proxies, ``LD_PRELOAD``..., its own or through an ``env`` channel)
  and through ``${VAR}`` references to them. Then the layer is keyed by those variables
  *and the project*: no other project ever computes that key, so what a job's own index
  served can only reach jobs of the same project that asked for the same settings. A
  requirements file (or a job's ``PIP_*``/``LD_*`` setting) that points outside the code
  directory (``/data/wheels``, ``file:///...``, ``~/x``, a remote ``-r URL``) makes the
  layer the job's own: it is installed into the job folder's ``envs/`` and never shared.
  Only a job that sets nothing and refers to nothing outside its code shares its layer
  with every project.

pip runs isolated (``python -I``): neither the code directory (its working directory) nor
``PYTHONPATH`` can put a module in front of pip's own, so nothing but pip and the packages
it builds writes into the layer.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.file_lock import exclusive
from modelyard.runtime.report import StagingError

REQUIREMENT_FILES = ("requirements.txt", "pip-requirements.txt")
LAYER_MOUNT = Path("/modelyard/envs")
"""Where layers appear inside the sandbox (outside every read-only host folder)."""
PIP_CONFIG_MOUNT = Path("/modelyard/pip.conf")
PIP_PASS_THROUGH_PREFIX = "PIP_"
KEY_FORMAT = 2
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
"""pip's own rule for ``${VAR}`` in requirements files (only this form is expanded)."""
_FILE_OPTIONS = {"-r", "--requirement", "-c", "--constraint"}
_PATH_OPTIONS = {"-e", "--editable", "-f", "--find-links", "-i", "--index-url",
                 "--extra-index-url"}
_LOCAL_SETTINGS = ("PIP_", "LD_")
"""Job-set variables whose values name paths pip (or the loader running it) reads."""
_MAX_NESTING = 10


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


class Scope:
    SHARED = "shared"
    PROJECT = "project"
    JOB = "job"


@dataclass(frozen=True)
class LayerPlan:
    key: str
    scope: str
    why: str = ""
    """What made the layer project- or job-private, for the log."""


@dataclass
class _Refs:
    local: dict[str, str] = field(default_factory=dict)
    """Code-directory paths the file refers to -> digest of their content."""
    outside: list[str] = field(default_factory=list)
    """References the code directory does not hold (make the layer the job's own)."""


def plan_layer(req: Path, *, code_dir: Path, pip_env: Mapping[str, str],
               installation: Mapping[str, str], pip_conf: Path | None, engine: str,
               job_vars: Mapping[str, str], project: str, job_id: str) -> LayerPlan:
    """The key and scope of ``req``'s layer (see the module docstring). ``pip_env`` is the
    environment pip will run with, ``installation`` the server's own ``PIP_*`` settings,
    ``job_vars`` the variables the job set (its ``environments`` and ``env`` channels)."""
    text, used = expand(req.read_text(errors="replace"), pip_env)
    refs = _Refs()
    _scan(text, req.parent, code_dir.resolve(), refs, 0)
    for name, value in job_vars.items():
        if name.startswith(_LOCAL_SETTINGS) and any(_is_path(v) for v in value.split()):
            refs.outside.append(f"the path in {name}")
    if refs.outside:
        shown = _without_credentials(refs.outside[0])
        scope, why = Scope.JOB, f"it refers to {shown}, outside the code directory"
    elif job_vars or used:
        scope = Scope.PROJECT
        names = sorted(job_vars) or sorted(used)
        why = f"the job sets {', '.join(names[:3])}" + (" ..." if len(names) > 3 else "")
    else:
        scope, why = Scope.SHARED, ""
    material = {
        "format": KEY_FORMAT, "requirements": text, "local": refs.local, "engine": engine,
        "pip": sorted(installation.items()),
        "pip_conf": hashlib.sha256(pip_conf.read_bytes()).hexdigest() if pip_conf else None,
        "scope": scope,
        "project": project if scope != Scope.SHARED else None,
        "job_vars": sorted(job_vars.items()) if scope != Scope.SHARED else None,
        "job": job_id if scope == Scope.JOB else None,
    }
    key = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return LayerPlan(key, scope, why)


def expand(text: str, env: Mapping[str, str]) -> tuple[str, set[str]]:
    """``${VAR}`` replaced as pip replaces it (unset variables stay as written); the
    names that were replaced."""
    used: set[str] = set()

    def value(m: re.Match[str]) -> str:
        if m.group(1) in env:
            used.add(m.group(1))
            return env[m.group(1)]
        return m.group(0)
    return _ENV_VAR.sub(value, text), used


def _without_credentials(text: str) -> str:
    """A reference as it may be logged: ``https://user:token@host/...`` loses its user
    part (credentials never go into a log)."""
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", text)


def engine_identity(python: str) -> str:
    """The interpreter pip runs with: its path and its executable's identity (a new build
    or version is a new file)."""
    real = os.path.realpath(python)
    try:
        st = os.stat(real)
        return f"{python}|{real}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
    except OSError:
        return f"{python}|{real}"


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        if raw.endswith("\\"):
            current += raw[:-1] + " "
            continue
        current += raw
        line = re.sub(r"(^|\s+)#.*$", "", current).strip()
        current = ""
        if line:
            lines.append(line)
    return lines


def _scan(text: str, base: Path, code_root: Path, refs: _Refs, depth: int) -> None:
    """Collects what ``text`` (a requirements file in folder ``base``) refers to."""
    for line in _logical_lines(text):
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        i = 0
        while i < len(tokens):
            token = tokens[i]
            option, _, attached = token.partition("=") if token.startswith("--") else (
                (token[:2], "", token[2:]) if token.startswith("-") and len(token) > 2
                else (token, "", ""))
            if option in _FILE_OPTIONS | _PATH_OPTIONS:
                if attached:
                    arg = attached
                else:
                    i += 1
                    arg = tokens[i] if i < len(tokens) else ""
                # An option's argument without a scheme is a path (``-r base.txt``).
                if arg and (_is_path(arg) or "://" not in arg):
                    _reference(arg, base, code_root, refs, depth, option in _FILE_OPTIONS)
                elif option in _FILE_OPTIONS:  # ``-r https://...``: may change any time
                    refs.outside.append(arg)
            elif not token.startswith("-"):
                # A requirement: ``name @ URL``, a path or URL, or a name with a version.
                target = token.split("@", 1)[1].strip() if "@" in token else token
                if target and _is_path(target):
                    _reference(target, base, code_root, refs, depth, False)
            i += 1


def _is_path(value: str) -> bool:
    """A local path or ``file:`` URL (not a remote URL, not a requirement name)."""
    lowered = value.lower()
    if lowered.startswith("file:"):
        return True
    if "://" in value:
        return False
    return value.startswith(("/", ".", "~")) or "/" in value or os.sep in value


def _reference(arg: str, base: Path, code_root: Path, refs: _Refs, depth: int,
               is_requirements_file: bool) -> None:
    """A local path ``arg``: its content goes into the key when the code directory holds
    it; anything else makes the layer the job's own."""
    raw = arg[5:].lstrip("/") if arg.lower().startswith("file:") else arg
    path = Path("/" + raw) if arg.lower().startswith("file:") else base / os.path.expanduser(raw)
    real = Path(os.path.realpath(path))
    if real != code_root and code_root not in real.parents:
        refs.outside.append(arg)
        return
    rel = real.relative_to(code_root).as_posix()
    if rel in refs.local:
        return
    refs.local[rel] = _digest(real)
    if is_requirements_file and real.is_file() and depth < _MAX_NESTING:
        _scan(real.read_text(errors="replace"), real.parent, code_root, refs, depth + 1)


def _digest(path: Path) -> str:
    """The content of a file or a folder tree (names and bytes; symlinks not followed)."""
    h = hashlib.sha256()
    try:
        st = os.lstat(path)
    except OSError:
        return "missing"
    if stat.S_ISREG(st.st_mode):
        h.update(path.read_bytes())
    elif stat.S_ISDIR(st.st_mode):
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                f = Path(folder) / name
                if f.is_symlink() or not f.is_file():
                    continue
                h.update(f.relative_to(path).as_posix().encode() + b"\0")
                h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def ensure_layer(key: str, envs_root: Path, install: Callable[[Path, str], int],
                 wait_tick: Callable[[], None] = lambda: None,
                 name: str = "requirements.txt") -> Layer:
    """Returns the layer ``key``, calling ``install(target, key)`` to build it when it is
    not cached; ``install`` returns pip's exit code. ``wait_tick`` is called while waiting
    for another job's install of the same layer (it may raise to give up)."""
    final = envs_root / key
    if final.is_dir():
        return Layer(key, final, cached=True)
    envs_root.mkdir(parents=True, exist_ok=True)
    with exclusive(envs_root / f"{key}.lock", wait_tick):
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
                    f"Installing {name} failed (pip exit code {rc}); see the log")
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return Layer(key, final, cached=False)


def pip_command(python: str, target: Path, requirements: Path,
                no_deps: bool = False) -> list[str]:
    """``-I``: the code directory (pip's working directory) and ``PYTHONPATH`` put nothing
    in front of pip's own modules (see the module docstring)."""
    return [python, "-I", "-m", "pip", "install", "--target", str(target), "-r", str(requirements),
            "--no-input", "--no-cache-dir", "--disable-pip-version-check",
            "--progress-bar", "off", *(["--no-deps"] if no_deps else [])]


def dry_run_command(python: str, requirements: Path, report: Path) -> list[str]:
    """pip resolving ``requirements`` against what the engine already has, installing
    nothing: its report lists only what the engine lacks (or has in another version)."""
    return [python, "-I", "-m", "pip", "install", "--dry-run", "--quiet", "--report",
            str(report), "-r", str(requirements), "--no-input", "--disable-pip-version-check",
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
