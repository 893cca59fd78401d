"""File-system and file-system task rows → the JSON the API, CLI and console show.

The shapes are TypedDicts, as in ``service/records.py``: plain dicts at run time, checked
keys for mypy. A file system's ``path`` is shown to its project (it names the directory the
project registered or ModelYard made for it).
"""

from __future__ import annotations

from pathlib import Path
from typing import NotRequired

from typing_extensions import TypedDict

from modelyard.service.records import ms
from modelyard.store.fs_models import FileSystemRow, FsTaskRow

AVAILABLE = "available"
UNAVAILABLE = "unavailable"


class MountingJob(TypedDict):
    """An unfinished job that mounts the file system (why it cannot be deleted now)."""

    id: str
    name: str
    phase: str


class Capacity(TypedDict):
    total: int
    free: int


class FileSystemRecord(TypedDict):
    id: str
    name: str
    project_id: str
    path: str
    managed: bool
    status: str
    description: str | None
    create_time: int | None
    mounted_by: NotRequired[list[MountingJob]]  # when shown alone
    capacity: NotRequired[Capacity]  # when shown alone and the directory exists
    data_deleted: NotRequired[bool]  # in the answer to a delete


class TaskProgress(TypedDict):
    files: int
    bytes: int
    skipped: int
    total_files: int | None
    total_bytes: int | None
    rate: float


class FsTaskRecord(TypedDict):
    id: str
    filesystem: str
    type: str
    src: str
    dest: str
    status: str
    message: str | None
    progress: TaskProgress
    create_time: int | None
    start_time: int | None
    end_time: int | None


def filesystem_record(row: FileSystemRow) -> FileSystemRecord:
    status = AVAILABLE if Path(row.path).is_dir() else UNAVAILABLE
    return {"id": row.id, "name": row.name, "project_id": row.project_id,
            "path": row.path, "managed": row.managed, "status": status,
            "description": row.description, "create_time": ms(row.created_at)}


def task_record(row: FsTaskRow, fs_name: str) -> FsTaskRecord:
    return {
        "id": row.id, "filesystem": fs_name, "type": row.kind, "src": row.source,
        "dest": row.destination, "status": row.status, "message": row.message,
        "progress": {"files": row.files, "bytes": row.bytes, "skipped": row.skipped,
                     "total_files": row.total_files, "total_bytes": row.total_bytes,
                     "rate": row.rate},
        "create_time": ms(row.created_at), "start_time": ms(row.started_at),
        "end_time": ms(row.ended_at),
    }
