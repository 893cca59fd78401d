"""The launcher daemon: accepts spawn requests on the home's socket, keeps a spare child,
forks runtimes, reaps them, and exits when idle or replaced (see the package's docstring)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import gc
import hmac
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from modelyard.executors.launcher.child import (
    _default_signals,
    _redirect_stdio,
    run_child,
    run_runtime,
)
from modelyard.executors.launcher.protocol import (
    _STOP_SIGNALS,
    DEFAULT_IDLE_SECONDS,
    HOUSEKEEPING_SECONDS,
    IDLE_BASE_SECONDS,
    IDLE_PER_REQUEST_SECONDS,
    LOCK_NAME,
    LOG_NAME,
    PROTOCOL,
    REQUEST_TIMEOUT,
    REWARM_SECONDS,
    SPARE_DELAY,
    _environ,
    _private_folder,
    _read_line,
    address,
    code_version,
    context,
    run_dir,
    settings_inputs,
    token,
)
from modelyard.quick_exit import quick_exit

if TYPE_CHECKING:
    from modelyard.settings import Settings


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with contextlib.suppress(OSError):
        os.write(2, f"{stamp} [launcher {os.getpid()}] {message}\n".encode(errors="replace"))


def try_lock(home: Path) -> int | None:
    """The home's launcher lock as an open fd, or None when another process holds it (or
    the home's ``run`` folder cannot be written: then there is simply no launcher)."""
    try:
        folder = run_dir(home)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def warm(settings_env: Mapping[str, str] | None = None) -> None:
    """Imports and computes, once in the launcher, what every forked runtime would otherwise
    import or compute again: the runtime's modules, the settings machinery, the bubblewrap
    probe and the default interpreter's folders (cached per process, inherited by fork)."""
    from modelyard.runtime import sandbox
    from modelyard.runtime.__main__ import main as _main  # noqa: F401  (the import is the point)
    from modelyard.runtime.report import StagingError
    from modelyard.settings import Settings
    from modelyard.storage.local import FolderStore  # noqa: F401
    from modelyard.storage.s3_lean import LeanS3Store  # noqa: F401  (http.client, XML: ~15 ms)
    from modelyard.storage.transfer import TransferEngine  # noqa: F401

    settings = Settings()
    if settings.sandbox == "none":
        return
    bwrap = sandbox.find_bwrap()
    if bwrap is None or sandbox.probe(bwrap) is not None:
        return
    sandbox.system_binds()
    with contextlib.suppress(StagingError):
        sandbox.python_roots(settings.python)


def _rewarm() -> None:
    from modelyard.runtime import sandbox

    sandbox.clear_caches()
    warm()


@dataclasses.dataclass
class _Spare:
    pid: int
    start_time: int | None
    sock: socket.socket
    keys: frozenset[tuple[object, ...]]
    """Settings the spare has inherited (it can run jobs whose settings are among them)."""


class Launcher:
    """The daemon: accepts spawn requests on the home's socket and forks runtimes."""

    def __init__(self, home: Path, lock_fd: int, version: str,
                 idle_seconds: float = DEFAULT_IDLE_SECONDS) -> None:
        self.home = Path(home).resolve()
        self.lock_fd = lock_fd
        self.version = version
        self.idle_seconds = idle_seconds
        self.context = context(os.environ)
        self.children: set[int] = set()
        self.served = 0
        self.settings: dict[tuple[object, ...], Settings] = {}
        self.last_request = time.monotonic()
        self.warmed = time.monotonic()
        self.stopping = ""
        self.address = address(self.home)
        self.token = token(self.home)
        self.listener: socket.socket | None = None
        self.selector: selectors.BaseSelector | None = None
        self.wake_r = self.wake_w = -1
        self.socket_ino: int | None = None
        self.spare: _Spare | None = None
        self.spare_due: float | None = time.monotonic() + SPARE_DELAY

    # ----------------------------------------------------------------- lifecycle
    def serve(self) -> int:
        with contextlib.suppress(Exception):  # the settings most jobs will ask for: ours
            self._settings_for(os.environ, settings_inputs(os.environ))
        self._bind()
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, _noop)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_stop)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())  # handlers first, then unblock
        self.selector = selectors.DefaultSelector()
        assert self.listener is not None
        self.selector.register(self.listener, selectors.EVENT_READ, "listen")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        _log(f"serving {self.home} on {self.address!r} (version {self.version})")
        try:
            while not self.stopping:
                timeout = HOUSEKEEPING_SECONDS
                if self.spare_due is not None:
                    timeout = min(timeout, max(0.0, self.spare_due - time.monotonic()))
                for key, _ in self.selector.select(timeout):
                    if key.data == "wake":
                        with contextlib.suppress(OSError):
                            os.read(self.wake_r, 4096)
                    elif not self.stopping:
                        self._accept()
                self._reap()
                self._housekeeping()
                self._make_spare()
        finally:
            self._close()
            self._drop_spare()
            _log(f"exiting: {self.stopping}")
        return 0

    def _bind(self) -> None:
        folder = Path(self.address).parent
        if folder != run_dir(self.home) and not _private_folder(folder):
            raise PermissionError(f"{folder} is not a private folder of uid {os.getuid()}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        tmp = f"{self.address}.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        sock.bind(tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.address)  # atomically replaces a stale socket
        self.socket_ino = os.stat(self.address).st_ino
        sock.listen(64)
        self.listener = sock

    def _close(self) -> None:
        """Gives up the address and the lock first, so a successor can start at once."""
        if self.listener is not None:
            if self.socket_ino is not None:
                with contextlib.suppress(OSError):
                    if os.stat(self.address).st_ino == self.socket_ino:
                        os.unlink(self.address)
            self.listener.close()
            self.listener = None
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = f"signal {signal.Signals(signum).name}"

    def _reap(self) -> None:
        """Collects exited runtimes and a dead spare (only our own children: subprocesses
        of the warm-up are waited for by ``subprocess`` itself)."""
        for pid in list(self.children):
            if _exited(pid):
                self.children.discard(pid)
        if self.spare is not None and _exited(self.spare.pid):
            _log(f"spare {self.spare.pid} died")
            self.spare.sock.close()
            self.spare = None
            self.spare_due = time.monotonic() + 10 * SPARE_DELAY

    # --------------------------------------------------------------------- spare
    def _make_spare(self) -> None:
        if (self.stopping or self.spare is not None or self.spare_due is None
                or time.monotonic() < self.spare_due):
            return
        from modelyard.runtime import procs

        self.spare_due = None
        ours, theirs = socket.socketpair(socket.AF_UNIX,
                                         socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            pid = self._fork_child(lambda: self._become_spare(theirs, ours))
        except OSError as exc:
            _log(f"no spare: {exc!r}")
            ours.close()
            self.spare_due = time.monotonic() + 60
            return
        finally:
            theirs.close()
        self.spare = _Spare(pid, procs.start_time(pid), ours, frozenset(self.settings))

    def _drop_spare(self) -> None:
        """The spare exits when its end of the pair closes (reaped later, or by init)."""
        if self.spare is not None:
            self.spare.sock.close()
            _exited(self.spare.pid)
            self.spare = None

    def _hand_to_spare(self, conn: socket.socket, job_dir: Path, env: dict[str, str],
                       key: tuple[object, ...], umask: int | None) -> _Spare | None:
        """Gives the job (and the executor's connection) to the spare; the spare, or None
        when there is none that can take it."""
        spare = self.spare
        if spare is None:
            return None
        if key not in spare.keys:  # forked before we knew these settings: make a new one
            self._drop_spare()
            return None
        self.spare = None
        message = json.dumps({"job_dir": str(job_dir), "env": env, "umask": umask}).encode()
        try:
            socket.send_fds(spare.sock, [message], [conn.fileno()])
        except OSError as exc:
            _log(f"spare {spare.pid} did not take the job: {exc!r}")
            with contextlib.suppress(OSError):
                os.kill(spare.pid, signal.SIGKILL)
            self.children.add(spare.pid)  # to be reaped
            return None
        finally:
            spare.sock.close()
        return spare

    def _housekeeping(self) -> None:
        if self.stopping:
            return
        now = time.monotonic()
        idle = min(self.idle_seconds, IDLE_BASE_SECONDS + IDLE_PER_REQUEST_SECONDS * self.served)
        if not self.children and now - self.last_request > idle:
            self.stopping = f"idle for {idle:g} s"
        elif not run_dir(self.home).is_dir():
            self.stopping = "the home's run folder is gone"
        elif self.socket_ino is not None:
            try:
                if os.stat(self.address).st_ino != self.socket_ino:
                    self.stopping = "the socket was replaced"
            except OSError:
                self.stopping = "the socket was removed"
        if not self.stopping and now - self.warmed > REWARM_SECONDS:
            self.warmed = now
            try:
                _rewarm()
            except Exception as exc:
                _log(f"re-warming failed: {exc!r}")
            self._drop_spare()  # it knows the old answers
            self.spare_due = time.monotonic() + SPARE_DELAY

    # ------------------------------------------------------------------ requests
    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        with conn:
            try:
                conn.settimeout(REQUEST_TIMEOUT)
                if not self._same_user(conn):
                    return
                req = json.loads(_read_line(conn, time.monotonic() + REQUEST_TIMEOUT))
                self._handle(conn, req)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                _log(f"bad request: {exc!r}")

    @staticmethod
    def _same_user(conn: socket.socket) -> bool:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("iII"))
        _pid, uid, _gid = struct.unpack("iII", creds)
        return uid == os.getuid()

    def _answer(self, conn: socket.socket, message: dict[str, Any]) -> None:
        conn.sendall(json.dumps(message).encode() + b"\n")

    def _handle(self, conn: socket.socket, req: dict[str, Any]) -> None:
        self.last_request = time.monotonic()
        op = req.get("op")
        offered = req.get("token")
        if not isinstance(offered, str) or not hmac.compare_digest(offered, self.token):
            _log("refused a request without the installation's token")
            self._answer(conn, {"error": "token"})
        elif req.get("protocol") != PROTOCOL:
            self.stopping = f"a client speaks protocol {req.get('protocol')}"
            self._close()
            self._answer(conn, {"error": "protocol"})
        elif op == "ping":
            self._answer(conn, {"pid": os.getpid(), "version": self.version,
                                "children": sorted(self.children), "home": str(self.home),
                                "spare": self.spare.pid if self.spare else None})
        elif op == "shutdown":
            self.stopping = "asked to shut down"
            self._close()
            self._answer(conn, {"ok": True})
        elif op != "spawn":
            self._answer(conn, {"error": f"unknown op {op!r}"})
        elif req["version"] != self.version:
            # The package changed under us: make way for a launcher of the new code.
            self.stopping = f"code version changed ({req['version']})"
            self._close()
            self._answer(conn, {"error": "version"})
        elif req.get("context") != self.context:
            # Made for another executor's context: make way for one made for this one's.
            ours, theirs = self.context, req.get("context") or {}
            what = ", ".join(k for k in ours if ours[k] != theirs.get(k))
            self.stopping = f"asked from another context ({what})"
            self._close()
            self._answer(conn, {"error": "context"})
        else:
            self._spawn(conn, req)

    def _spawn(self, conn: socket.socket, req: dict[str, Any]) -> None:
        from modelyard.runtime import procs

        job_dir = Path(req["job_dir"])
        env = {str(k): str(v) for k, v in req["env"].items()}
        umask = int(req["umask"]) if req.get("umask") is not None else None
        key = settings_inputs(env)
        settings = self._settings_for(env, key)
        spare = self._hand_to_spare(conn, job_dir, env, key, umask) if settings else None
        if spare is not None:
            # The spare answers itself: should it die before it has the job, the executor
            # sees the connection close and starts the runtime the old way (not a pid of a
            # runtime that never ran).
            pid, how = spare.pid, "spare"
        else:
            pid = self._fork_child(lambda: self._become_runtime(conn, job_dir, env, settings,
                                                                umask))
            how = "forked"
            # We answer, not the child: we are already running, so the executor hears back
            # without waiting for the child to be scheduled, while the child prepares.
            self._answer(conn, {"pid": pid, "start_time": procs.start_time(pid)})
        self.children.add(pid)
        self.served += 1
        self.spare_due = time.monotonic() + SPARE_DELAY
        _log(f"{how} runtime {pid} for {job_dir}")

    def _settings_for(self, env: Mapping[str, str],
                      key: tuple[object, ...]) -> Settings | None:
        """The settings a runtime started with ``env`` builds, built here once per distinct
        input (``settings_inputs``) instead of in every child: pydantic-settings takes
        milliseconds of CPU per build, on the job's critical path. None when they do not
        build (the child then tries itself and fails as a new interpreter would)."""
        from modelyard.settings import Settings

        found = self.settings.get(key)
        if found is None:
            try:
                with _environ(env):
                    found = Settings()
            except Exception as exc:
                _log(f"settings do not build: {exc!r}")
                return None
            if len(self.settings) >= 8:
                self.settings.pop(next(iter(self.settings)))
            self.settings[key] = found
        return found

    def _fork_child(self, become: Callable[[], object]) -> int:
        """Forks; the child runs ``become`` and never returns into our loop."""
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        blocked = _STOP_SIGNALS | {signal.SIGCHLD, signal.SIGHUP}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pid = os.fork()
            if pid == 0:
                try:
                    become()
                finally:
                    os._exit(70)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return pid

    # --------------------------------------------------------------------- child
    def _shed(self) -> None:
        """In a forked child: nothing of the launcher left (its wakeup descriptor, signal
        handlers, socket, lock, loop), SIGTERM and SIGINT blocked until the runtime's
        handler is installed, a session of its own."""
        signal.set_wakeup_fd(-1)
        _default_signals()
        signal.pthread_sigmask(signal.SIG_SETMASK, _STOP_SIGNALS)
        if self.listener is not None:
            self.listener.close()
        if self.selector is not None:
            self.selector.close()
        for fd in (self.wake_r, self.wake_w, self.lock_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self.spare is not None:
            self.spare.sock.close()
        os.setsid()

    def _become_runtime(self, conn: socket.socket, job_dir: Path, env: dict[str, str],
                        settings: Settings | None, umask: int | None) -> NoReturn:
        """In the forked child: shed the launcher, wait for ``go``, then run the job
        exactly as ``python -m modelyard.runtime <job_dir>`` would."""
        code = 70
        try:
            self._shed()
            if umask is not None:  # the executor's, as a runtime it started would have
                os.umask(umask)
            code = run_child(conn, job_dir, env, settings)
        except BaseException:  # the child must never return into the launcher's loop
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            quick_exit(code)

    def _become_spare(self, sock: socket.socket, launcher_end: socket.socket) -> NoReturn:
        """In the spare: shed the launcher now, then wait for a job (and the executor's
        connection) from it, answer the executor, and go on as a forked runtime does; exit
        quietly when the launcher lets go of us instead."""
        from modelyard.runtime import procs

        code = 70
        try:
            launcher_end.close()
            self._shed()
            try:
                message, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 1)
            except OSError:
                message, fds = b"", []
            sock.close()
            if message and len(fds) == 1:
                conn = socket.socket(fileno=fds[0])
                pid = os.getpid()
                conn.sendall(json.dumps({"pid": pid, "start_time": procs.start_time(pid)})
                             .encode() + b"\n")
                job = json.loads(message)
                env = {str(k): str(v) for k, v in job["env"].items()}
                if job.get("umask") is not None:
                    os.umask(int(job["umask"]))
                code = run_child(conn, Path(job["job_dir"]), env,
                                 self.settings.get(settings_inputs(env)))
            else:  # the launcher let go of us
                for fd in fds:
                    os.close(fd)
                code = 0
        except BaseException:
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            quick_exit(code)


def _exited(pid: int) -> bool:
    """Reaps ``pid`` if it has exited (True), or says it still runs (False)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done != 0


def _noop(_signum: int, _frame: FrameType | None) -> None:
    """SIGCHLD only needs to wake the loop (through the wakeup fd) to reap."""


def daemonize(home: Path, lock_fd: int, version: str, idle_seconds: float) -> None:
    """Forks the launcher daemon off this warm process (twice: the daemon is nobody's
    child to reap); returns in the calling process once the intermediate child is gone."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        middle = os.fork()
        if middle == 0:
            code = 0
            try:
                os.setsid()
                if os.fork() == 0:
                    code = _daemon_main(home, lock_fd, version, idle_seconds)
            except BaseException:
                with contextlib.suppress(Exception):
                    traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        os.waitpid(middle, 0)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _daemon_main(home: Path, lock_fd: int, version: str, idle_seconds: float) -> int:
    folder = run_dir(home)
    log = folder / LOG_NAME
    with contextlib.suppress(OSError):
        if log.stat().st_size > 1 << 20:
            log.unlink()
    _redirect_stdio(log, 0o600)
    os.chdir(folder)
    _default_signals()
    sys.argv = [sys.argv[0], "serve", str(home)]
    try:
        warm()
    except Exception as exc:  # a cold launcher still saves the interpreter start
        _log(f"warm-up failed: {exc!r}")
    gc.freeze()  # what the launcher holds is never collected in a child: fewer copied pages
    return Launcher(home, lock_fd, version, idle_seconds).serve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelyard.executors.launcher")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run one job's runtime; with --serve, also start the "
                         "home's launcher if none runs")
    # The job folder defaults to the working directory, so that the command line, which
    # the launcher and every runtime it forks inherit, names no job.
    run.add_argument("job_dir", nargs="?", default=".")
    run.add_argument("--serve", metavar="HOME")
    run.add_argument("--idle", type=float, default=DEFAULT_IDLE_SECONDS)
    serve = sub.add_parser("serve", help="run the home's launcher in the foreground")
    serve.add_argument("home")
    serve.add_argument("--idle", type=float, default=DEFAULT_IDLE_SECONDS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmd == "serve":
        version = code_version()  # before the imports: a later change means a restart
        lock = try_lock(Path(args.home))
        if lock is None:
            print("a launcher already runs for this home", file=sys.stderr)
            return 1
        warm()
        gc.freeze()
        return Launcher(Path(args.home), lock, version, args.idle).serve()
    job_dir = Path(args.job_dir).resolve()
    if args.serve:
        version = code_version()
        lock = try_lock(Path(args.serve))
        if lock is not None:
            try:
                import modelyard.runtime.__main__  # noqa: F401  (what the daemon inherits)

                daemonize(Path(args.serve).resolve(), lock, version, args.idle)
            except Exception:
                traceback.print_exc()
            finally:
                os.close(lock)
    return run_runtime(job_dir)

