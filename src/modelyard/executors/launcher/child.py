"""The forked child: made to look like a runtime started by ``Popen`` (stdio, working folder,
environment, signal dispositions), it waits for the executor's ``go`` and runs the job."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from modelyard.executors.launcher.protocol import GO_TIMEOUT, _read_line

if TYPE_CHECKING:
    from modelyard.settings import Settings


def run_child(conn: socket.socket, job_dir: Path, env: Mapping[str, str],
              settings: Settings | None = None) -> int:
    """Prepares this (forked) process as the job's runtime and, once the executor said
    ``go``, runs it; the exit status. Everything before ``go`` leaves no trace but
    ``runtime.out``: a child the executor gave up on exits as if it never was."""
    from modelyard.runtime.state import RUNTIME_OUT
    from modelyard.settings import Settings

    _redirect_stdio(job_dir / RUNTIME_OUT, 0o644)
    os.chdir(job_dir)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.argv = [sys.argv[0], str(job_dir)]
    if settings is None:  # from the job's environment, while the executor answers
        settings = Settings()
    try:
        go = _read_line(conn, time.monotonic() + GO_TIMEOUT, 16)
    except (OSError, ValueError):
        go = b""
    conn.close()
    if go != b"go\n":
        return 0  # the executor gave up on us and starts the runtime itself
    return run_runtime(job_dir, settings)


def run_runtime(job_dir: Path, settings: Settings | None = None) -> int:
    from modelyard.runtime.__main__ import main

    try:
        return main([str(job_dir)], settings)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def _default_signals() -> None:
    """Every signal disposition as a fresh interpreter has it (SIGINT raises
    KeyboardInterrupt, SIGPIPE and SIGXFSZ ignored, the rest default)."""
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        want: Callable[[int, FrameType | None], Any] | int
        if sig == signal.SIGINT:
            want = signal.default_int_handler
        elif sig in (signal.SIGPIPE, signal.SIGXFSZ):
            want = signal.SIG_IGN
        else:
            want = signal.SIG_DFL
        with contextlib.suppress(OSError, ValueError):
            if signal.getsignal(sig) != want:
                signal.signal(sig, want)


def _redirect_stdio(log: Path, mode: int) -> None:
    """stdin from /dev/null; stdout and stderr appended to ``log`` (created with ``mode``),
    as for a process started by Popen with those files."""
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
