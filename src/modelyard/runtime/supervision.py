"""Supervision of a job's running process: stop requests, auto_stop, hangs, limits."""

from __future__ import annotations

import time
from collections.abc import Callable

from modelyard.runtime import procs
from modelyard.runtime.limits import disk_usage
from modelyard.runtime.process import JobProcess
from modelyard.runtime.report import (
    Reason,
)
from modelyard.runtime.run_core import TICK, RunnerCore
from modelyard.runtime.state import StopRequest
from modelyard.spec.plan import RunPlan
from modelyard.spec.status import Phase

_FIRST_LISTING = 0.25
"""Seconds after a process starts until its processes are first listed (then every 1 s)."""
_DISK_CHECK = 5.0
"""Seconds between two measures of the disk the job's folders use."""


class Supervising(RunnerCore):
    """Watching a started process until it ends: stop requests, auto_stop, hangs, memory
    and disk."""

    def _account_memory(self, proc: JobProcess, plan: RunPlan) -> None:
        """Issue 5: memory accounting against the flavor (no cgroups here to enforce it)."""
        used = procs.resident_bytes(proc.job_pids())
        if used <= (self.state.peak_memory_bytes or 0):
            return
        limit = (plan.memory_gb or 0) * 2**30
        crossed = limit and used > limit >= (self.state.peak_memory_bytes or 0)
        self.state.peak_memory_bytes = used
        self._save()
        if crossed:
            self.reporter.warning(f"The job uses {used / 2**30:.1f} GB, more than its flavor's "
                                  f"{plan.memory_gb:g} GB")

    def _supervise(self, proc: JobProcess, deadline: float | None,
                   max_seconds: int | None = None, hang_seconds: float | None = None) -> int:
        """Waits for ``proc``; acts on stop requests, auto_stop and hangs: SIGTERM, then
        SIGKILL after the grace period (or at once on a second stop request)."""
        r = self.reporter
        stop_since: float | None = None
        term_sent = killed = False
        grace = 0.0
        watch = HangWatch(proc, self.reporter.log_size, hang_seconds) if hang_seconds else None
        # The first look at the job's processes (a scan of all of /proc) waits a moment: at
        # the spawn there is only the process we started, and on a busy machine the scan
        # would compete with it for the CPU while it starts.
        listed = time.monotonic() - 1.0 + _FIRST_LISTING
        disk_checked = time.monotonic()
        while (code := proc.poll()) is None:
            now = time.monotonic()
            if self._stop is None and now - disk_checked >= _DISK_CHECK:
                disk_checked = now
                self._check_disk()
            if now - listed >= 1.0:  # remember the job's processes, to kill strays at the end
                if self._plan is not None:
                    self._account_memory(proc, self._plan)
                else:
                    proc.job_pids()
                listed = now
            if self._stop is None and deadline is not None and now >= deadline:
                self._stop = StopRequest(reason=Reason.AUTO_STOP)
                r.warning(f"auto_stop: the job reached its maximum run time ({max_seconds} s)")
            if self._stop is None and watch is not None and watch.hung(now):
                self._hang_message = (f"hang: no log output and no CPU progress for "
                                      f"{hang_seconds:g} s")
                self._stop = StopRequest(reason=Reason.HANG)
                r.error(f"The job looks hung ({self._hang_message})")
            if self._stop is not None and stop_since is None:
                stop_since = now
                grace = (self._stop.grace_seconds if self._stop.grace_seconds is not None
                         else self.settings.stop_grace_period)
                self.state.phase = Phase.TERMINATING
                self._save()
                r.warning(f"Stopping ({self._stop.reason}): SIGTERM to the job's processes, "
                          f"SIGKILL after {grace:g} s")
            if stop_since is not None and not term_sent:
                term_sent = proc.terminate() > 0
            if stop_since is not None and not killed and (
                    self._kill_now or now - stop_since >= grace):
                r.warning("Grace period over: SIGKILL to every process of the job")
                proc.kill()
                killed = True
            proc.wait_exit(TICK)
        proc.reap()
        return code

    def _check_disk(self) -> None:
        """The disk watcher: a job whose folders pass the limit is stopped (no quota on
        most file systems; measured with lstat, following nothing)."""
        limit = self.limits.disk_bytes if self.limits else None
        if limit is None:
            return
        used = disk_usage(self.folder.home, self.folder.cache, self.folder.opt_ml,
                          stop_at=limit)
        if used > limit:
            self._limit_exceeded(f"disk limit: the job's folders hold more than "
                                 f"{limit / 2**30:g} GB (setting job_disk_gb); stopping it")
            self._stop = StopRequest(reason=Reason.LIMIT, grace_seconds=0)

    def _open_files(self) -> set[tuple[int, int]]:
        proc = self.proc
        return procs.open_for_writing(proc.job_pids()) if proc is not None else set()


class HangWatch:
    """Hang detection (issue 5, fault-tolerance/hang-retry): a job is hung when its log has
    not grown and its processes have used no CPU for ``seconds``."""

    def __init__(self, proc: JobProcess, log_size: Callable[[], int], seconds: float) -> None:
        self.proc = proc
        self.log_size = log_size
        self.seconds = seconds
        self._last: tuple[int, int] | None = None
        self._since = time.monotonic()
        self._checked = 0.0

    def hung(self, now: float) -> bool:
        if now - self._checked < 1.0:
            return False
        self._checked = now
        try:
            size = self.log_size()
        except OSError:
            size = 0
        progress = (size, procs.cpu_ticks(self.proc.job_pids()))
        if progress != self._last:
            self._last, self._since = progress, now
            return False
        return now - self._since >= self.seconds
