"""What the launcher and its clients share: the home's run folder, the socket's address,
the installation's token, the code version and the context a runtime inherits, and the
line-based JSON protocol's constants."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

PROTOCOL = 1
RUN_DIR = "run"
SOCKET_NAME = "launcher.sock"
TOKEN_NAME = "launcher.token"
LOCK_NAME = "launcher.lock"
LOG_NAME = "launcher.log"
DEFAULT_IDLE_SECONDS = 600.0
"""The longest a launcher with no request and no live runtime waits before it exits (a new
one starts with the next job): it holds ~30 MB, and homes that ran a job or two (tests,
laptops) should not keep that for long."""
IDLE_BASE_SECONDS = 60.0
IDLE_PER_REQUEST_SECONDS = 10.0
"""The idle time allowed grows with use: 60 s for a launcher that served nothing, 10 s more
per job it started, up to ``DEFAULT_IDLE_SECONDS`` (or the ``--idle`` given)."""
REPLY_TIMEOUT = 3.0
"""How long the executor waits for a forked runtime's answer before it starts the runtime
itself (the child, never told ``go``, then exits without running)."""
GO_TIMEOUT = 30.0
REQUEST_TIMEOUT = 2.0
HOUSEKEEPING_SECONDS = 2.0
REWARM_SECONDS = 600.0
"""Host facts cached in the launcher (bubblewrap probe, interpreter roots) are recomputed
this often, so a launcher that lives for days follows changes of the host."""
SPARE_DELAY = 0.25
"""The launcher keeps one spare child, forked in advance and already shed of the launcher
(signals, descriptors, session), so a job's runtime costs no fork on its way. The next
spare is forked this long after a job started, not at once, where it would compete with
that job for the CPU."""
VERSION_TTL = 1.0
"""The executor recomputes the code version at most this often (a stat of ~100 files)."""
_MAX_UNIX_PATH = 107
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_INTERPRETER_ENV = ("PYTHON", "LD_")
"""Variables read when an interpreter starts: a forked child cannot honour a change of
them (see ``context``)."""
_PACKAGE = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------ paths, version
def run_dir(home: Path) -> Path:
    return Path(home) / RUN_DIR


def address(home: Path) -> str:
    """The launcher's socket: ``$MODELYARD_HOME/run/launcher.sock`` when that path fits in a
    unix socket address, else ``launcher.sock`` in a private folder (0700, ours) of the
    runtime directory or /tmp named after the home. Never an abstract socket: any process
    sharing the network namespace could reach one. Jobs see neither place (the sandbox
    shows only system folders), and the launcher also asks for the installation's token
    and a peer of its own user."""
    path = str(run_dir(Path(home).resolve()) / SOCKET_NAME)
    if len(os.fsencode(path)) <= _MAX_UNIX_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(Path(home).resolve())).hexdigest()[:24]
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return str(Path(base) / f"modelyard-{os.getuid()}-{digest}" / SOCKET_NAME)


def _private_folder(folder: Path) -> bool:
    """Makes ``folder`` (0700) or checks that it is a real folder of ours, 0700: another
    user could have planted it (or a symlink) in a shared /tmp."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077 == 0


def token(home: Path) -> str:
    """The installation's launcher token (``run/launcher.token``, 0600, made on first use):
    a request without it is refused, so that knowing the socket is not enough."""
    path = run_dir(Path(home)) / TOKEN_NAME
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(3):
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{TOKEN_NAME}.{os.getpid()}.{threading.get_ident()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # the first writer wins; everyone reads its token
            os.unlink(tmp)
            continue
        with os.fdopen(fd) as fh:
            st = os.fstat(fh.fileno())
            if st.st_uid != os.getuid() or st.st_mode & 0o077:
                raise PermissionError(f"{path} must be a file of uid {os.getuid()}, mode 0600")
            value = fh.read().strip()
        if len(value) >= 32:
            return value
    raise PermissionError(f"{path} holds no usable token")


def code_version(package: Path = _PACKAGE) -> str:
    """A token that changes whenever a ``.py`` file of the modelyard package (or the
    interpreter) changes: name, size and mtime of each file, not its content, so that it
    costs a directory walk and no reads."""
    h = hashlib.sha256(f"{PROTOCOL}\0{sys.executable}\0{sys.version}\0".encode())
    entries: list[str] = []
    stack = [str(package)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        if e.name != "__pycache__" and not e.name.startswith("."):
                            stack.append(e.path)
                    elif e.name.endswith(".py"):
                        with contextlib.suppress(OSError):
                            st = e.stat()
                            entries.append(f"{e.path}\0{st.st_size}\0{st.st_mtime_ns}")
        except OSError:
            continue
    for line in sorted(entries):
        h.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return h.hexdigest()[:32]


_version_cache: tuple[float, str] | None = None
_version_lock = threading.Lock()


def current_version() -> str:
    """``code_version()`` of the installed package, recomputed at most every
    ``VERSION_TTL`` seconds (an executor may submit hundreds of jobs a minute)."""
    global _version_cache
    with _version_lock:
        now = time.monotonic()
        if _version_cache is None or now - _version_cache[0] > VERSION_TTL:
            _version_cache = (now, code_version())
        return _version_cache[1]


def interpreter_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(_INTERPRETER_ENV)}


def context(env: Mapping[str, str]) -> dict[str, Any]:
    """What a runtime inherits from whoever starts it, beyond what the launcher passes on
    (environment, umask): the variables read at interpreter start, resource limits, CPU
    affinity, niceness, control groups. A forked runtime inherits these from the launcher,
    so they must be the executor's: a launcher asked by an executor whose context differs
    (another user session, a service manager's limits) makes way for a new one."""
    import resource

    limits = {name: list(resource.getrlimit(getattr(resource, name)))
              for name in sorted(dir(resource)) if name.startswith("RLIMIT_")}
    try:
        with open("/proc/self/cgroup") as fh:
            cgroup = fh.read()
    except OSError:
        cgroup = ""
    return {"env": interpreter_env(env), "limits": limits,
            "affinity": sorted(os.sched_getaffinity(0)),
            "nice": os.getpriority(os.PRIO_PROCESS, 0), "cgroup": cgroup}


def settings_inputs(env: Mapping[str, str]) -> tuple[object, ...]:
    """Everything ``Settings()`` reads, for an environment: the ``MODELYARD_*`` and
    ``AWS_*`` variables (any case, as pydantic-settings matches them), ``HOME`` and the
    identity of ``modelyard.toml`` in the home. Equal inputs, equal settings."""
    names = ("MODELYARD_", "AWS_")
    variables = tuple(sorted((k, v) for k, v in env.items()
                             if k.upper().startswith(names) or k == "HOME"))
    home = env.get("MODELYARD_HOME") or str(
        (Path(env["HOME"]) if env.get("HOME") else Path.home()) / ".modelyard")
    try:
        st = os.stat(Path(home) / "modelyard.toml")
        toml: tuple[int, ...] | None = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        toml = None
    return variables, toml


@contextlib.contextmanager
def _environ(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is ``env`` inside (``env`` may be ``os.environ`` itself)."""
    wanted, saved = dict(env), dict(os.environ)
    os.environ.clear()
    os.environ.update(wanted)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)



def _read_line(sock: socket.socket, deadline: float, limit: int = 1 << 20) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer in time")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a full line")
        data += chunk
        if len(data) > limit:
            raise ValueError("line too long")
    return data
