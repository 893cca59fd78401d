"""``ray.json``: what the server needs to find a job's Ray objects again after a restart.

Every name is derived from the job id and the attempt, so nothing lives only in the
server's memory; the file also keeps how far the server has copied each task's events and
log (the offsets ``sync`` is asked from) and where the tasks were placed.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pydantic import BaseModel, Field

RECORD_FILE = "ray.json"
NAMESPACE = "modelyard"
"""The Ray namespace of every placement group and agent this service creates."""


def group_name(job_id: str, attempt: int) -> str:
    return f"modelyard-{job_id}-a{attempt}"


def task_dir_name(job_id: str, attempt: int, task: int) -> str:
    """The task's node-local folder below ``<home>/ray-tasks/`` on its node."""
    return f"{job_id}-a{attempt}-t{task}"


class TaskCursor(BaseModel):
    """How much of one task's node-local events and log the server has copied."""

    events: int = 0
    log: int = 0


class RayRecord(BaseModel):
    job_id: str
    attempt: int
    node_count: int
    placement_group: str
    tasks: list[str]
    """Each task's folder name on its node (``task_dir_name``)."""
    placed: bool = False
    hosts: list[str] = Field(default_factory=list)
    nodes: list[str] = Field(default_factory=list)
    """The Ray node id each task was placed on (its node agent runs it)."""
    master_port: int = 29500
    cursors: list[TaskCursor] = Field(default_factory=list)
    cleaned: bool = False
    """True once the placement group was removed (the job is final)."""

    @classmethod
    def new(cls, job_id: str, attempt: int, node_count: int) -> RayRecord:
        return cls(job_id=job_id, attempt=attempt, node_count=node_count,
                   placement_group=group_name(job_id, attempt),
                   tasks=[task_dir_name(job_id, attempt, i) for i in range(node_count)],
                   cursors=[TaskCursor() for _ in range(node_count)])


def read_record(job_dir: Path) -> RayRecord | None:
    try:
        return RayRecord.model_validate_json((job_dir / RECORD_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None


def write_record(job_dir: Path, record: RayRecord) -> None:
    """Atomic by rename (the watcher and a request may write it at the same moment)."""
    tmp = job_dir / f".{RECORD_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_text(record.model_dump_json())
    os.replace(tmp, job_dir / RECORD_FILE)
