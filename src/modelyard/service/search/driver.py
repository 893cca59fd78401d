"""The search driver: the process that runs one search, as a runtime runs one job.

``python -m modelyard.service.search.driver <job folder>`` (started detached by
SearchService). It asks Optuna for hyperparameters, runs each trial as an ordinary training
job (``JobService.create``), keeps ``parallel_trials`` of them running, reads each trial's
log for the reward regexes, reports every match to Optuna and stops the trials its pruner
gives up on, tells Optuna each trial's result, and ends the search.

Like a runtime it speaks through its job folder: ``state.json`` and ``events.jsonl``, which
the job service folds into the search job's row. ``job stop`` writes ``stop.json`` there (the
executor's stop request); the driver sees it within a poll, as it does SIGTERM, stops its
running trials and ends Terminated. Its pid is in ``driver.pid``, which the search service
(not the executor) watches: a dead driver is resumed, not declared lost.

Everything it needs to go on is in the database: the trial <-> job mapping, the study
journal, the values read so far. A new driver for the same search (after ``kill -9``, a
crash, a machine restart) re-attaches to the trials still running, finishes what an earlier
driver left half-done, and continues; no trial is asked twice and none is lost. A file lock
keeps it to one driver per search.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import optuna
from optuna.trial import TrialState
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from modelyard.runtime import procs
from modelyard.runtime.state import STOP_FILE, JobFolder, RuntimeEvent, RuntimeState
from modelyard.service.errors import ServiceError
from modelyard.service.exits import EXITED, ExitWaiter
from modelyard.service.search.algorithms import distributions
from modelyard.service.search.journal import open_study
from modelyard.service.search.metrics import LogScanner, Point, trial_value
from modelyard.service.search.service import (
    FINAL_TRIAL,
    SEARCH_ANNOTATION,
    dims_of,
    trial_body,
    trial_name,
    write_pid,
)
from modelyard.spec.autosearch import Mode, parse_auto_search, typed_params
from modelyard.spec.errors import SpecError
from modelyard.spec.status import EventLevel, EventSource, Phase
from modelyard.store.models import EventRow, JobRow
from modelyard.store.search_models import SearchRow, TrialRow

POLL_SECONDS = 0.2  # logs are read this often: a pruned trial stops soon after its line
REFRESH_EVERY = 2  # ticks between looks at the trial jobs' state (database, job folder)
# ...and at once when a trial's runtime exits (a pidfd wakes the driver's wait): the
# next trial starts without waiting for a tick (issue 20).
MAX_SKIPS = 200


@dataclass
class Active:
    """A trial whose job has not ended yet."""

    row_id: int
    number: int
    trial_id: str
    job_id: str
    log: Path
    job_dir: Path
    trial: optuna.trial.Trial
    scanner: LogScanner
    status: str = "running"  # running | early_stopped | stopped
    reported: int = 0  # last step told to Optuna
    values: list[list[float]] = field(default_factory=list)


class Driver:
    def __init__(self, service: Any, search_id: str, job_dir: Path) -> None:
        self.service = service
        self.jobs = service.jobs
        self.db = service.db
        self.job_dir = job_dir
        self.folder = JobFolder(job_dir)
        with self.db.session() as s:
            row = s.get(SearchRow, search_id)
        if row is None:
            raise SystemExit(f"no search {search_id}")
        self.search = row
        self.project = row.project_id
        self.policy = parse_auto_search(row.policy)
        self.objective = self.policy.objective
        self.dims = dims_of(row)
        self.active: dict[int, Active] = {}
        self.started = 0
        self.skips = 0
        self.stop_requested = False
        self.ticks = 0
        self.woken = False  # a trial's runtime has exited since the last tick
        self.exits = ExitWaiter()
        self.study: optuna.Study

    # --------------------------------------------------------------- running
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        pid = os.getpid()
        write_pid(self.job_dir, pid, procs.start_time(pid))
        self._state(Phase.RUNNING)
        self.study = open_study(self.db, self.search.id, self.policy, self.dims)
        self.distributions = distributions(self.dims)
        self._reattach()
        while True:
            try:
                done = self._tick()
            except OperationalError as exc:  # a busy database: try again shortly
                print(f"database busy: {exc}", flush=True)
                done = None
            if done is not None:
                self.exits.close()
                return done
            self.exits.watch(a.job_dir for a in self.active.values() if a.job_dir != self.job_dir)
            self.woken = self.exits.wait(POLL_SECONDS) == EXITED

    def _tick(self) -> int | None:
        if (self.job_dir / STOP_FILE).exists():  # job stop (the executor's stop request)
            self.stop_requested = True
        self._watch()
        if self.stop_requested:
            stopped = self._stop_all("stopped", "the search was stopped")
            return self._finish(Phase.TERMINATED, f"Search stopped ({stopped} running "
                                "trials stopped)")
        budget = self.policy.time_budget_seconds
        if budget is not None and time.time() - self.search.created_at > budget:
            self._stop_all("stopped", f"the search's time budget ({budget:g} s) ran out")
            return self._finish_normally(f"time budget of {budget:g} s reached")
        self._fill()
        if not self.active and (self.started >= self.search.num_samples
                                or self.skips >= MAX_SKIPS):
            return self._finish_normally(None)
        return None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True

    # --------------------------------------------------------------- asking
    def _fill(self) -> None:
        while (len(self.active) < self.search.parallel and not self.stop_requested
               and self.started < self.search.num_samples and self.skips < MAX_SKIPS):
            trial = self.study.ask(self.distributions)
            params = typed_params(self.dims, trial.params)
            if self._skipped(params):
                self.skips += 1
                self._tell(trial.number, TrialState.FAIL)
                self._insert(trial.number, params, "skipped",
                             "in skip_search_params: not run")
                continue
            row_id, trial_id = self._insert(trial.number, params, "pending", None)
            self.started += 1
            self._start(row_id, trial.number, trial_id, params, trial)

    def _skipped(self, params: dict[str, Any]) -> bool:
        return any(all(params.get(k) == v for k, v in combo.items())
                   for combo in self.policy.skip_search_params or [])

    def _insert(self, number: int, params: dict[str, Any], status: str,
                message: str | None) -> tuple[int, str]:
        trial_id = uuid.uuid4().hex[:8]
        with self.db.session() as s:
            row = TrialRow(search_id=self.search.id, number=number, trial_id=trial_id,
                           params=params, status=status, values=[], steps=0, message=message,
                           earlystop_requested=False, created_at=time.time(),
                           ended_at=time.time() if status in FINAL_TRIAL else None)
            s.add(row)
            s.flush()
            return row.id, trial_id

    def _start(self, row_id: int, number: int, trial_id: str, params: dict[str, Any],
               trial: optuna.trial.Trial) -> None:
        body = trial_body(self.search, number, params)
        try:
            record = self.jobs.create(self.project, body)
        except (SpecError, ServiceError, ValueError, OSError) as exc:
            message = f"could not create the trial's job: {getattr(exc, 'message', exc)}"
            self._tell(number, TrialState.FAIL)
            self._update(row_id, status="failed", message=message, ended_at=time.time())
            self._event(f"Trial {number} ({trial_id}) failed: {message}", EventLevel.WARNING)
            return
        self._attach(row_id, number, trial_id, record["metadata"]["id"], trial)
        self._update(row_id, job_id=record["metadata"]["id"], status="running",
                     started_at=time.time())
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        self._event(f"Trial {number} ({trial_id}) started as job {body['metadata']['name']} "
                    f"({record['metadata']['id'][:8]}): {shown}")

    def _attach(self, row_id: int, number: int, trial_id: str, job_id: str,
                trial: optuna.trial.Trial, status: str = "running") -> Active:
        with self.db.session() as s:
            job = s.get(JobRow, job_id)
        log = JobFolder(Path(job.job_dir if job else self.job_dir)).log_file(job_id, 0)
        active = Active(row_id, number, trial_id, job_id, log,
                        Path(job.job_dir) if job else self.job_dir, trial,
                        LogScanner(self.policy.reward_attrs), status=status)
        self.active[number] = active
        return active

    # -------------------------------------------------------------- watching
    def _watch(self) -> None:
        self.ticks += 1
        refresh = self.ticks % REFRESH_EVERY == 0 or self.woken
        for a in list(self.active.values()):
            self._watch_one(a, refresh)

    def _watch_one(self, a: Active, refresh: bool = True) -> None:
        """Reads the trial's new log lines (every tick) and, on refresh ticks, its job's
        state and any early-stop request."""
        job: JobRow | None = None
        trial_row: TrialRow | None = None
        if refresh:
            with self.db.session() as s:
                job_exists = s.get(JobRow, a.job_id) is not None
                trial_row = s.get(TrialRow, a.row_id)
            if not job_exists:
                self._conclude(a, None)
                return
            self.jobs.refresh(a.job_id)
            with self.db.session() as s:
                job = s.get(JobRow, a.job_id)
            assert job is not None
        final = job is not None and Phase(job.phase).is_final
        points = a.scanner.scan_file(a.log, final=final)[self.objective.name]
        if points:
            self._record_points(a, points)
        requested = trial_row is not None and trial_row.earlystop_requested
        if a.status == "running" and requested:
            self._early_stop(a, "stopped early on request (autosearch-trial-earlystop)",
                             stop_job=False)
        elif a.status == "running" and points and not final and a.trial.should_prune():
            last = a.values[-1]
            self._early_stop(a, f"stopped early at step {int(last[0])} "
                             f"({self.objective.name}={last[1]:g}): the "
                             f"{self._pruner_name()} pruner judged it cannot beat the others",
                             stop_job=True)
        if final and job is not None:
            self._conclude(a, job)

    def _record_points(self, a: Active, points: list[Point]) -> None:
        for p in points:
            a.values.append([p.step, p.value])
            if a.status == "running" and p.step > a.reported:
                with contextlib.suppress(RuntimeError, ValueError):
                    a.trial.report(p.value, p.step)
                a.reported = p.step
        sign = 1 if self.objective.mode is Mode.MAX else -1
        best = max((v for _, v in a.values), key=lambda v: sign * v)
        self._update(a.row_id, values=a.values, steps=len(a.values), best_value=best)

    def _pruner_name(self) -> str:
        es = self.policy.early_stopping
        return es.type.value if es else "none"

    def _early_stop(self, a: Active, message: str, stop_job: bool) -> None:
        a.status = "early_stopped"
        self._tell(a.number, TrialState.PRUNED)
        self._update(a.row_id, status="early_stopped", message=message)
        if stop_job:
            with contextlib.suppress(ServiceError):
                self.jobs.stop(self.project, a.job_id)
        self._event(f"Trial {a.number} ({a.trial_id}) {message}")

    def _conclude(self, a: Active, job: JobRow | None) -> None:
        """The trial's job has ended (or vanished): record the trial's result."""
        del self.active[a.number]
        now = time.time()
        if a.status in ("early_stopped", "stopped"):
            self._update(a.row_id, ended_at=now)
            return
        points = a.scanner.points[self.objective.name]
        phase = Phase(job.phase) if job is not None else Phase.FAILED
        label = f"Trial {a.number} ({a.trial_id})"
        if job is None:
            self._tell(a.number, TrialState.FAIL)
            self._update(a.row_id, status="failed", ended_at=now,
                         message="the trial's job was deleted")
            self._event(f"{label} failed: its job was deleted", EventLevel.WARNING)
        elif phase == Phase.COMPLETED and not points:
            regex = self.objective.regex or self.objective.pattern.pattern
            message = (f"metric not found: no line of the log matched the regex of "
                       f"{self.objective.name!r} ({regex})")
            self._tell(a.number, TrialState.FAIL)
            self._update(a.row_id, status="metric_not_found", ended_at=now, message=message)
            self._event(f"{label} {message}", EventLevel.WARNING)
            with self.db.session() as s:
                s.add(EventRow(job_id=a.job_id, time=now, level=EventLevel.WARNING.value,
                               source=EventSource.PLATFORM.value,
                               message=f"Automatic search: {message}"))
        elif phase == Phase.COMPLETED:
            value = trial_value(points, self.objective.mode, self.policy.trial_result)
            assert value is not None
            before = self._best_value()
            self._tell(a.number, TrialState.COMPLETE, value)
            self._update(a.row_id, status="completed", value=value, ended_at=now)
            sign = 1 if self.objective.mode is Mode.MAX else -1
            best = before is None or sign * value > sign * before
            self._event(f"{label} completed: {self.objective.name}={value:g}"
                        + (" (new best)" if best else ""))
        elif phase == Phase.TERMINATED:
            self._tell(a.number, TrialState.PRUNED if a.reported else TrialState.FAIL)
            self._update(a.row_id, status="early_stopped", ended_at=now,
                         message="the trial's job was stopped")
            self._event(f"{label} was stopped", EventLevel.WARNING)
        else:
            why = (job.message if job is not None else None) or phase.value.lower()
            self._tell(a.number, TrialState.FAIL)
            self._update(a.row_id, status="failed", ended_at=now,
                         message=f"the trial's job {phase.value.lower()}: {why}")
            self._event(f"{label} failed: {why}; the search goes on", EventLevel.WARNING)

    def _stop_all(self, status: str, message: str) -> int:
        n = 0
        for a in list(self.active.values()):
            n += 1
            if a.status == "running":
                self._tell(a.number, TrialState.PRUNED if a.reported else TrialState.FAIL)
                self._update(a.row_id, status=status, message=message)
                a.status = status
            with contextlib.suppress(ServiceError):
                self.jobs.stop(self.project, a.job_id)
            self._update(a.row_id, ended_at=time.time())
            del self.active[a.number]
        return n

    # ---------------------------------------------------------------- resume
    def _reattach(self) -> None:
        """Continues from what the database says (a previous driver may have died at any
        point): unrecorded asks get a row, rows without a job get their job (found by its
        annotation if it was created, else created now), running jobs are watched again."""
        with self.db.session() as s:
            rows = list(s.scalars(select(TrialRow).where(TrialRow.search_id == self.search.id)
                                  .order_by(TrialRow.number)))
        frozen = {t.number: t for t in self.study.get_trials(deepcopy=False)}
        numbers = {r.number for r in rows}
        for t in frozen.values():
            if t.state == TrialState.RUNNING and t.number not in numbers:
                self._insert(t.number, typed_params(self.dims, t.params), "pending", None)
        with self.db.session() as s:
            rows = list(s.scalars(select(TrialRow).where(TrialRow.search_id == self.search.id)
                                  .order_by(TrialRow.number)))
        self.started = len([r for r in rows if r.status != "skipped"])
        self.skips = len([r for r in rows if r.status == "skipped"])
        for r in rows:
            if r.status in FINAL_TRIAL and r.ended_at is not None:
                continue
            ft = frozen.get(r.number) or self.study.get_trials(deepcopy=False)[r.number]
            handle = optuna.trial.Trial(self.study, ft._trial_id)
            if r.job_id is None:
                job_id = self._find_job(r.number)
                if job_id is None:
                    self._start(r.id, r.number, r.trial_id, r.params, handle)
                    continue
                self._update(r.id, job_id=job_id, status="running",
                             started_at=r.started_at or time.time())
                r.job_id, r.status = job_id, "running"
            status = r.status if r.status in ("early_stopped", "stopped") else "running"
            if ft.state == TrialState.PRUNED and status == "running":
                status = "early_stopped"
            a = self._attach(r.id, r.number, r.trial_id, r.job_id, handle, status)
            a.reported = max(ft.intermediate_values, default=0)
        if rows:
            self._event(f"Search driver attached: {self.started} trials so far, "
                        f"{len(self.active)} still running")

    def _find_job(self, number: int) -> str | None:
        with self.db.session() as s:
            candidates = list(s.scalars(select(JobRow).where(
                JobRow.name == trial_name(self.search.name, number),
                JobRow.created_at >= self.search.created_at)))
        for job in candidates:
            annotations = (job.body.get("metadata") or {}).get("annotations") or {}
            if annotations.get(SEARCH_ANNOTATION) == self.search.id:
                return job.id
        return None

    # --------------------------------------------------------------- finishing
    def _best_value(self) -> float | None:
        with self.db.session() as s:
            values = [v for v in s.scalars(select(TrialRow.value).where(
                TrialRow.search_id == self.search.id, TrialRow.status == "completed"))
                if v is not None]
        if not values:
            return None
        return max(values) if self.objective.mode is Mode.MAX else min(values)

    def _finish_normally(self, why: str | None) -> int:
        with self.db.session() as s:
            rows = list(s.scalars(select(TrialRow).where(TrialRow.search_id == self.search.id)))
        done = [r for r in rows if r.status == "completed" and r.value is not None]
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        tally = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
        if not done:
            return self._finish(Phase.FAILED, f"no trial reported {self.objective.name} "
                                f"({tally})" + (f"; {why}" if why else ""))
        sign = 1 if self.objective.mode is Mode.MAX else -1
        best = max(done, key=lambda r: sign * (r.value or 0.0))
        shown = ", ".join(f"{k}={v}" for k, v in best.params.items())
        return self._finish(Phase.COMPLETED,
                            f"best trial {best.number} ({best.trial_id}): "
                            f"{self.objective.name}={best.value:g} with {shown} ({tally})"
                            + (f"; {why}" if why else ""))

    def _finish(self, phase: Phase, message: str) -> int:
        best = self._best_row()
        now = time.time()
        with self.db.session() as s:
            row = s.get(SearchRow, self.search.id)
            if row is not None:
                row.state, row.message, row.ended_at, row.updated_at = (
                    phase.value, message, now, now)
                if best is not None:
                    row.best_trial, row.best_value = best.number, best.value
        level = EventLevel.INFO if phase == Phase.COMPLETED else (
            EventLevel.WARNING if phase == Phase.TERMINATED else EventLevel.ERROR)
        self._event(f"Search {phase.value.lower()}: {message}", level)
        self._state(phase, message=message, ended_at=now,
                    exit_code=0 if phase == Phase.COMPLETED else 1)
        return 0

    def _best_row(self) -> TrialRow | None:
        with self.db.session() as s:
            rows = [r for r in s.scalars(select(TrialRow).where(
                TrialRow.search_id == self.search.id, TrialRow.status == "completed"))
                if r.value is not None]
        if not rows:
            return None
        sign = 1 if self.objective.mode is Mode.MAX else -1
        return max(rows, key=lambda r: sign * (r.value or 0.0))

    # ---------------------------------------------------------------- helpers
    def _tell(self, number: int, state: TrialState, value: float | None = None) -> None:
        """Tells Optuna once; a trial an earlier driver already told is left as it is."""
        try:
            if state == TrialState.COMPLETE:
                self.study.tell(number, value)
            else:
                self.study.tell(number, state=state)
        except (RuntimeError, ValueError) as exc:
            print(f"tell trial {number}: {exc}", flush=True)

    def _update(self, row_id: int, **values: Any) -> None:
        with self.db.session() as s:
            row = s.get(TrialRow, row_id)
            if row is not None:
                for k, v in values.items():
                    setattr(row, k, v)

    def _event(self, message: str, level: EventLevel = EventLevel.INFO) -> None:
        self.folder.append_event(RuntimeEvent(message=message, level=level,
                                              source=EventSource.JOB))

    def _state(self, phase: Phase, message: str = "", ended_at: float | None = None,
               exit_code: int | None = None) -> None:
        self.folder.write_state(RuntimeState(
            phase=phase, started_at=self.search.created_at, ended_at=ended_at, exit_code=exit_code,
            message=message, reason=_REASONS.get(phase)))


_REASONS = {Phase.COMPLETED: "completed", Phase.FAILED: "exit_code",
            Phase.TERMINATED: "stopped"}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m modelyard.service.search.driver <job folder>", file=sys.stderr)
        return 2
    job_dir = Path(argv[1]).resolve()
    lock = (job_dir / "driver.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("another driver runs this search; exiting", flush=True)
        return 0
    from modelyard.service.app import Service
    from modelyard.settings import Settings

    service = Service(Settings())
    try:
        return Driver(service, job_dir.name, job_dir).run()
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush()
        return 1
    finally:
        service.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))

