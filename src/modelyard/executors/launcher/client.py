"""The executor's side of the launcher: ask it to fork a runtime, ping it, shut it down.
Every call falls back to None / False within ``REPLY_TIMEOUT``: correctness never depends
on the launcher."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelyard.executors.launcher.protocol import (
    PROTOCOL,
    REPLY_TIMEOUT,
    _read_line,
    address,
    context,
    current_version,
    token,
)


def request(home: Path, message: dict[str, Any], timeout: float | None = None
            ) -> tuple[socket.socket, dict[str, Any]] | None:
    """Sends one request; the open connection and the answer, or None when no launcher
    answered within ``timeout`` (default ``REPLY_TIMEOUT``; the connection is then
    closed)."""
    timeout = REPLY_TIMEOUT if timeout is None else timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    deadline = time.monotonic() + timeout
    try:
        message = {**message, "token": token(home)}
        sock.settimeout(timeout)
        sock.connect(address(home))
        sock.sendall(json.dumps(message).encode() + b"\n")
        answer = json.loads(_read_line(sock, deadline))
        if not isinstance(answer, dict):
            raise ValueError("not an object")
        return sock, answer
    except (OSError, ValueError):
        sock.close()
        return None


def spawn(home: Path, job_dir: Path, env: Mapping[str, str],
          timeout: float | None = None) -> tuple[int, int | None] | None:
    """Asks the home's launcher to fork a runtime for ``job_dir`` with ``env``; the
    runtime's (pid, start time), or None when the caller must start the runtime itself."""
    got = request(home, {"op": "spawn", "protocol": PROTOCOL, "version": current_version(),
                         "job_dir": str(job_dir), "env": dict(env), "umask": _umask(),
                         "context": context(env)}, timeout)
    if got is None:
        return None
    sock, answer = got
    with sock:
        try:
            pid, start = int(answer["pid"]), answer.get("start_time")
            sock.sendall(b"go\n")
        except (KeyError, TypeError, ValueError, OSError):
            return None  # refused, or the child is gone: it will not run without "go"
    return pid, (int(start) if start is not None else None)


def _umask() -> int | None:
    """This process's umask, which a runtime started by us would inherit (read from /proc:
    ``os.umask`` can only be read by setting it, which is not thread-safe)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def ping(home: Path, timeout: float | None = None) -> dict[str, Any] | None:
    """The launcher's pid, version and live runtimes, or None if none answers."""
    got = request(home, {"op": "ping", "protocol": PROTOCOL}, timeout)
    if got is None:
        return None
    got[0].close()
    return got[1]


def shutdown(home: Path, timeout: float | None = None) -> bool:
    """Asks the launcher to exit (its runtimes keep running); True if one answered."""
    got = request(home, {"op": "shutdown", "protocol": PROTOCOL}, timeout)
    if got is None:
        return False
    got[0].close()
    return True
