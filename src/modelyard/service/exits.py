"""Waiting for the first of several runtimes to exit, without polling: pidfds.

A runtime writes its final state and then exits. Whoever folds that state into the database
(the server's watcher, a search driver waiting on its trials) would otherwise see the end
only at its next timed pass, and on a busy queue a freed slot would sit idle until then.
A pidfd (``os.pidfd_open``) becomes readable when its process exits, so one ``poll`` on the
pidfds of every running job wakes the waiter as soon as any of them ends, and ``timeout``
still bounds the wait (runtimes of other executors, e.g. Ray, have no local pid: their
jobs are seen at the timed pass, as before).

The runtime's pid and start time come from its job folder (``runtime.pid``, written by the
local executor); the start time guards against a reused pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
from collections.abc import Iterable
from pathlib import Path

from modelyard.runtime import procs
from modelyard.runtime.state import RUNTIME_PID

ENDED = -1
EXITED, WOKEN = "exited", "woken"

class ExitWaiter:
    """pidfds of the runtimes of the job folders last passed to ``watch``, plus a pipe that
    ``wake`` writes to (a stop request, a new job), all in one ``select.poll``."""

    def __init__(self) -> None:
        self._fds: dict[Path, int] = {}
        self._seen: dict[Path, tuple[int, int | None]] = {}  # the runtime last looked up
        self._ended = False  # one was found exited when first watched: wait() returns now
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    def watch(self, job_dirs: Iterable[Path]) -> None:
        """Tracks exactly these folders' runtimes from now on (opens the new ones' pidfds,
        closes those of folders no longer listed). A folder is looked up again when its
        ``runtime.pid`` changes (a restarted attempt is a new runtime)."""
        wanted = {Path(d) for d in job_dirs}
        for gone in set(self._fds) - wanted:
            os.close(self._fds.pop(gone))
        self._seen = {d: k for d, k in self._seen.items() if d in wanted}
        for job_dir in wanted - set(self._fds):
            runtime = recorded_runtime(job_dir)
            if runtime is None or self._seen.get(job_dir) == runtime:
                continue
            self._seen[job_dir] = runtime
            fd = pidfd(*runtime)
            if fd == ENDED:  # exited between the caller's look and now: look again now
                self._ended = True
            elif fd is not None:
                self._fds[job_dir] = fd

    def wait(self, timeout: float) -> str | None:
        """Returns EXITED when a watched runtime has exited, WOKEN when ``wake`` was called
        (and no runtime exited), None after ``timeout`` seconds. An exited runtime's pidfd
        is closed; its folder is waited on again only for another runtime (a restart)."""
        if self._ended:
            self._ended = False
            return EXITED
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        by_fd = {fd: d for d, fd in self._fds.items()}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        ready = poller.poll(max(0.0, timeout) * 1000)
        why = None
        for fd, _ in ready:
            if fd == self._wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
                why = why or WOKEN
            else:
                self._fds.pop(by_fd[fd], None)
                os.close(fd)
                why = EXITED
        return why

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"x")

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        os.close(self._wake_r)
        os.close(self._wake_w)


def recorded_runtime(job_dir: Path) -> tuple[int, int | None] | None:
    """The pid and start time the executor recorded for the job's runtime, if any."""
    try:
        info = json.loads((job_dir / RUNTIME_PID).read_text())
        return int(info["pid"]), info.get("start_time")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pidfd(pid: int, start: int | None) -> int | None:
    """A pidfd of the process; ENDED when it has exited (or its pid now belongs to a
    process started at another time); None when this kernel gives no pidfds."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return ENDED
    except OSError:  # no pidfds here (old kernel, seccomp): the timed passes remain
        return None
    if not procs.is_alive(pid, start):  # checked after opening: the fd is that process
        os.close(fd)
        return ENDED
    return fd
