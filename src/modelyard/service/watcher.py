"""Moves jobs forward without anyone asking: the server runs ``Watcher`` in a thread.

While it runs, reads (GET, list, search) only read the database (``JobService.watched``), so
the watcher is what brings the runtime's state and events into the table. One pass = refresh
every running or terminating job (pending ones have no runtime yet; finished ones nothing
new), then start what can start, then resume searches whose driver died.
"""

from __future__ import annotations

import logging
import threading

from modelyard.service.app import Service

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

    def start(self) -> None:
        if self._thread is None:
            self.service.jobs.watched = True  # the thread's first pass runs right away
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
        self.service.jobs.watched = False
