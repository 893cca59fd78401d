"""The queue: which pending job starts next, and why the others wait.

FIFO within a priority (``spec.schedule_policy.priority`` 3 before 2 before 1), strict: a
job that does not fit holds back the jobs behind it, so a big job is never starved by a
stream of small ones. Capacity is the node's (settings) minus what running jobs reserved.
One dispatcher at a time (a file lock in the home folder), so two processes never
over-commit the node or start a job twice.

Cores: a job of whole cores is pinned to cores nobody else holds (and waits until enough
are free). A shared-flavor job (a fraction of a core, ``catalog.SHARED_FLAVOR``) is pinned
to a core that only shared jobs use: the fullest one with room, else a free core, which then
takes shared jobs until it is full. The queue order is the same for both kinds.
"""

from __future__ import annotations

import fcntl
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update

from modelyard.executors.base import Capacity
from modelyard.service.catalog import node_cpus, node_memory_gb
from modelyard.settings import Settings
from modelyard.spec.status import Phase, SecondaryPhase
from modelyard.store.db import Database
from modelyard.store.models import EventRow, JobRow

ACTIVE = [Phase.RUNNING.value, Phase.TERMINATING.value]
QUEUE_ORDER = (JobRow.priority.desc(), JobRow.created_at, JobRow.id)
QUEUE_COLUMNS = (JobRow.id, JobRow.cpus, JobRow.memory_gb, JobRow.gpus, JobRow.secondary_phase,
                 JobRow.message)
QUEUING = SecondaryPhase.QUEUING.value
BEHIND = "Job queued: waiting behind the jobs ahead of it"
"""The stored message of every queued job but the first: constant, so it is written once."""


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


class Cores:
    """Which of the node's cores are free, and how full the shared ones are. Built from no
    cores when the node's cores are not this machine's: then nothing is pinned (``pick``
    gives []) and only the CPU count (``Resources``) limits what runs."""

    def __init__(self, cores: list[int]) -> None:
        self.known = bool(cores)
        self.free = list(cores)
        self.shared: dict[int, float] = {}  # core -> fraction reserved by shared jobs

    def hold(self, cpu_set: list[int], cpus: float) -> None:
        for core in cpu_set:
            if core in self.free:
                self.free.remove(core)
            if cpus < 1:
                self.shared[core] = self.shared.get(core, 0.0) + cpus

    def pick(self, cpus: float) -> list[int] | None:
        """The cores for a job reserving ``cpus``; None when they are not free now."""
        if not self.known:
            return []
        if cpus < 1:
            roomy = [c for c, used in self.shared.items() if used + cpus <= 1 + 1e-9]
            if roomy:  # the fullest first: shared jobs pack, whole cores stay whole
                return [max(roomy, key=lambda c: (self.shared[c], -c))]
            return self.free[:1] or None
        whole = math.ceil(cpus - 1e-9)
        return self.free[:whole] if len(self.free) >= whole else None


class Scheduler:
    def __init__(self, settings: Settings, db: Database,
                 executor_capacity: Callable[[], Capacity | None] = lambda: None) -> None:
        self.settings = settings
        self.db = db
        self.executor_capacity = executor_capacity
        """The executor's totals (a Ray cluster's alive nodes), or None for this node."""

    def capacity(self) -> Resources:
        cluster = self.executor_capacity()
        if cluster is not None:
            return Resources(cluster.cpus, cluster.memory_gb, cluster.gpus)
        return Resources(node_cpus(self.settings), node_memory_gb(self.settings),
                         self.settings.node_gpus)

    def cores(self) -> list[int]:
        """The node's cores that jobs can be pinned to; none when the configured node is
        bigger than this machine (then jobs share the cores, unpinned) or when jobs run on
        other machines (a cluster)."""
        cluster = self.executor_capacity()
        if cluster is not None and not cluster.pin_cores:
            return []
        real = sorted(os.sched_getaffinity(0))
        n = node_cpus(self.settings)
        return real[:n] if n <= len(real) else []

    def dispatch(self, start: Callable[[JobRow, list[int] | None], None]) -> None:
        """Starts every pending job that fits, in queue order, on cores nobody else holds;
        marks the rest Queuing. The queue's bookkeeping is linear: the first job that does
        not fit says what it waits for; every job behind it carries one constant message,
        written once when it starts to wait (its position and the job it waits behind are
        computed when asked: ``queue_position``, ``behind_message``)."""
        with self._lock():
            with self.db.session() as s:
                active = list(s.scalars(select(JobRow).where(
                    JobRow.phase.in_(ACTIVE), JobRow.executor != "search")))
            with self.db.read() as conn:  # the queue's light columns, not its plans
                pending = conn.execute(select(*QUEUE_COLUMNS).where(
                    JobRow.phase == Phase.PENDING.value).order_by(*QUEUE_ORDER)).all()
            free = self.capacity()
            cores = Cores(self.cores())
            for row in active:
                free.take(Resources.of(row))
                cores.hold(row.plan.get("cpu_set") or [], row.cpus)
            head: tuple[str, str] | None = None  # (id, what it waits for)
            behind: list[Any] = []
            for queued in pending:
                need = Resources(queued.cpus, queued.memory_gb, queued.gpus)
                mine = cores.pick(need.cpus) if head is None and free.fits(need) else None
                if head is None and mine is not None:
                    with self.db.session() as s:
                        job = s.get(JobRow, queued.id)
                    if job is None or job.phase != Phase.PENDING.value:
                        continue  # stopped or started by someone else meanwhile
                    free.take(need)
                    cores.hold(mine, need.cpus)
                    start(job, mine or None)
                elif head is None:
                    head = (queued.id, _waiting_for(need, free, cores))
                    if queued.message != head[1] or queued.secondary_phase != QUEUING:
                        self._mark_queued([queued], head[1])
                elif queued.message != BEHIND or queued.secondary_phase != QUEUING:
                    behind.append(queued)
            if behind:
                self._mark_queued(behind, BEHIND)

    def _mark_queued(self, rows: list[Any], reason: str) -> None:
        """One transaction: Queuing + ``reason`` for jobs still pending, and a "queued"
        event for each that was not queuing yet (each job gets it once)."""
        with self.db.session() as s:
            for chunk in range(0, len(rows), 500):
                part = rows[chunk:chunk + 500]
                s.execute(update(JobRow).where(JobRow.id.in_([r.id for r in part]),
                                               JobRow.phase == Phase.PENDING.value)
                          .values(secondary_phase=QUEUING, message=reason))
            now = time.time()
            s.add_all(EventRow(job_id=r.id, time=now, level="Info", source="Job",
                               message=reason)
                      for r in rows if r.secondary_phase != QUEUING)

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

    def behind_message(self, position: int) -> str | None:
        """For a job at ``position`` > 1: the job at the head of the queue it waits behind."""
        if position <= 1:
            return None
        with self.db.read() as conn:
            first = conn.execute(select(JobRow.id, JobRow.name).where(
                JobRow.phase == Phase.PENDING.value).order_by(*QUEUE_ORDER).limit(1)).first()
        if first is None:
            return None
        return f"Job queued: position {position}, behind job {first.name} ({first.id[:8]})"

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        with (self.settings.home / "dispatch.lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _waiting_for(need: Resources, free: Resources, cores: Cores) -> str:
    text = (f"Job queued: waiting for {_fmt(need.cpus)} CPU, {_fmt(need.memory_gb)} GB"
            + (f", {need.gpus} GPU" if need.gpus else "")
            + f"; {_fmt(max(free.cpus, 0))} CPU, {_fmt(max(free.memory_gb, 0))} GB"
            + (f", {max(free.gpus, 0)} GPU" if need.gpus else "") + " free")
    if cores.known and need.cpus >= 1 and free.fits(need):  # CPU enough, but in pieces
        text += (f" ({len(cores.free)} whole cores free; shared jobs hold "
                 f"{len(cores.shared)})")
    return text


def _fmt(x: float) -> str:
    return f"{x:g}"
