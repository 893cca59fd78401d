"""Moves jobs forward without anyone asking: the server runs ``Watcher`` in a thread.

While it runs, reads (GET, list, search) only read the database (``JobService.watched``), so
the watcher is what brings the runtime's state and events into the table. One pass = refresh
every running or terminating job (pending ones have no runtime yet; finished ones nothing
new), then start what can start, then resume searches whose driver died.

Between passes the watcher waits on the running jobs' runtimes (``exits.ExitWaiter``): a
pass starts as soon as one of them exits, so a slot freed on a busy queue is refilled at
once, not at the next timed pass (``interval`` bounds the wait for everything else). A job
started outside the watcher (a create, in the request) wakes it to wait on that one too.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from sqlalchemy import select

from modelyard.service.app import Service
from modelyard.service.exits import WOKEN, ExitWaiter
from modelyard.service.scheduler import ACTIVE
from modelyard.store.models import JobRow

log = logging.getLogger("modelyard.service.watcher")


def reconcile(service: Service) -> int:
    """One pass; returns how many running jobs it looked at. Errors on one job are logged
    and do not stop the others."""
    ids = service.jobs.active_ids()
    for job_id in ids:
        try:
            service.jobs.refresh(job_id, dispatch=False)
        except Exception:
            log.exception("refreshing job %s failed", job_id)
    try:
        service.jobs.dispatch(refresh_active=False)  # just refreshed: free slots are known
    except Exception:
        log.exception("dispatch failed")
    try:
        service.search.reconcile()  # a search whose driver died (server restart) resumes
    except Exception:
        log.exception("resuming searches failed")
    return len(ids)


class Watcher:
    """A daemon thread calling ``reconcile`` every ``interval`` seconds until stopped."""

    def __init__(self, service: Service, interval: float = 1.0) -> None:
        self.service = service
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._exits: ExitWaiter | None = None

    def start(self) -> None:
        if self._thread is None:
            self.service.jobs.watched = True  # the thread's first pass runs right away
            self._stop.clear()
            self._exits = ExitWaiter()
            self.service.jobs.started_hook = self._exits.wake  # a job started elsewhere
            self._thread = threading.Thread(target=self._run, name="modelyard-watcher",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        exits = self._exits
        assert exits is not None
        while not self._stop.is_set():
            try:
                reconcile(self.service)
                exits.watch(self._running_dirs())
            except Exception:  # the database may be briefly unavailable; try again later
                log.exception("reconcile pass failed")
            self._wait(exits, time.monotonic() + self.interval)

    def _wait(self, exits: ExitWaiter, deadline: float) -> None:
        """Until a runtime exits or the deadline. A job started elsewhere (WOKEN) is only
        added to what is waited on: a pass for each create of a burst would compete with
        the creates for the dispatch lock and the database's write lock."""
        while exits.wait(deadline - time.monotonic()) == WOKEN:
            if self._stop.is_set() or time.monotonic() >= deadline:
                return
            try:
                exits.watch(self._running_dirs())
            except Exception:
                log.exception("looking up running jobs failed")
                return

    def _running_dirs(self) -> list[Path]:
        with self.service.db.read() as conn:
            return [Path(d) for d in conn.scalars(select(JobRow.job_dir).where(
                JobRow.phase.in_(ACTIVE), JobRow.executor != "search"))]

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.service.jobs.started_hook = None
        if self._exits is not None:
            self._exits.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():  # stuck in a pass: its fds go when the process does
                self._thread = None
                self.service.jobs.watched = False
                return
            self._thread = None
        if self._exits is not None:
            self._exits.close()
            self._exits = None
        self.service.jobs.watched = False
