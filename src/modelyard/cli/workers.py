"""Several server processes on one port (``modelyard server --workers N``, issue 20).

Each worker binds its own socket with ``SO_REUSEPORT``, so the kernel spreads new
connections across the workers evenly; with one socket shared by all of them, the first
worker to wake took nearly every connection. Worker 0 is the process the user started: it
runs the watcher (the one process that folds runtimes' state into the database and starts
queued jobs when a slot frees) and starts workers 1..N-1 as child processes. The others
only serve requests; a create there still starts a job that fits at once (the scheduler's
file lock and its claim by UPDATE keep two processes from starting a job twice).

A child gets the parent's settings through the environment, never on its command line (a
database URL may carry a password), and ends with the parent: the kernel sends it SIGTERM
when the parent dies, even by ``kill -9``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys

from modelyard.settings import Settings

PR_SET_PDEATHSIG = 1


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket of its own for one worker, on the port all workers share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def start_workers(settings: Settings) -> list[subprocess.Popen[bytes]]:
    """Workers 1..N-1 as ``modelyard server --worker I --parent PID`` with this process's
    settings in their environment."""
    env = {**os.environ, "MODELYARD_HOST": settings.host, "MODELYARD_PORT": str(settings.port),
           "MODELYARD_WORKERS": str(settings.workers), "MODELYARD_HOME": str(settings.home)}
    if settings.db_url:
        env["MODELYARD_DB_URL"] = settings.db_url
    parent = str(os.getpid())
    return [subprocess.Popen([sys.executable, "-m", "modelyard.cli.main", "server",
                              "--worker", str(i), "--parent", parent],
                             env=env, stdin=subprocess.DEVNULL)
            for i in range(1, settings.workers)]


def stop_workers(children: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)


def end_with_parent(parent: int) -> None:
    """Have the kernel SIGTERM this process when its parent dies; exit now if it already
    has (the parent we were started by is no longer our parent)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        raise SystemExit(f"worker: the server process {parent} has gone")
