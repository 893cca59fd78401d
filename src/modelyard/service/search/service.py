"""Automatic search in the control plane: create a search, show it and its trials, stop a
trial early, analyse parameters, resume a search whose driver died.

A search is a training job (the parent, a ``jobs`` row with ``executor='search'`` that the
scheduler never starts) whose job folder is written by a detached driver process
(``python -m modelyard.service.search.driver <job folder>``), as a runtime writes a job's
folder: ``state.json``, ``events.jsonl``. So the parent shows in the job list with its phase,
``modelyard job stop`` stops it (the executor's ``stop.json``, which the driver obeys by
stopping its trials), and the server may restart at any time. The driver's pid is kept in
``driver.pid`` and watched here: a dead driver is resumed on the next read of the search.
Trials are ordinary training jobs that the driver creates through ``JobService.create``.

A job becomes a search when its ``algorithm.policies`` has ``auto_search`` (even ``{}``, which
takes the algorithm's policy): as on ModelArts, an algorithm that supports search still
runs plain jobs unless the job asks for the search.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from modelyard.runtime import procs
from modelyard.runtime.state import (
    STOP_FILE,
    JobFolder,
    RuntimeEvent,
    RuntimeState,
)
from modelyard.service.catalog import flavor
from modelyard.service.errors import Conflict, NotFound
from modelyard.service.records import ms
from modelyard.settings import Settings
from modelyard.spec.algorithm import Algorithm
from modelyard.spec.autosearch import (
    AutoSearch,
    Dimension,
    algorithm_catalogue,
    merge_policies,
    parse_auto_search,
    resolve_search,
)
from modelyard.spec.errors import SpecError
from modelyard.spec.job import TrainingJob
from modelyard.spec.parameters import Constraint
from modelyard.spec.plan import RunPlan
from modelyard.spec.status import EventLevel, EventSource, Phase
from modelyard.store.db import Database
from modelyard.store.models import AlgorithmRow, EventRow, JobRow
from modelyard.store.search_models import SearchRow, TrialRow

DRIVER_OUT = "driver.out"
DRIVER_PID = "driver.pid"
MAX_AUTO_RESUMES = 3
SEARCH_ANNOTATION = "modelyard/search"
TRIAL_ANNOTATION = "modelyard/trial"
FINAL_TRIAL = {"completed", "failed", "metric_not_found", "early_stopped", "stopped",
               "skipped"}
# Annotations that make the job service restart a job; they apply to trials, not to the
# search itself (its driver resumes instead).
_PARENT_DROPS = ("fault-tolerance/",)

_children: dict[int, subprocess.Popen[bytes]] = {}


def wants_search(job: TrainingJob) -> bool:
    policies = job.algorithm.policies or {}
    return "auto_search" in policies and policies["auto_search"] is not False


def trial_name(search_name: str, number: int) -> str:
    suffix = f"-trial-{number}"
    return search_name[:64 - len(suffix)] + suffix


def trial_outputs(template: dict[str, Any], number: int) -> list[dict[str, Any]]:
    """Each trial writes under its own sub-prefix (docs/contract.md: one output location serves
    one unfinished job)."""
    out = []
    for o in (template.get("algorithm") or {}).get("outputs") or []:
        url = o["remote"]["obs"]["obs_url"]
        item = json.loads(json.dumps(o))
        item["remote"]["obs"]["obs_url"] = url.rstrip("/") + f"/trial-{number}/"
        out.append(item)
    return out


def trial_body(search: SearchRow, number: int, params: dict[str, Any]) -> dict[str, Any]:
    """The training job of one trial: the search's job with the sampled hyperparameters."""
    body = json.loads(json.dumps(search.template))
    meta = body.setdefault("metadata", {})
    meta["name"] = trial_name(search.name, number)
    meta["description"] = f"Trial {number} of search {search.name}"
    meta["annotations"] = {**(meta.get("annotations") or {}),
                           SEARCH_ANNOTATION: search.id, TRIAL_ANNOTATION: str(number)}
    algo = body.setdefault("algorithm", {})
    given = list(algo.get("parameters") or [])
    names = [p["name"] for p in given]
    for name, value in params.items():
        if name in names:
            given[names.index(name)] = {**given[names.index(name)], "value": value}
        else:
            given.append({"name": name, "value": value})
    algo["parameters"] = given
    algo["outputs"] = trial_outputs(search.template, number)
    algo.pop("policies", None)
    return body


def dims_of(search: SearchRow) -> list[Dimension]:
    return [Dimension(**{**d, "choices": tuple(d.get("choices") or ())})
            for d in search.dimensions]


class SearchService:
    def __init__(self, settings: Settings, db: Database, jobs: Any) -> None:
        self.settings = settings
        self.db = db
        self.jobs = jobs  # JobService

    # ------------------------------------------------------------------ create
    def hook(self, project: str, data: dict[str, Any], job: TrainingJob,
             algorithm_row: AlgorithmRow | None, algorithm: Algorithm | None,
             plan: RunPlan) -> dict[str, Any] | None:
        """Called by JobService.create once the job is valid: a job that asks for a search
        becomes one (its record is returned); any other job is left alone (None)."""
        if not wants_search(job):
            return None
        return self.create(project, job, algorithm_row, algorithm, plan)

    def create(self, project: str, job: TrainingJob, algorithm_row: AlgorithmRow | None,
               algorithm: Algorithm | None, plan: RunPlan) -> dict[str, Any]:
        field = "algorithm.policies.auto_search"
        job_policy = (job.algorithm.policies or {}).get("auto_search") or {}
        algo_policy = ((algorithm.policies or {}).get("auto_search")
                       if algorithm is not None else None)
        if not job_policy and not algo_policy:
            raise SpecError(field, {}, "the job asks for a search but neither it nor its "
                            "algorithm defines one (reward_attrs, search_params, algo_configs)")
        search = parse_auto_search(merge_policies(algo_policy, job_policy), field)
        hyperparameters: dict[str, Constraint | None]
        if algorithm is not None:
            hyperparameters = {p.name: p.constraint for p in algorithm.job_config.parameters}
        else:
            hyperparameters = {p.name: p.constraint for p in job.algorithm.parameters}
        dims = resolve_search(search, hyperparameters, field)
        num_samples = self._num_samples(search, dims, field)
        # What every trial would be refused for, refuse once, now.
        size = flavor(self.settings, job.spec.resource.flavor_id)
        self.jobs._check_fits_node(size.flavor_id, size.cpus, size.memory_gb, size.gpus)
        self.jobs.mounts(project, job.spec.volumes)
        job_id = str(uuid.uuid4())
        now = time.time()
        body = job.model_dump(mode="json", exclude_none=True, exclude={"status"})
        template = json.loads(json.dumps(body))
        template["algorithm"].pop("policies", None)
        parent_body = json.loads(json.dumps(body))
        annotations = parent_body.get("metadata", {}).get("annotations") or {}
        for key in list(annotations):
            if key.startswith(_PARENT_DROPS):
                del annotations[key]
        job_dir = self.settings.jobs_root / job_id
        parent_plan = plan.model_copy(update={
            "job_id": job_id, "project_id": project, "outputs": [], "cpus": 0,
            "memory_gb": 0.0, "gpus": 0,
        })
        row = JobRow(
            id=job_id, project_id=project, name=job.metadata.name,
            description=job.metadata.description,
            algorithm_id=algorithm_row.id if algorithm_row else None,
            algorithm_name=algorithm_row.name if algorithm_row else None,
            body=parent_body, plan=parent_plan.model_dump(mode="json"),
            phase=Phase.RUNNING.value, secondary_phase=None,
            priority=(job.spec.schedule_policy.priority if job.spec.schedule_policy else 1),
            executor="search", job_dir=str(job_dir), events_offset=0,
            created_at=now, updated_at=now, started_at=now, cpus=0, memory_gb=0.0, gpus=0,
            attempt=0, running_records=[{"start_at": ms(now), "start_type": "init"}],
        )
        algo = search.algorithm.name
        search_row = SearchRow(
            id=job_id, project_id=project, name=job.metadata.name,
            policy=search.model_dump(mode="json", exclude_none=True),
            dimensions=[_dim_json(d) for d in dims], template=template, algorithm=algo,
            direction=search.objective.mode.value, num_samples=num_samples,
            parallel=search.parallel_trials, state=Phase.RUNNING.value, journal_len=0,
            resumes=0, created_at=now, updated_at=now,
        )
        with self.db.session() as s:
            self.jobs._check_outputs_free(s, plan)  # the trials' sub-prefixes live under it
            s.add(row)
            s.flush()
            s.add(search_row)
            direction = "maximizing" if search.objective.mode.value == "max" else "minimizing"
            s.add(_event(job_id, f"Search {job.metadata.name} created: {algo}, {num_samples} "
                         f"trials, {search.parallel_trials} in parallel, {direction} "
                         f"{search.objective.name}"))
        from modelyard.service.search.journal import open_study

        open_study(self.db, job_id, search, dims)  # so readers find the study at once
        self._launch(search_row, job_dir)
        return self.get(project, job_id)

    @staticmethod
    def _num_samples(search: AutoSearch, dims: list[Dimension], field: str) -> int:
        from modelyard.service.search.algorithms import make_algorithm

        algorithm = make_algorithm(search.algorithm.name, search.algo_params())
        if search.algorithm.name == "cmaes_search":
            try:
                import cmaes  # noqa: F401
            except ImportError:
                raise SpecError(f"{field}.algo_configs[0].name", "cmaes_search",
                                "cmaes_search needs the cmaes package (pip install cmaes)"
                                ) from None
        n = search.num_samples
        cap = algorithm.capacity(dims)
        if cap is not None and (n == 0 or n > cap):
            n = cap
        return n

    # -------------------------------------------------------------- the driver
    def _launch(self, search: SearchRow, job_dir: Path) -> None:
        """Starts the driver in its own session (it outlives this process), records its pid
        and writes the first state."""
        job_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        for name, value in self.settings.model_dump().items():
            if isinstance(value, str | int | float | bool | Path):
                env[f"MODELYARD_{name.upper()}"] = str(value)
        with open(job_dir / DRIVER_OUT, "ab") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", "modelyard.service.search.driver", str(job_dir)],
                cwd=job_dir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True, close_fds=True)
        _children[child.pid] = child
        start = procs.start_time(child.pid)
        write_pid(job_dir, child.pid, start)
        folder = JobFolder(job_dir)
        if folder.read_state() is None or not _state_is_live(folder.read_state()):
            folder.write_state(RuntimeState(phase=Phase.RUNNING, started_at=time.time()))
        with self.db.session() as s:
            s.execute(update(SearchRow).where(SearchRow.id == search.id)
                      .values(driver_pid=child.pid, updated_at=time.time()))

    def driver_alive(self, search: SearchRow) -> bool:
        _reap()
        try:
            info = json.loads((self.settings.jobs_root / search.id / DRIVER_PID).read_text())
            return procs.is_alive(int(info["pid"]), info.get("start_time"))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return False

    def resume(self, project: str, search_id: str, automatic: bool = False) -> dict[str, Any]:
        """Starts a new driver for a search whose driver died; it re-attaches to running
        trials and goes on (nothing is lost or repeated: trials and jobs are in the DB)."""
        search = self._search(project, search_id)
        if search.state != Phase.RUNNING.value:
            raise Conflict(f"search {search_id} is {search.state}; only a running search "
                           "resumes")
        if self.driver_alive(search):
            return self.get(project, search_id)
        job_dir = self.settings.jobs_root / search_id
        with self.db.session() as s:
            parent = s.get(JobRow, search_id)
            if parent is None:
                raise NotFound("search", search_id)
            stopped = (parent.phase in (Phase.TERMINATING.value, Phase.TERMINATED.value)
                       or (job_dir / STOP_FILE).exists())
        if stopped:
            self._end_orphan(search, "the search was stopped")
            raise Conflict(f"search {search_id} was stopped")
        with self.db.session() as s:
            parent = s.get(JobRow, search_id)
            assert parent is not None
            parent.phase, parent.secondary_phase = Phase.RUNNING.value, None
            parent.ended_at, parent.updated_at = None, time.time()
            parent.message = None
            fresh = s.get(SearchRow, search_id)
            assert fresh is not None
            fresh.resumes += 1
            s.add(_event(search_id, "Search driver resumed" + (
                " after it stopped unexpectedly" if automatic else ""),
                EventSource.PLATFORM, EventLevel.WARNING if automatic else EventLevel.INFO))
        folder = JobFolder(job_dir)
        folder.write_state(RuntimeState(phase=Phase.RUNNING, started_at=time.time()))
        # Events the dead driver appended are already folded; keep the offset.
        self._launch(search, job_dir)
        return self.get(project, search_id)

    def ensure_driver(self, search: SearchRow) -> None:
        """A running search whose driver is gone (machine restart, kill -9) is resumed the
        next time anyone looks at it, a few times at most."""
        if search.state != Phase.RUNNING.value or self.driver_alive(search):
            return
        if search.resumes >= MAX_AUTO_RESUMES:
            self._fail(search.id, f"the search driver stopped unexpectedly {search.resumes + 1}"
                       " times; see driver.out in the job folder, then `modelyard search "
                       "resume`")
            return
        with contextlib.suppress(Conflict, NotFound):
            self.resume(search.project_id, search.id, automatic=True)

    def _end_orphan(self, search: SearchRow, message: str) -> None:
        """A search stopped while its driver was gone: stop its trials and end it, as the
        driver would have."""
        now = time.time()
        for t in self.trials_rows(search.id):
            if t.status in FINAL_TRIAL and t.ended_at is not None:
                continue
            if t.job_id:
                with contextlib.suppress(Conflict, NotFound):
                    self.jobs.stop(search.project_id, t.job_id)
            with self.db.session() as s:
                fresh_trial = s.get(TrialRow, t.id)
                if fresh_trial is not None:
                    if fresh_trial.status not in FINAL_TRIAL:
                        fresh_trial.status, fresh_trial.message = "stopped", message
                    fresh_trial.ended_at = now
        with self.db.session() as s:
            fresh = s.get(SearchRow, search.id)
            if fresh is not None:
                fresh.state, fresh.message, fresh.ended_at = Phase.TERMINATED.value, message, now
        JobFolder(self.settings.jobs_root / search.id).write_state(
            RuntimeState(phase=Phase.TERMINATED, message=message, ended_at=now,
                         reason="stopped"))
        self.jobs.refresh(search.id)
        with self.db.session() as s:  # the executor may have called the dead driver lost
            parent = s.get(JobRow, search.id)
            if parent is not None and parent.phase != Phase.TERMINATED.value:
                parent.phase, parent.secondary_phase = Phase.TERMINATED.value, None
                parent.message, parent.ended_at, parent.updated_at = message, now, now
                s.add(_event(search.id, f"Job terminated: {message}", EventSource.JOB,
                             EventLevel.WARNING))

    def _fail(self, search_id: str, message: str) -> None:
        now = time.time()
        with self.db.session() as s:
            fresh = s.get(SearchRow, search_id)
            if fresh is not None:
                fresh.state, fresh.message, fresh.ended_at = Phase.FAILED.value, message, now
        folder = JobFolder(self.settings.jobs_root / search_id)
        folder.write_state(RuntimeState(phase=Phase.FAILED, message=message, ended_at=now))
        self.jobs.refresh(search_id)

    def reconcile(self) -> None:
        """For a server start: resume every running search whose driver is gone."""
        with self.db.session() as s:
            rows = list(s.scalars(select(SearchRow).where(
                SearchRow.state == Phase.RUNNING.value)))
        for row in rows:
            self.ensure_driver(row)

    # ------------------------------------------------------------------- read
    def _search(self, project: str, search_id: str) -> SearchRow:
        with self.db.session() as s:
            row = s.get(SearchRow, search_id)
            parent = s.get(JobRow, search_id)
            if row is not None and parent is None:
                s.delete(row)  # its job was deleted: so is the search (trials, study)
        if row is None or parent is None or row.project_id != project:
            raise NotFound("search", search_id)
        return row

    def is_search(self, search_id: str) -> bool:
        with self.db.session() as s:
            return s.get(SearchRow, search_id) is not None

    def trials_rows(self, search_id: str) -> list[TrialRow]:
        with self.db.session() as s:
            return list(s.scalars(select(TrialRow).where(TrialRow.search_id == search_id)
                                  .order_by(TrialRow.number)))

    def get(self, project: str, search_id: str) -> dict[str, Any]:
        """The parent job's record with ``status.autosearch``: progress, best trial, its
        hyperparameters and outputs."""
        search = self._search(project, search_id)
        self.ensure_driver(search)
        record: dict[str, Any] = self.jobs.get(project, search_id)
        search = self._search(project, search_id)
        record["status"]["autosearch"] = self.summary(search)
        return record

    def summary(self, search: SearchRow) -> dict[str, Any]:
        trials = self.trials_rows(search.id)
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.status] = counts.get(t.status, 0) + 1
        out: dict[str, Any] = {
            "state": search.state, "algorithm": search.algorithm,
            "reward_attr": (search.policy.get("reward_attrs") or [{}])[0].get("name"),
            "mode": search.direction, "num_samples": search.num_samples,
            "parallel_trials": search.parallel,
            "trials_started": len([t for t in trials if t.status != "skipped"]),
            "trial_counts": counts, "message": search.message, "resumes": search.resumes,
            "best_trial": None,
        }
        best = self._best(search, trials)
        if best is not None:
            out["best_trial"] = self.trial_record(search, best)
        return out

    @staticmethod
    def _best(search: SearchRow, trials: list[TrialRow]) -> TrialRow | None:
        done = [t for t in trials if t.status == "completed" and t.value is not None]
        if not done:
            return None
        pick = max if search.direction == "max" else min
        return pick(done, key=lambda t: t.value or 0.0)

    def trial_record(self, search: SearchRow, t: TrialRow,
                     with_values: bool = False) -> dict[str, Any]:
        end = t.ended_at or (None if t.status in FINAL_TRIAL else time.time())
        rec: dict[str, Any] = {
            "trial_id": t.trial_id, "number": t.number, "status": t.status,
            "job_id": t.job_id, "job_name": trial_name(search.name, t.number),
            "params": t.params, "value": t.value, "best_value": t.best_value,
            "steps": t.steps, "message": t.message, "start_time": ms(t.started_at),
            "end_time": ms(t.ended_at),
            "duration": int((end - t.started_at) * 1000) if t.started_at and end else 0,
            "outputs": [{"name": o["name"], "obs_url": o["remote"]["obs"]["obs_url"]}
                        for o in trial_outputs(search.template, t.number)],
        }
        if with_values:
            rec["values"] = t.values
        return rec

    def _trial(self, project: str, search_id: str, trial_id: str) -> tuple[SearchRow, TrialRow]:
        search = self._search(project, search_id)
        for t in self.trials_rows(search_id):
            if t.trial_id == trial_id or str(t.number) == trial_id:
                return search, t
        raise NotFound("trial", trial_id)

    def list_trials(self, project: str, search_id: str, offset: int = 0,
                    limit: int = 50) -> dict[str, Any]:
        """ModelArts' shape (``items.header`` + ``items.data``, one row per trial) plus
        ``trials``, the same as objects."""
        search = self._search(project, search_id)
        self.ensure_driver(search)
        trials = self.trials_rows(search_id)
        page = trials[offset:offset + limit]
        reward = (search.policy.get("reward_attrs") or [{}])[0].get("name") or "reward"
        header = ["trial_id", "done", "status", "config", "reward_attr", reward,
                  "best_reward", "training_iteration", "time_total_s", "job_id"]
        data = []
        records = []
        for t in page:
            rec = self.trial_record(search, t)
            records.append(rec)
            data.append([t.trial_id, str(t.status in FINAL_TRIAL), t.status, t.params,
                         reward, _text(t.value), _text(t.best_value), str(t.steps),
                         f"{rec['duration'] / 1000:.1f}", t.job_id or ""])
        return {"total": len(trials), "count": len(page), "limit": limit, "offset": offset,
                "group_by": "trial_id", "items": {"header": header, "data": data},
                "trials": records}

    def get_trial(self, project: str, search_id: str, trial_id: str) -> dict[str, Any]:
        """One trial, one row per metric step (as ModelArts shows a trial's iterations)."""
        search, t = self._trial(project, search_id, trial_id)
        reward = (search.policy.get("reward_attrs") or [{}])[0].get("name") or "reward"
        header = ["done", "trial_id", "training_iteration", reward, "best_reward",
                  "reward_attr", "config", "status"]
        data = []
        best: float | None = None
        sign = 1 if search.direction == "max" else -1
        for i, (step, value) in enumerate(t.values or []):
            best = value if best is None or sign * value > sign * best else best
            last = i == len(t.values) - 1
            data.append([str(last and t.status in FINAL_TRIAL), t.trial_id, str(step),
                         _text(value), _text(best), reward, t.params, t.status])
        return {"header": header, "data": data,
                "trial": self.trial_record(search, t, with_values=True)}

    # ------------------------------------------------------------------ act
    def earlystop(self, project: str, search_id: str, trial_id: str) -> dict[str, Any]:
        """Stops a running trial early (as a pruner would); the driver records it as
        early-stopped and the search goes on."""
        _, t = self._trial(project, search_id, trial_id)
        if t.status in FINAL_TRIAL:
            raise Conflict(f"trial {trial_id} is already {t.status}")
        with self.db.session() as s:
            fresh = s.get(TrialRow, t.id)
            if fresh is not None:
                fresh.earlystop_requested = True
            s.add(_event(search_id, f"Early stop of trial {t.number} ({t.trial_id}) requested",
                         EventSource.JOB, EventLevel.WARNING))
        if t.job_id:
            with contextlib.suppress(Conflict):  # it ended meanwhile: the driver records it
                self.jobs.stop(project, t.job_id)
        return {"earlystop_trial": t.trial_id}

    def parameter_analysis(self, project: str, search_id: str) -> dict[str, Any]:
        """How much each searched hyperparameter mattered (Optuna's fANOVA importance over
        the completed trials), with the best value seen for each."""
        import optuna

        from modelyard.service.search.journal import load_study

        search = self._search(project, search_id)
        study = load_study(self.db, search_id)
        done = [t for t in study.get_trials(deepcopy=False)
                if t.state == optuna.trial.TrialState.COMPLETE]
        importances: dict[str, float] = {}
        message = None
        if len(done) >= 2:
            try:
                importances = optuna.importance.get_param_importances(study)
            except (ImportError, RuntimeError, ValueError) as exc:
                try:
                    importances = optuna.importance.get_param_importances(
                        study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
                except Exception:
                    message = f"importance not available: {exc}"
        else:
            message = "parameter importance needs at least 2 completed trials"
        best = self._best(search, self.trials_rows(search_id))
        params = []
        for d in search.dimensions:
            params.append({
                "name": d["name"], "importance": importances.get(d["name"]),
                "best_value": best.params.get(d["name"]) if best else None,
                "type": d["kind"],
            })
        params.sort(key=lambda p: -(p["importance"] or 0.0))
        return {"search_params": params, "importance": importances,
                "completed_trials": len(done), "reward_attr":
                (search.policy.get("reward_attrs") or [{}])[0].get("name"),
                "message": message}

    @staticmethod
    def algorithms() -> dict[str, Any]:
        items = algorithm_catalogue()
        return {"search_algo_count": len(items), "search_algo_list": items}


def write_pid(job_dir: Path, pid: int, start: int | None) -> None:
    """The driver's pid in ``driver.pid``, deliberately not ``runtime.pid``: the executor
    would call a dead driver's search lost (Failed) and refuse to stop it, while the search
    service resumes it instead; stops reach the driver through ``stop.json``."""
    tmp = job_dir / f".{DRIVER_PID}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"pid": pid, "start_time": start}))
    os.replace(tmp, job_dir / DRIVER_PID)


def _state_is_live(state: RuntimeState | None) -> bool:
    return state is not None and not state.phase.is_final


def _reap() -> None:
    """Collects drivers this process started that have exited (no zombies)."""
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            del _children[pid]


def _dim_json(d: Dimension) -> dict[str, Any]:
    return {"name": d.name, "kind": d.kind, "low": d.low, "high": d.high, "log": d.log,
            "step": d.step, "choices": list(d.choices)}


def _text(v: float | None) -> str:
    return "" if v is None else f"{v:.6g}"


def _event(job_id: str, message: str, source: EventSource = EventSource.JOB,
           level: EventLevel = EventLevel.INFO) -> EventRow:
    return EventRow(job_id=job_id, time=time.time(), level=level.value, source=source.value,
                    message=message)


def append_event(job_dir: Path, message: str, level: EventLevel = EventLevel.INFO) -> None:
    JobFolder(job_dir).append_event(RuntimeEvent(message=message, level=level,
                                                 source=EventSource.JOB))
