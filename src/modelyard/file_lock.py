"""One way to wait for a lock file: an ``flock`` polled rather than blocked on, so that the
waiter can give up (a stop request) while another process builds what it needs (a
requirements layer, an engine's environment, the image store)."""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

POLL_SECONDS = 0.2


@contextlib.contextmanager
def exclusive(path: Path, wait_tick: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Holds an exclusive ``flock`` on ``path`` (created if missing); ``wait_tick`` runs
    between tries and may raise to stop waiting."""
    with open(path, "w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                wait_tick()
                time.sleep(POLL_SECONDS)
        yield
