"""Rows → the ModelArts v2 JSON shapes the API, CLI and SDK all show."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Row, bindparam, select

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


def ms(t: float | None) -> int | None:
    return None if t is None else int(t * 1000)


def algorithm_record(row: AlgorithmRow) -> dict[str, Any]:
    body = dict(row.body)
    meta = dict(body.get("metadata") or {})
    meta.update(id=row.id, name=row.name, workspace_id=row.project_id,
                create_time=ms(row.created_at), update_time=ms(row.updated_at))
    body["metadata"] = meta
    return body


def job_record(row: JobLike, queue_position: int | None = None) -> dict[str, Any]:
    body = dict(row.body)
    meta = dict(body.get("metadata") or {})
    meta.update(id=row.id, name=row.name, workspace_id=row.project_id,
                create_time=ms(row.created_at), update_time=ms(row.updated_at))
    body["metadata"] = meta
    algorithm = dict(body.get("algorithm") or {})
    if row.algorithm_id:
        algorithm.update(id=row.algorithm_id, name=row.algorithm_name)
    body["algorithm"] = algorithm
    body["kind"] = body.get("kind") or "job"
    body["status"] = job_status(row, queue_position)
    return body


def job_status(row: JobLike, queue_position: int | None = None) -> dict[str, Any]:
    end = row.ended_at or (None if Phase(row.phase).is_final else time.time())
    duration = int((end - row.started_at) * 1000) if row.started_at and end else 0
    status: dict[str, Any] = {
        "phase": row.phase,
        "secondary_phase": row.secondary_phase or row.phase,
        "duration": duration,
        "start_time": ms(row.started_at),
        "node_count_metrics": None,
        "tasks": ["worker-0"],
        "task_statuses": [
            {"task": "worker-0", "exit_code": row.exit_code, "message": row.message or ""}
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
    return status


def event_record(row: EventRow) -> dict[str, Any]:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row.time)),
        "timestamp": ms(row.time),
        "level": row.level,
        "source": row.source,
        "message": row.message,
    }
