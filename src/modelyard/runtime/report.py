"""How a runtime tells people what it does: events for the control plane, service lines in
the job log for the user, both from one call so the two never disagree.

Also the two exceptions that end a job early. ``StagingError`` carries the one-line reason
a job failed before (or outside) the user's code; it is what the user sees, never a
traceback.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from modelyard.runtime.state import JobFolder, RuntimeEvent
from modelyard.spec.status import EventLevel, EventSource
from modelyard.storage.nofollow import UnsafePath, open_regular

SERVICE_PREFIX = "[ModelYard Service Log]"


class StagingError(Exception):
    """The job cannot run; ``str(exc)`` is the whole explanation for the user.
    ``transient`` marks failures worth a retry (storage unreachable), as opposed to mistakes
    in the job (limits, missing inputs)."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Stopped(Exception):
    """A stop was requested (by a user, or by auto_stop); ``str(exc)`` is the reason."""


class Reason:
    """``RuntimeState.reason``: why a final phase was reached (the service's retry policy
    decides on it)."""

    COMPLETED = "completed"
    EXIT_CODE = "exit_code"
    SIGNAL = "signal"
    STAGING = "staging"
    STAGING_TRANSIENT = "staging_transient"
    HANG = "hang"
    STOPPED = "stopped"
    AUTO_STOP = "auto_stop"
    LOST = "lost"
    LIMIT = "limit"
    """A limit of the flavor or the installation (memory, disk) ended the job."""


class Reporter:
    """Writes events to ``events.jsonl`` and service lines to the task's log.

    The log is opened with O_APPEND and shared (as a file descriptor) with every process the
    runtime starts, so user output, pip output and service lines interleave by line. It
    lives in the job folder's ``logs/``, which no job sees: a job holds only that
    descriptor (its stdout and stderr), never the log's name, so it cannot replace the
    log with a symlink or a FIFO. A retry appends to the same log; even so the log is
    opened only as a regular file, never through a symlink (``open_regular``), and
    anything else found in its place is moved aside, not written through.
    """

    def __init__(self, folder: JobFolder, log_file: Path) -> None:
        self.folder = folder
        self.log_file = log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_fd = _open_log(log_file)
        self._lock = threading.Lock()

    def log_size(self) -> int:
        """The log's size, from the descriptor (no path lookup)."""
        return os.fstat(self.log_fd).st_size

    def line(self, message: str) -> None:
        """A service line in the log only."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        text = "".join(f"{SERVICE_PREFIX} {stamp} {ln}\n" for ln in message.splitlines() or [""])
        with self._lock:
            os.write(self.log_fd, text.encode("utf-8", "replace"))

    def event(self, message: str, level: EventLevel = EventLevel.INFO,
              source: EventSource = EventSource.PLATFORM) -> None:
        """An event and the same words as a service line."""
        with self._lock:
            self.folder.append_event(RuntimeEvent(message=message, level=level, source=source))
        self.line(message if level == EventLevel.INFO else f"{level.value}: {message}")

    def info(self, message: str, source: EventSource = EventSource.PLATFORM) -> None:
        self.event(message, EventLevel.INFO, source)

    def warning(self, message: str, source: EventSource = EventSource.PLATFORM) -> None:
        self.event(message, EventLevel.WARNING, source)

    def error(self, message: str, source: EventSource = EventSource.PLATFORM) -> None:
        self.event(message, EventLevel.ERROR, source)

    def close(self) -> None:
        os.close(self.log_fd)


def _open_log(path: Path) -> int:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    try:
        return open_regular(path, flags)
    except UnsafePath:
        # Not ours to write through: keep it (for whoever investigates), start afresh.
        os.replace(path, path.with_name(f"{path.name}.unsafe-{time.time_ns()}"))
        return open_regular(path, flags | os.O_EXCL)


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
