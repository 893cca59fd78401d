"""``/v2/{project_id}/training-jobs`` and ``/training-job-searches``: create, show, update,
stop, delete, search, events, log preview, and our streaming log for ``-f``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelyard.api.dependencies import BodyDep, ProjectDep, ServiceDep, documented_body
from modelyard.api.schemas import (
    EventList,
    JobAction,
    JobList,
    JobOut,
    JobUpdate,
    LogPreview,
    errors,
)
from modelyard.runtime.state import read_log
from modelyard.service.errors import NotFound, ServiceError
from modelyard.service.job_listing import JobSearch, search_jobs
from modelyard.service.job_updates import update_job
from modelyard.service.records import JobPage, JobRecord, LogPreviewRecord
from modelyard.spec.errors import SpecError
from modelyard.spec.job import TrainingJob
from modelyard.spec.status import EventLevel, EventSource, Phase

router = APIRouter(prefix="/v2/{project_id}", tags=["training jobs"])

JOB = "/training-jobs/{training_job_id}"
STREAM_POLL = 0.5  # seconds between looks at a growing log
READ_SIZE = 1024 * 1024


@router.post("/training-jobs", status_code=201, response_model=JobOut, responses=errors(404, 409),
             openapi_extra=documented_body(TrainingJob, "A training job (ModelArts v2 shape)"),
             summary="Create a training job")
def create_job(project: ProjectDep, service: ServiceDep,
               body: BodyDep) -> JobRecord | dict[str, Any]:
    return service.jobs.create(project, body)


@router.post("/training-job-searches", response_model=JobList, responses=errors(),
             openapi_extra=documented_body(JobSearch, "offset, limit (1-50), sort_by, order, "
                                           "filters [{key, operator, value}]"),
             summary="Search training jobs")
def search(project: ProjectDep, service: ServiceDep, body: BodyDep) -> JobPage:
    return search_jobs(service, project, body)


@router.get(JOB, response_model=JobOut, responses=errors(404), summary="Show a training job")
async def show_job(project: ProjectDep, service: ServiceDep,
                   training_job_id: str) -> JobRecord:
    """The most frequent request (every client polls it). While the watcher runs it is one
    primary-key read of the table (SQLite in WAL mode: readers never wait for writers), done
    on the event loop because the hop to a thread costs more; otherwise it may fold the job
    folder in and start queued jobs, which runs in the threadpool. On PostgreSQL the read is
    a network round trip, which on the event loop would hold up every other request: it
    goes to the threadpool too."""
    if service.jobs.watched and service.db.is_sqlite:
        return service.jobs.get(project, training_job_id)
    return await run_in_threadpool(service.jobs.get, project, training_job_id)


@router.put(JOB, response_model=JobOut, responses=errors(404),
            openapi_extra=documented_body(JobUpdate, "description (or metadata.annotations)"),
            summary="Change a training job's description")
def change_job(project: ProjectDep, service: ServiceDep, training_job_id: str,
               body: BodyDep) -> JobRecord:
    return update_job(service, project, training_job_id, body)


@router.delete(JOB, status_code=202, response_class=Response,
               responses={**errors(404, 409), 202: {"description": "Deleted"}},
               summary="Delete a finished training job")
def delete_job(project: ProjectDep, service: ServiceDep, training_job_id: str) -> Response:
    service.jobs.delete(project, training_job_id)
    return Response(status_code=202)


@router.post(JOB + "/actions", response_model=JobOut, responses=errors(404, 409),
             summary="Act on a job: {\"action_type\": \"terminate\"} stops it")
def act(project: ProjectDep, service: ServiceDep, training_job_id: str,
        action: JobAction) -> JobRecord:
    if action.action_type != "terminate":
        raise SpecError("action_type", action.action_type, "the only action is 'terminate'")
    return service.jobs.stop(project, training_job_id)


@router.get(JOB + "/events", response_model=EventList, responses=errors(404),
            summary="A job's events")
def events(
    project: ProjectDep, service: ServiceDep, training_job_id: str,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    level: Annotated[EventLevel | None, Query()] = None,
    source: Annotated[EventSource | None, Query()] = None,
    pattern: Annotated[str | None, Query(max_length=256,
                                         description="Only messages containing this")] = None,
) -> dict[str, Any]:
    lvl, src = level.value if level else None, source.value if source else None
    if order == "asc" and not pattern:
        items, total = service.jobs.events(project, training_job_id, offset, limit, lvl, src)
    else:
        every, total = service.jobs.events(project, training_job_id, 0, 10**9, lvl, src)
        if pattern:
            every = [e for e in every if pattern.lower() in e["message"].lower()]
            total = len(every)
        if order == "desc":
            every.reverse()
        items = every[offset:offset + limit]
    return {"total": total, "limit": limit, "offset": offset, "order": order, "events": items}


def _task(service: Any, project: str, job_id: str, task: str) -> None:
    tasks = service.jobs.get(project, job_id)["status"].get("tasks") or ["worker-0"]
    if task not in tasks:
        raise NotFound("task", task)


@router.get(JOB + "/tasks/{task_id}/logs/preview", response_model=LogPreview,
            responses=errors(404), summary="The last part of a task's log")
def log_preview(project: ProjectDep, service: ServiceDep, training_job_id: str,
                task_id: str) -> LogPreviewRecord:
    _task(service, project, training_job_id, task_id)
    return service.jobs.log_preview(project, training_job_id, task_id)


@router.get(JOB + "/tasks/{task_id}/logs/stream", response_class=StreamingResponse,
            responses={**errors(404),
                       200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "The log from `offset`, chunked"}},
            summary="Stream a task's log (ours): with follow, until the job ends")
def log_stream(
    project: ProjectDep, service: ServiceDep, training_job_id: str, task_id: str,
    follow: bool = False,
    offset: Annotated[int, Query(ge=0, le=2**62, description="Byte to start at")] = 0,
) -> StreamingResponse:
    _task(service, project, training_job_id, task_id)

    async def chunks() -> AsyncIterator[bytes]:
        position = offset
        while True:
            try:
                data, final, eof = await run_in_threadpool(
                    _read_from, service, project, training_job_id, task_id, position)
            except ServiceError:  # deleted while we streamed
                return
            if data:
                # Whole lines while the job runs, so a reader never sees half a line twice.
                end = len(data) if final else data.rfind(b"\n") + 1
                if end == 0 and len(data) == READ_SIZE:  # one very long line
                    end = len(data)
                if end:
                    position += end
                    yield data[:end]
            if not eof:
                continue
            if final or not follow:
                return
            await asyncio.sleep(STREAM_POLL)

    return StreamingResponse(chunks(), media_type="text/plain; charset=utf-8",
                             headers={"X-Content-Type-Options": "nosniff"})


def _read_from(service: Any, project: str, job_id: str, task: str,
               position: int) -> tuple[bytes, bool, bool]:
    """(bytes from ``position``, whether the job has ended, whether that reached the end)."""
    final = Phase(service.jobs.row(project, job_id, fresh=not service.jobs.watched)
                  .phase).is_final
    data, _size = read_log(service.jobs.log_path(project, job_id, task), position, READ_SIZE)
    return data, final, len(data) < READ_SIZE
