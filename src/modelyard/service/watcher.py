"""Moves jobs forward without anyone asking: the server runs ``Watcher`` in a thread.

Reading a job already folds the runtime's state into the database (JobService.refresh), but a
job nobody looks at would stay Pending or Running in the table, and queued jobs would wait
for the next request. One pass = start what can start, then refresh every unfinished job.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from modelyard.service.app import Service
from modelyard.service.jobs import UNFINISHED
from modelyard.store.models import JobRow

log = logging.getLogger("modelyard.service.watcher")


def reconcile(service: Service) -> int:
    """One pass; returns how many unfinished jobs it looked at. Errors on one job are logged
    and do not stop the others."""
    try:
        service.jobs.dispatch()
    except Exception:
        log.exception("dispatch failed")
    try:
        service.search.reconcile()  # a search whose driver died (server restart) resumes
    except Exception:
        log.exception("resuming searches failed")
    with service.db.session() as s:
        ids = list(s.scalars(select(JobRow.id).where(JobRow.phase.in_(UNFINISHED))))
    for job_id in ids:
        try:
            service.jobs.refresh(job_id)
        except Exception:
            log.exception("refreshing job %s failed", job_id)
    return len(ids)


class Watcher:
    """A daemon thread calling ``reconcile`` every ``interval`` seconds until stopped."""

    def __init__(self, service: Service, interval: float = 1.0) -> None:
        self.service = service
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="modelyard-watcher",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reconcile(self.service)
            except Exception:  # the database may be briefly unavailable; try again later
                log.exception("reconcile pass failed")
            self._stop.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
