"""Training jobs: creation (validate, resolve, persist, dispatch), observation, stop, delete.

The runtime is the source of truth for what happens inside a job; ``refresh`` folds what it
wrote in the job folder (state.json, events.jsonl) into the database. Who calls it depends on
whether something watches the jobs:

- The server runs a Watcher (service/watcher.py) that refreshes every running job each
  ``watch_interval``; it sets ``JobService.watched`` and from then on a GET, a list or a
  search only reads the database, so a read never walks job folders and its cost does not
  grow with the number of running jobs.
- The embedded CLI (no server, nothing watching) keeps ``watched`` False: a GET refreshes
  the one job it shows, and a list refreshes the project's running jobs first, so nothing
  depends on a long-lived process having watched the job.

Writes (stop, delete) always refresh the job they act on first.
"""

from __future__ import annotations

import builtins
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from modelyard.executors.base import Executor, Need
from modelyard.runtime.layout import Tree
from modelyard.runtime.state import RUNTIME_PID, JobFolder, RuntimeState, read_log
from modelyard.service import engines
from modelyard.service.algorithms import AlgorithmService
from modelyard.service.buckets import BucketOwners
from modelyard.service.catalog import flavor, node_cpus, node_memory_gb
from modelyard.service.errors import Conflict, NotFound
from modelyard.service.host_paths import check_plan
from modelyard.service.identity import current_caller
from modelyard.service.records import (
    ONE_JOB,
    RECORD_COLUMNS,
    EventRecord,
    JobRecord,
    LogPreviewRecord,
    event_record,
    job_record,
    ms,
)
from modelyard.service.scheduler import Scheduler
from modelyard.settings import Settings
from modelyard.spec.algorithm import Algorithm
from modelyard.spec.errors import SpecError
from modelyard.spec.fault_tolerance import retry_policy
from modelyard.spec.job import JobAlgorithm
from modelyard.spec.loader import parse_job
from modelyard.spec.paths import Location, parse_location
from modelyard.spec.plan import MountPlan, RunPlan
from modelyard.spec.resolve import DatasetResolver, resolve_job
from modelyard.spec.status import FINAL_PHASES, EventLevel, EventSource, Phase
from modelyard.store.db import Database
from modelyard.store.identity_models import OutputLockRow
from modelyard.store.models import EventRow, JobRow

UNFINISHED = [p.value for p in Phase if p not in FINAL_PHASES]
ACTIVE = [Phase.RUNNING.value, Phase.TERMINATING.value]
"""The phases in which a runtime may have something new to say (pending jobs have none)."""
audit = logging.getLogger("modelyard.audit")

MountResolver = Callable[[str, list[dict[str, Any]]], list[MountPlan]]
"""Turns a job's ``spec.volumes`` into bind mounts, checking the mount rules (S5.3)."""


SubscriptionResolver = Callable[[str, JobAlgorithm], tuple[Algorithm, dict[str, str]]]
"""A job's ``subscription_id`` + ``item_version_id`` -> the published algorithm it runs and
what the job records about it (asset and version; seed S1.1)."""


def no_mounts(project: str, volumes: list[dict[str, Any]]) -> list[MountPlan]:
    if volumes:
        raise SpecError("spec.volumes", volumes, "no file systems are configured")
    return []


class JobService:
    search_hook: Callable[..., dict[str, Any] | None] | None = None  # set by Service
    datasets: Callable[[str], DatasetResolver] | None = None
    """Per project, finds the dataset versions bound to inputs (set by Service, issue 18)."""
    subscription_hook: SubscriptionResolver | None = None  # set by Service (the gallery)
    buckets: BucketOwners | None = None  # set by Service: which project owns which bucket
    watched: bool = False
    """True while a Watcher keeps running jobs current: reads then only read the database."""
    started_hook: Callable[[], None] | None = None
    """Called after a runtime was started (set by the Watcher: it then waits on it too)."""

    def __init__(self, settings: Settings, db: Database, algorithms: AlgorithmService,
                 executor: Executor, mounts: MountResolver = no_mounts) -> None:
        self.settings = settings
        self.db = db
        self.algorithms = algorithms
        self.executor = executor
        self.mounts = mounts
        self.scheduler = Scheduler(settings, db, executor.capacity)

    # ----------------------------------------------------------------- create
    def create(self, project: str, data: dict[str, Any]) -> JobRecord | dict[str, Any]:
        """Validates the job against its algorithm and stores it, or raises and stores
        nothing; then hands it to the scheduler."""
        job = parse_job(data)
        algorithm_row = algorithm = None
        provenance: dict[str, str] = {}
        if job.algorithm.subscription_id or job.algorithm.item_version_id:
            algorithm, provenance = self._subscribed(project, job.algorithm)
        elif job.algorithm.is_reference:
            ident = job.algorithm.id or job.algorithm.name
            assert ident is not None
            try:
                algorithm_row, algorithm = self.algorithms.model(project, ident)
            except NotFound:
                field = "algorithm.id" if job.algorithm.id else "algorithm.name"
                raise SpecError(field, ident, "no such algorithm in this project") from None
        datasets = self.datasets(project) if self.datasets is not None else None
        plan = resolve_job(job, algorithm, datasets)
        # A subscribed version's code is the service's own snapshot, checked against the
        # host paths policy when it was published; the job's channels are checked here.
        check_plan(self.settings, plan.model_copy(update={"code_dir": None}) if provenance
                   else plan)
        entry = engines.resolve(self.settings, plan.engine, "algorithm.engine")
        if entry is not None:
            plan = plan.model_copy(update={"engine_plan": entry.plan(self.settings)})
        plan, image_note = engines.pin_image(self.settings, plan, project)
        if self.search_hook is not None:  # policies.auto_search: the job becomes a search
            search = self.search_hook(project, data, job, algorithm_row, algorithm, plan)
            if search is not None:
                return search
        policy = retry_policy(job.metadata.annotations)
        size = flavor(self.settings, job.spec.resource.flavor_id)
        if self.executor.capacity() is None:  # this machine (a cluster checks its nodes)
            self._check_fits_node(size.flavor_id, size.cpus, size.memory_gb, size.gpus)
        self.executor.check_fits(Need(size.flavor_id, plan.node_count, size.cpus,
                                      size.memory_gb, size.gpus))
        job_id = str(uuid.uuid4())
        plan = plan.model_copy(update={
            "job_id": job_id, "project_id": project, "upload_period": self.settings.upload_period,
            "mounts": self.mounts(project, job.spec.volumes), "flavor_id": size.flavor_id,
            "cpus": size.threads, "memory_gb": size.memory_gb, "gpus": size.gpus,
            "hang_seconds": policy.hang_seconds,
        })
        if self.buckets is not None:
            self.buckets.claim(project, _locations(plan), "algorithm")
        now = time.time()
        body = job.model_dump(mode="json", exclude_none=True, exclude={"status"})
        body["algorithm"].update(provenance)  # which gallery asset and version it ran
        if plan.image_url:  # ours: the image and the digest every attempt runs (issue 15)
            body["image"] = {"url": plan.image_url, "digest": plan.image_digest}
        row = JobRow(
            id=job_id, project_id=project, name=job.metadata.name,
            description=job.metadata.description,
            algorithm_id=algorithm_row.id if algorithm_row else None,
            algorithm_name=algorithm_row.name if algorithm_row else None,
            body=body, plan=plan.model_dump(mode="json"), phase=Phase.PENDING.value,
            secondary_phase=None, priority=(job.spec.schedule_policy.priority
                                            if job.spec.schedule_policy else 1),
            executor=getattr(self.executor, "name", "local") or "local",
            job_dir=str(self.settings.jobs_root / job_id), events_offset=0,
            created_at=now, updated_at=now, cpus=size.cpus, memory_gb=size.memory_gb,
            gpus=size.gpus, attempt=0, running_records=[],
        )
        try:
            self._insert(row, plan, job.metadata.name, now,
                         [image_note] if image_note else [])
        except IntegrityError:  # an output lock's primary key: another create won the race
            raise Conflict("algorithm.outputs: an output location is in use by an unfinished "
                           "job created at the same moment; one output location serves one "
                           "unfinished job at a time") from None
        # With a watcher running, the running jobs' ends reach the table as they happen
        # (it wakes on a runtime's exit): refreshing them all again on every create was
        # most of a create's time on a busy queue (issue 20).
        self.dispatch(refresh_active=not self.watched)
        return self.get(project, job_id)

    def _insert(self, row: JobRow, plan: RunPlan, name: str, now: float,
                notes: list[str]) -> None:
        """The job, its output locks and its first events (created, its engine, ``notes``),
        in one transaction."""
        job_id = row.id
        with self.db.session() as s:
            self._check_outputs_free(s, plan)
            s.add(row)
            s.flush()  # the job row before its first event (foreign key)
            s.add_all(OutputLockRow(location=url, job_id=job_id, created_at=now)
                      for url in _output_urls(plan))
            s.add(_event(job_id, f"Job {name} created by {current_caller().label}",
                         EventSource.JOB))
            s.add(_event(job_id, engines.describe(plan), EventSource.JOB))
            if notes:
                s.add_all(_event(job_id, note, EventSource.JOB) for note in notes)

    def _subscribed(self, project: str, ja: JobAlgorithm) -> tuple[Algorithm, dict[str, str]]:
        if self.subscription_hook is None:
            raise SpecError("algorithm.subscription_id", ja.subscription_id,
                            "this service has no gallery to subscribe from")
        return self.subscription_hook(project, ja)

    def _check_fits_node(self, flavor_id: str, cpus: float, memory_gb: float,
                         gpus: int) -> None:
        """A job bigger than the whole node would queue forever: refuse it at submit."""
        have = (node_cpus(self.settings), node_memory_gb(self.settings), self.settings.node_gpus)
        if cpus > have[0] or memory_gb > have[1] or gpus > have[2]:
            raise SpecError(
                "spec.resource.flavor_id", flavor_id,
                f"needs {cpus:g} CPU, {memory_gb:g} GB, {gpus} GPU but the node has "
                f"{have[0]} CPU, {have[1]:g} GB, {have[2]} GPU",
            )

    def _check_outputs_free(self, s: Any, plan: RunPlan) -> None:
        """docs/contract.md: one output location serves one unfinished job at a time.

        Atomic with the insert that follows (same transaction): the table of output locks
        is write-locked first (PostgreSQL: LOCK TABLE; SQLite: the first write takes the
        database's write lock, and a concurrent create waits for this one to commit), so
        two concurrent creates never both see a location free; the lock rows' primary key
        is the database's own guard for the exact same location."""
        mine = {o.name: parse_location(o.url).as_dir().url for o in plan.outputs}
        if not mine:
            return
        if not self.db.is_sqlite:
            s.execute(text("LOCK TABLE output_locks IN EXCLUSIVE MODE"))
        # Locks of jobs that ended (or were deleted) are released here, lazily.
        s.execute(delete(OutputLockRow).where(OutputLockRow.job_id.not_in(
            select(JobRow.id).where(JobRow.phase.in_(UNFINISHED)))))
        for other in s.scalars(select(JobRow).where(JobRow.phase.in_(UNFINISHED))):
            for out in other.plan.get("outputs", []):
                theirs = parse_location(out["url"]).as_dir().url
                for name, url in mine.items():
                    if url.startswith(theirs) or theirs.startswith(url):
                        raise Conflict(
                            f"algorithm.outputs.{name}: {url!r} is not allowed: output location "
                            f"is in use by unfinished job {other.id} ({other.name}); one output "
                            "location serves one unfinished job at a time"
                        )

    # --------------------------------------------------------------- dispatch
    def dispatch(self, refresh_active: bool = True) -> None:
        """Brings running jobs up to date (their resources may be free by now), then
        starts the pending jobs that fit, in queue order (see Scheduler). The watcher
        refreshes them itself (one failing job must not stop the others) and passes False."""
        if refresh_active:
            for job_id in self.active_ids():
                self.refresh(job_id, dispatch=False)
        self.scheduler.dispatch(self._start)

    def active_ids(self, project: str | None = None) -> builtins.list[str]:
        """Jobs whose runtime may have news: running or terminating (index on phase)."""
        q = select(JobRow.id).where(JobRow.phase.in_(ACTIVE))
        if project is not None:
            q = q.where(JobRow.project_id == project)
        with self.db.session() as s:
            return list(s.scalars(q))

    def _start(self, row: JobRow, cpu_set: list[int] | None = None) -> None:
        # Claim the job first so that two dispatchers never start it twice.
        now = time.time()
        records = [*(row.running_records or []), {"start_at": ms(now), "start_type": "init"}]
        plan_json = {**row.plan, "cpu_set": cpu_set}
        with self.db.session() as s:
            claimed = s.execute(
                update(JobRow).where(JobRow.id == row.id, JobRow.phase == Phase.PENDING.value)
                .values(phase=Phase.RUNNING.value, secondary_phase="Creating", message=None,
                        updated_at=now, running_records=records, plan=plan_json)
            ).rowcount  # type: ignore[attr-defined]
            if claimed:
                s.add(_event(row.id, f"Job scheduled with flavor {row.plan.get('flavor_id')}"))
        if not claimed:
            return
        plan = RunPlan.model_validate(plan_json)
        try:
            self.executor.submit(plan, Path(row.job_dir))
        except Exception as exc:
            self._finish(row.id, Phase.FAILED, f"could not start: {exc}", secondary="CreateFailed")
            return
        if self.started_hook is not None:
            self.started_hook()

    # ---------------------------------------------------------------- observe
    def refresh(self, job_id: str, dispatch: bool = True) -> None:
        """Folds the runtime's state and new events into the database, and applies the
        retry policy when an attempt has ended."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
        if row is None or Phase(row.phase).is_final or row.phase == Phase.PENDING.value:
            return
        folder = JobFolder(Path(row.job_dir))
        # The state first, then the events: an executor that copies a remote runtime's
        # events into the folder while it polls (Ray) must have them read in the same pass.
        state = self.executor.poll(Path(row.job_dir))
        events, new_offset = folder.read_events(row.events_offset)
        if state is not None and state.attempt < row.attempt:
            state = None  # the previous attempt's last word; the new one has not spoken yet
        outcome = None
        with self.db.session() as s:
            if events:
                moved = s.execute(
                    update(JobRow).where(JobRow.id == job_id,
                                         JobRow.events_offset == row.events_offset)
                    .values(events_offset=new_offset)
                ).rowcount  # type: ignore[attr-defined]
                if moved:
                    for e in events:
                        s.add(EventRow(job_id=job_id, time=e.time, level=e.level.value,
                                       source=e.source.value, message=e.message))
            fresh = s.get(JobRow, job_id)
            if state is None or fresh is None or Phase(fresh.phase).is_final:
                return
            outcome = self._fold_state(s, fresh, state)
        if outcome == "restart":
            self._restart(job_id, state)
        elif outcome == "final":
            if state.reason == "lost":
                self._salvage_outputs(job_id)
            if dispatch:
                self.dispatch()  # its resources are free again

    def _fold_state(self, s: Any, row: JobRow, state: RuntimeState) -> str | None:
        phase = state.phase
        # What the job waited for while it was being created (e.g. a Ray placement) is
        # no news once it runs: a runtime that starts with no message clears it.
        was_creating = row.secondary_phase == "Creating"
        if phase == Phase.PENDING:
            phase, row.secondary_phase = Phase.RUNNING, "Creating"
        elif not phase.is_final:
            row.secondary_phase = None
        if row.phase == Phase.TERMINATING.value and phase == Phase.RUNNING:
            phase = Phase.TERMINATING
        row.started_at = row.started_at or state.started_at
        row.exit_code = state.exit_code
        row.message = state.message or (
            None if was_creating and state.phase != Phase.PENDING else row.message)
        row.updated_at = time.time()
        if not phase.is_final:
            row.phase = phase.value
            return None
        records = [dict(r) for r in row.running_records or []] or [{"start_at": None}]
        records[-1].update(end_at=ms(state.ended_at or time.time()),
                           end_reason=state.reason or phase.value.lower(),
                           exit_code=state.exit_code, message=state.message)
        policy = retry_policy((row.body.get("metadata") or {}).get("annotations") or {})
        stopping = row.phase == Phase.TERMINATING.value
        if phase == Phase.FAILED and not stopping and policy.should_restart(row.attempt,
                                                                            state.reason):
            # The watcher and a request may both see the attempt end: only the one that
            # moves the attempt number on restarts it (two runtimes in one job folder would
            # clear each other's folders).
            ended = row.attempt
            claimed = s.execute(
                update(JobRow).where(JobRow.id == row.id, JobRow.attempt == ended)
                .values(attempt=ended + 1)
            ).rowcount
            if not claimed:
                return None
            row.attempt = ended + 1
            records.append({"start_at": ms(time.time()), "start_type": "restart",
                            "recovery": "job_retry"})
            row.running_records = records
            row.phase, row.secondary_phase = Phase.RUNNING.value, "Restarting"
            s.add(_event(row.id, f"Attempt {row.attempt} failed ({state.reason}: "
                         f"{state.message or 'no message'}); restarting from the last "
                         f"checkpoint (restart {row.attempt} of {policy.retries})",
                         EventSource.JOB, EventLevel.WARNING))
            return "restart"
        row.running_records = records
        row.phase, row.secondary_phase = phase.value, None
        row.ended_at = state.ended_at or time.time()
        level = {Phase.COMPLETED: EventLevel.INFO,
                 Phase.TERMINATED: EventLevel.WARNING}.get(phase, EventLevel.ERROR)
        s.add(_event(row.id, f"Job {phase.value.lower()}"
                     + (f": {state.message}" if state.message else ""), EventSource.JOB, level))
        return "final"

    def _restart(self, job_id: str, state: RuntimeState) -> None:
        """Runs the job again in its folder, outputs pre-downloaded so the code resumes
        from its last checkpoint (seed S7.3)."""
        if state.reason == "lost":
            self._salvage_outputs(job_id)
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
        assert row is not None
        plan = RunPlan.model_validate(row.plan)
        plan = plan.model_copy(update={
            "attempt": row.attempt,
            "outputs": [o.model_copy(update={"prefetch_to_local": True}) for o in plan.outputs],
        })
        # The ended attempt's runtime.pid goes first: a poll between the fresh state and the
        # new runtime's pid would otherwise find that dead runtime and mark the job lost.
        (Path(row.job_dir) / RUNTIME_PID).unlink(missing_ok=True)
        JobFolder(Path(row.job_dir)).write_state(RuntimeState(attempt=row.attempt))
        try:
            self.executor.submit(plan, Path(row.job_dir))
        except Exception as exc:
            self._finish(job_id, Phase.FAILED, f"could not restart: {exc}")

    def _salvage_outputs(self, job_id: str) -> None:
        """A runtime that died could not upload its outputs; what it left on disk is
        uploaded here so that no checkpoint is lost. Like the runtime's own uploads, it
        follows nothing the job left there (``beneath``: a symlink skipped, an output
        folder replaced by a symlink refused)."""
        from modelyard.storage.transfer import TransferEngine

        with self.db.session() as s:
            row = s.get(JobRow, job_id)
        if row is None:
            return
        folder = JobFolder(Path(row.job_dir))
        tree = Tree(folder.home, folder.cache)
        engine = TransferEngine(self.settings)
        for out in RunPlan.model_validate(row.plan).outputs:
            local = tree.output_dir(out.name)
            if not local.is_dir():
                continue
            try:
                report = engine.upload(local, out.url, beneath=folder.home.resolve())
                message = (f"Uploaded what the lost runtime left of output {out.name}: "
                           f"{report.files} files to {out.url}")
                level = EventLevel.INFO
            except Exception as exc:
                message = (f"Could not upload output {out.name} to {out.url}: {exc}; the "
                           f"files stay in {local}")
                level = EventLevel.ERROR
            with self.db.session() as s:
                s.add(_event(job_id, message, EventSource.PLATFORM, level))

    def _finish(self, job_id: str, phase: Phase, message: str,
                secondary: str | None = None) -> None:
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None or Phase(row.phase).is_final:
                return
            row.phase, row.secondary_phase, row.message = phase.value, secondary, message
            row.ended_at = row.updated_at = time.time()
            level = EventLevel.ERROR if phase == Phase.FAILED else EventLevel.WARNING
            s.add(_event(job_id, f"Job {phase.value.lower()}: {message}", EventSource.JOB, level))

    def row(self, project: str, job_id: str, fresh: bool = True) -> JobRow:
        """The job if it is in ``project``. ``fresh``: fold the runtime's news in first and
        let a queued job move (needed before a write; for reads only when nothing watches)."""
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
        if row is None or row.project_id != project:
            raise NotFound("training job", job_id)
        if not fresh or Phase(row.phase).is_final:
            return row
        self.refresh(job_id)
        if row.phase == Phase.PENDING.value:
            self.dispatch()  # a queued job moves when the jobs ahead of it end
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
        if row is None:  # deleted meanwhile
            raise NotFound("training job", job_id)
        return row

    def get(self, project: str, job_id: str) -> JobRecord:
        found: JobRow | Row[Any] | None
        if not self.watched:
            found = self.row(project, job_id)
        else:  # one Core read of the columns the record shows (the request path)
            with self.db.read() as conn:
                found = conn.execute(ONE_JOB, {"job_id": job_id}).first()
            if found is None or found.project_id != project:
                raise NotFound("training job", job_id)
        position = self.scheduler.queue_position(found)
        record = job_record(found, position)
        behind = self.scheduler.behind_message(position) if position else None
        if behind:  # computed when asked, never stored for every queued job (issue 20)
            record["status"]["message"] = behind
        return record

    def list(self, project: str, offset: int = 0, limit: int = 50,
             phase: str | None = None) -> tuple[builtins.list[JobRecord], int]:
        """One page, newest first, and the total. Without a watcher the project's running
        jobs are brought up to date first; with one, this only reads the database."""
        if not self.watched:
            for job_id in self.active_ids(project):
                self.refresh(job_id)
        query = _PAGE_IN_PHASE if phase else _PAGE
        params = {"project": project, "phase": phase, "offset": offset, "limit": limit}
        with self.db.read() as conn:
            total = conn.scalar(_COUNT_IN_PHASE if phase else _COUNT, params) or 0
            rows = conn.execute(query, params).all()
        return [job_record(r) for r in rows], total

    def events(self, project: str, job_id: str, offset: int = 0, limit: int = 1000,
               level: str | None = None, source: str | None = None
               ) -> tuple[builtins.list[EventRecord], int]:
        self.row(project, job_id, fresh=not self.watched)
        with self.db.session() as s:
            q = select(EventRow).where(EventRow.job_id == job_id)
            if level:
                q = q.where(EventRow.level == level)
            if source:
                q = q.where(EventRow.source == source)
            rows = list(s.scalars(q.order_by(EventRow.time, EventRow.id)))
        return [event_record(r) for r in rows[offset:offset + limit]], len(rows)

    # ------------------------------------------------------------------- logs
    def log_path(self, project: str, job_id: str, task: str = "worker-0") -> Path:
        row = self.row(project, job_id, fresh=not self.watched)
        index = int(task.rsplit("-", 1)[-1]) if task.rsplit("-", 1)[-1].isdigit() else 0
        return JobFolder(Path(row.job_dir)).log_file(job_id, index)

    def log_preview(self, project: str, job_id: str, task: str = "worker-0",
                    max_bytes: int = 512 * 1024) -> LogPreviewRecord:
        """ModelArts' preview: the last part of the log with its sizes."""
        data, size = read_log(self.log_path(project, job_id, task), None, max_bytes)
        content = data.decode("utf-8", "replace")
        return {"content": content, "current_size": len(content.encode()), "full_size": size}

    # ------------------------------------------------------------ stop/delete
    def stop(self, project: str, job_id: str) -> JobRecord:
        row = self.row(project, job_id)
        phase = Phase(row.phase)
        if phase.is_final:
            raise Conflict(f"training job {job_id} is already {phase.value}")
        if phase == Phase.PENDING:
            self._finish(job_id, Phase.TERMINATED,
                         f"stopped before it started by {current_caller().label}")
        else:
            with self.db.session() as s:
                s.execute(update(JobRow).where(JobRow.id == job_id).values(
                    phase=Phase.TERMINATING.value, updated_at=time.time()))
                s.add(_event(job_id, f"Stop requested by {current_caller().label}",
                             EventSource.JOB, EventLevel.WARNING))
            self.executor.stop(Path(row.job_dir), self.settings.stop_grace_period)
        return self.get(project, job_id)

    def delete(self, project: str, job_id: str) -> None:
        row = self.row(project, job_id)
        if not Phase(row.phase).is_final:
            raise Conflict(
                f"training job {job_id} is {row.phase}; stop it first (it keeps its outputs)"
            )
        with self.db.session() as s:
            fresh = s.get(JobRow, job_id)
            if fresh is not None:
                s.execute(delete(EventRow).where(EventRow.job_id == job_id))
                s.delete(fresh)
        shutil.rmtree(row.job_dir, ignore_errors=True)
        audit.info("training job %s (%s) of project %s deleted by %s", job_id, row.name,
                   project, current_caller().label)


# A page of the list, newest first (the search's default order; index ix_jobs_project_page
# or ix_jobs_project_phase_page), built once with bound parameters (see records.ONE_JOB).
_IN_PROJECT = JobRow.project_id == bindparam("project")
_IN_PHASE = JobRow.phase == bindparam("phase")
_COUNT = select(func.count()).select_from(JobRow).where(_IN_PROJECT)
_COUNT_IN_PHASE = _COUNT.where(_IN_PHASE)
_PAGE = (select(*RECORD_COLUMNS).where(_IN_PROJECT)
         .order_by(JobRow.created_at.desc(), JobRow.id.desc())
         .offset(bindparam("offset")).limit(bindparam("limit")))
_PAGE_IN_PHASE = _PAGE.where(_IN_PHASE)


def _output_urls(plan: RunPlan) -> set[str]:
    return {parse_location(o.url).as_dir().url for o in plan.outputs}


def _locations(plan: RunPlan) -> builtins.list[Location]:
    """Every object-storage location a job reads or writes (its buckets are claimed)."""
    urls = [plan.code_dir] if plan.code_dir else []
    urls += [c.url for c in plan.inputs] + [c.url for c in plan.outputs]
    return [parse_location(u) for u in urls]


def _event(job_id: str, message: str, source: EventSource = EventSource.JOB,
           level: EventLevel = EventLevel.INFO) -> EventRow:
    return EventRow(job_id=job_id, time=time.time(), level=level.value, source=source.value,
                    message=message)
