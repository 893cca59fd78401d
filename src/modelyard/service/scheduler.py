"""The queue: which pending job starts next, and why the others wait.

FIFO within a priority (``spec.schedule_policy.priority`` 3 before 2 before 1), strict: a
job that does not fit holds back the jobs behind it, so a big job is never starved by a
stream of small ones. Capacity is the node's (settings) minus what running jobs reserved.
One dispatcher at a time (a file lock in the home folder), so two processes never
over-commit the node or start a job twice.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update

from modelyard.service.catalog import node_cpus, node_memory_gb
from modelyard.settings import Settings
from modelyard.spec.status import Phase, SecondaryPhase
from modelyard.store.db import Database
from modelyard.store.models import EventRow, JobRow

ACTIVE = [Phase.RUNNING.value, Phase.TERMINATING.value]
QUEUE_ORDER = (JobRow.priority.desc(), JobRow.created_at, JobRow.id)


@dataclass
class Resources:
    cpus: float
    memory_gb: float
    gpus: int

    def fits(self, need: Resources) -> bool:
        return (need.cpus <= self.cpus + 1e-9 and need.memory_gb <= self.memory_gb + 1e-9
                and need.gpus <= self.gpus)

    def take(self, need: Resources) -> None:
        self.cpus -= need.cpus
        self.memory_gb -= need.memory_gb
        self.gpus -= need.gpus

    @classmethod
    def of(cls, row: JobRow) -> Resources:
        return cls(row.cpus, row.memory_gb, row.gpus)


class Scheduler:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def capacity(self) -> Resources:
        return Resources(node_cpus(self.settings), node_memory_gb(self.settings),
                         self.settings.node_gpus)

    def cores(self) -> list[int]:
        """The node's cores that jobs can be pinned to; none when the configured node is
        bigger than this machine (then jobs share the cores, unpinned)."""
        real = sorted(os.sched_getaffinity(0))
        n = node_cpus(self.settings)
        return real[:n] if n <= len(real) else []

    def dispatch(self, start: Callable[[JobRow, list[int] | None], None]) -> None:
        """Starts every pending job that fits, in queue order, on cores nobody else holds;
        marks the rest Queuing with a message that says what they wait for."""
        with self._lock():
            with self.db.session() as s:
                active = list(s.scalars(select(JobRow).where(
                    JobRow.phase.in_(ACTIVE), JobRow.executor != "search")))
                pending = list(s.scalars(select(JobRow).where(
                    JobRow.phase == Phase.PENDING.value).order_by(*QUEUE_ORDER)))
            free = self.capacity()
            free_cores = self.cores()
            for row in active:
                free.take(Resources.of(row))
                held = set(row.plan.get("cpu_set") or [])
                free_cores = [c for c in free_cores if c not in held]
            blocked_by: JobRow | None = None
            for position, row in enumerate(pending, start=1):
                need = Resources.of(row)
                if blocked_by is None and free.fits(need):
                    free.take(need)
                    mine = free_cores[:row.cpus] if len(free_cores) >= row.cpus else None
                    free_cores = free_cores[len(mine or []):]
                    start(row, mine)
                    continue
                if blocked_by is None:
                    blocked_by = row
                    reason = (f"Job queued: waiting for {_fmt(need.cpus)} CPU, "
                              f"{_fmt(need.memory_gb)} GB"
                              + (f", {need.gpus} GPU" if need.gpus else "")
                              + f"; {_fmt(max(free.cpus, 0))} CPU, "
                              f"{_fmt(max(free.memory_gb, 0))} GB"
                              + (f", {max(free.gpus, 0)} GPU" if need.gpus else "")
                              + " free")
                else:
                    reason = (f"Job queued: position {position}, behind job "
                              f"{blocked_by.name} ({blocked_by.id[:8]})")
                self._mark_queued(row, reason)

    def _mark_queued(self, row: JobRow, reason: str) -> None:
        with self.db.session() as s:
            changed = s.execute(
                update(JobRow).where(JobRow.id == row.id, JobRow.phase == Phase.PENDING.value,
                                     (JobRow.message.is_(None)) | (JobRow.message != reason))
                .values(secondary_phase=SecondaryPhase.QUEUING.value, message=reason)
            ).rowcount  # type: ignore[attr-defined]
            if changed and row.secondary_phase != SecondaryPhase.QUEUING.value:
                s.add(EventRow(job_id=row.id, time=time.time(), level="Info", source="Job",
                               message=reason))

    def queue_position(self, row: JobRow | Row[Any]) -> int | None:
        """1 for the next job to start; None when the job is not waiting. One COUNT of the
        pending jobs ahead of it in QUEUE_ORDER (index ix_jobs_phase_priority), so asking is
        cheap however long the queue is."""
        if row.phase != Phase.PENDING.value:
            return None
        ahead = or_(
            JobRow.priority > row.priority,
            and_(JobRow.priority == row.priority, JobRow.created_at < row.created_at),
            and_(JobRow.priority == row.priority, JobRow.created_at == row.created_at,
                 JobRow.id < row.id),
        )
        with self.db.read() as conn:
            count = conn.scalar(select(func.count()).select_from(JobRow).where(
                JobRow.phase == Phase.PENDING.value, ahead)) or 0
        return count + 1

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        with (self.settings.home / "dispatch.lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _fmt(x: float) -> str:
    return f"{x:g}"
