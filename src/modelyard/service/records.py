"""Rows → the ModelArts v2 JSON shapes the API, CLI and SDK all show.

Each shape is a TypedDict: the record stays the plain dict the API serialises (its JSON is
the same byte for byte), while mypy checks every builder and reader against the keys. An
algorithm or job record is the stored body (the user's JSON, checked by the spec) with our
fields laid over it, so the keys that come from the body are typed as the body has them
and the rest of the body passes through untouched.
"""

from __future__ import annotations

import time
from typing import Any, NotRequired, cast

from sqlalchemy import Row, bindparam, select
from typing_extensions import TypedDict

from modelyard.spec.status import Phase
from modelyard.store.models import AlgorithmRow, EventRow, JobRow

JobLike = JobRow | Row[Any]
"""An ORM row, or a Core row of RECORD_COLUMNS: lists and searches use the latter (ten
times cheaper to build for a page of 50 than ORM rows, which the session tracks)."""

RECORD_COLUMNS = (
    JobRow.id, JobRow.project_id, JobRow.name, JobRow.algorithm_id, JobRow.algorithm_name,
    JobRow.body, JobRow.plan["flavor_id"].as_string().label("flavor_id"), JobRow.phase,
    JobRow.secondary_phase, JobRow.message,
    JobRow.exit_code, JobRow.created_at, JobRow.updated_at, JobRow.started_at, JobRow.ended_at,
    JobRow.cpus, JobRow.memory_gb, JobRow.gpus, JobRow.attempt, JobRow.running_records,
    JobRow.priority,
)
"""The columns a job record is built from (job_record, job_status). Of the plan only its
flavor is shown: the database extracts it, so a page does not decode 50 plans."""

ONE_JOB = select(*RECORD_COLUMNS).where(JobRow.id == bindparam("job_id"))
"""Built once: SQLAlchemy reuses a statement object's compiled form and result metadata
as they are; a new but equal statement per request costs five times the read itself."""


class RecordMetadata(TypedDict):
    """``metadata`` of an algorithm or job: ours over the body's (description, tags...)."""

    id: str
    name: str
    workspace_id: str
    create_time: int | None
    update_time: int | None
    description: NotRequired[str]


class AlgorithmRecord(TypedDict):
    """An algorithm as ModelArts shows it (``spec.algorithm.Algorithm``'s JSON + ids)."""

    metadata: RecordMetadata
    job_config: dict[str, Any]
    resource_requirements: NotRequired[list[dict[str, Any]]]
    advanced_config: NotRequired[dict[str, Any]]
    policies: NotRequired[dict[str, Any]]


class TaskStatus(TypedDict):
    task: str
    exit_code: int | None
    message: str


class JobResources(TypedDict):
    """What the scheduler reserved (ours): the flavor and its cores, memory and GPUs."""

    flavor_id: str | None
    cpus: float | None
    memory_gb: float | None
    gpus: int | None


class JobStatus(TypedDict):
    phase: str
    secondary_phase: str
    duration: int
    start_time: int | None
    node_count_metrics: None
    tasks: list[str]
    task_statuses: list[TaskStatus]
    message: NotRequired[str]
    queue_position: NotRequired[int]
    running_records: list[dict[str, Any]]
    attempt: int
    resource: JobResources


class JobRecord(TypedDict):
    """A training job as ModelArts shows it (``spec.job.TrainingJob``'s JSON + status)."""

    kind: str
    metadata: RecordMetadata
    algorithm: dict[str, Any]
    spec: NotRequired[dict[str, Any]]
    status: JobStatus


class JobPage(TypedDict):
    """ModelArts' envelope of a job search (``training-job-searches``)."""

    total: int
    count: int
    limit: int
    offset: int
    sort_by: str
    order: str
    group_by: str
    workspace_id: str
    items: list[JobRecord]


class EventRecord(TypedDict):
    time: str
    timestamp: int | None
    level: str
    source: str
    message: str


class LogPreviewRecord(TypedDict):
    """ModelArts' log preview: the last part of a task's log, and the log's sizes."""

    content: str
    current_size: int
    full_size: int


def ms(t: float | None) -> int | None:
    return None if t is None else int(t * 1000)


def _metadata(body: dict[str, Any], row: AlgorithmRow | JobLike) -> RecordMetadata:
    """The body's metadata with ours laid over it (the body's own keys are kept)."""
    meta = dict(body.get("metadata") or {})
    meta.update(id=row.id, name=row.name, workspace_id=row.project_id,
                create_time=ms(row.created_at), update_time=ms(row.updated_at))
    return cast(RecordMetadata, meta)


def algorithm_record(row: AlgorithmRow) -> AlgorithmRecord:
    """The stored body (``spec.algorithm.Algorithm`` dumped at create or update, so it has
    ``job_config``) with the row's ids and times."""
    body = dict(row.body)
    body["metadata"] = _metadata(body, row)
    return cast(AlgorithmRecord, body)


def job_record(row: JobLike, queue_position: int | None = None) -> JobRecord:
    body = dict(row.body)
    body["metadata"] = _metadata(body, row)
    algorithm = dict(body.get("algorithm") or {})
    if row.algorithm_id:
        algorithm.update(id=row.algorithm_id, name=row.algorithm_name)
    body["algorithm"] = algorithm
    body["kind"] = body.get("kind") or "job"
    body["status"] = job_status(row, queue_position)
    return cast(JobRecord, body)


def job_status(row: JobLike, queue_position: int | None = None) -> JobStatus:
    end = row.ended_at or (None if Phase(row.phase).is_final else time.time())
    duration = int((end - row.started_at) * 1000) if row.started_at and end else 0
    # Built in the order ModelArts shows the keys, with the optional message and queue
    # position before ours; a TypedDict literal cannot leave a gap, hence the cast below.
    status: dict[str, Any] = {
        "phase": row.phase,
        "secondary_phase": row.secondary_phase or row.phase,
        "duration": duration,
        "start_time": ms(row.started_at),
        "node_count_metrics": None,
        "tasks": (tasks := task_names(row.body)),
        # Per task, what the job as a whole ended with (the runtimes' combined state is
        # what the control plane keeps; each task's own words are in its log).
        "task_statuses": [
            {"task": task, "exit_code": row.exit_code, "message": row.message or ""}
            for task in tasks
        ],
    }
    if row.message:
        status["message"] = row.message
    if queue_position is not None:
        status["queue_position"] = queue_position
    status["running_records"] = row.running_records or []
    status["attempt"] = row.attempt
    flavor_id = row.plan.get("flavor_id") if isinstance(row, JobRow) else row.flavor_id
    # Whole cores stay integers (1, not 1.0); the shared flavor's share is a fraction.
    cpus = row.cpus if row.cpus % 1 else int(row.cpus)
    status["resource"] = {"flavor_id": flavor_id, "cpus": cpus,
                          "memory_gb": row.memory_gb, "gpus": row.gpus}
    return cast(JobStatus, status)


def task_names(body: dict[str, Any]) -> list[str]:
    """``worker-0`` … ``worker-<n-1>`` for a job of ``spec.resource.node_count`` nodes: the
    names its task logs go by (ModelArts' task ids)."""
    resource = (body.get("spec") or {}).get("resource") or {}
    try:
        count = max(1, int(resource.get("node_count") or 1))
    except (TypeError, ValueError):
        count = 1
    return [f"worker-{i}" for i in range(count)]


def event_record(row: EventRow) -> EventRecord:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row.time)),
        "timestamp": ms(row.time),
        "level": row.level,
        "source": row.source,
        "message": row.message,
    }
