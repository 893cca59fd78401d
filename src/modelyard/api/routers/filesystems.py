"""``/v2/{project_id}/filesystems``: file systems, their data tasks (seed S5).

ModelArts has no file-system resource of its own (SFS Turbo has its own service), so these
paths are ours; field names follow SFS Turbo's data tasks (``type``, ``src``, ``dest``,
``status`` DOING/SUCCESS/FAIL).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelyard.api.dependencies import BodyDep, ProjectDep, ServiceDep, documented_body
from modelyard.api.errors import FORBIDDEN, ApiError
from modelyard.api.schemas import Open, errors
from modelyard.service.filesystem_records import FileSystemRecord, FsTaskRecord
from modelyard.service.identity import current_caller
from modelyard.spec.errors import SpecError, from_pydantic
from modelyard.spec.paths import parse_location

router = APIRouter(prefix="/v2/{project_id}", tags=["filesystems"])


class FileSystemCreate(BaseModel):
    """A new file system: a directory on fast storage that jobs may mount."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="1-64 letters, digits, '_' and '-'")
    path: str | None = Field(
        default=None,
        description="Absolute directory on fast storage (local, or a shared mount at the same "
                    "path on every node); default $MODELYARD_HOME/fs/<name>")
    description: str | None = None


class FsTaskCreate(BaseModel):
    """A data task. preload/import: ``src`` is an object-storage URL, ``dest`` a directory in
    the file system; export: ``src`` a directory in the file system, ``dest`` a URL."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["preload", "import", "export"]
    src: str
    dest: str = "/"


class FileSystemOut(Open):
    id: str
    name: str
    path: str
    status: str = Field(description="available, or unavailable when the directory is gone")
    create_time: int


class FileSystemList(Open):
    total: int
    count: int
    items: list[FileSystemOut]


class TaskProgress(Open):
    files: int
    bytes: int
    skipped: int
    total_files: int | None = None
    total_bytes: int | None = None
    rate: float = Field(description="bytes per second (entries per second for import)")


class FsTaskOut(Open):
    id: str
    filesystem: str
    type: str
    src: str
    dest: str
    status: Literal["DOING", "SUCCESS", "FAIL"]
    message: str | None = None
    progress: TaskProgress


class FsTaskList(Open):
    total: int
    count: int
    items: list[FsTaskOut]


def _parse(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise from_pydantic(exc) from None


@router.post("/filesystems", status_code=201, response_model=FileSystemOut,
             responses=errors(409),
             openapi_extra=documented_body(FileSystemCreate, "A new file system"),
             summary="Create a file system")
def create_filesystem(project: ProjectDep, service: ServiceDep, body: BodyDep
                      ) -> FileSystemRecord:
    req: FileSystemCreate = _parse(FileSystemCreate, body)
    if req.path is not None and service.identity.has_keys() and not current_caller().is_admin:
        # A remote caller never names a host path; the administrator may (issue 14).
        raise ApiError(403, FORBIDDEN, "path: a directory of the server is not allowed here: "
                       "only an administrator may place a file system; leave path out for "
                       "the default under the server's home")
    return service.filesystems.create(project, req.name, req.path, req.description)


@router.get("/filesystems", response_model=FileSystemList, responses=errors(),
            summary="List file systems")
def list_filesystems(project: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    items = service.filesystems.list(project)
    return {"total": len(items), "count": len(items), "items": items}


@router.get("/filesystems/{name}", response_model=FileSystemOut, responses=errors(404),
            summary="Show a file system, with the unfinished jobs that mount it")
def show_filesystem(project: ProjectDep, service: ServiceDep, name: str) -> FileSystemRecord:
    return service.filesystems.get(project, name)


@router.delete("/filesystems/{name}", response_model=FileSystemOut,
               responses=errors(404, 409),
               summary="Delete a file system (refused while an unfinished job mounts it)")
def delete_filesystem(project: ProjectDep, service: ServiceDep,
                      name: str) -> FileSystemRecord:
    return service.filesystems.delete(project, name)


@router.post("/filesystems/{name}/tasks", status_code=201, response_model=FsTaskOut,
             responses=errors(404, 409),
             openapi_extra=documented_body(FsTaskCreate, "A preload, import or export task"),
             summary="Start a data task (asynchronous; poll it for progress)")
def create_task(project: ProjectDep, service: ServiceDep, name: str, body: BodyDep
                ) -> FsTaskRecord:
    req: FsTaskCreate = _parse(FsTaskCreate, body)
    field, remote = ("dest", req.dest) if req.type == "export" else ("src", req.src)
    try:
        location = parse_location(remote, field)
    except SpecError:
        location = None  # the service names the field and the rule
    if location is not None:
        service.buckets.claim(project, [location], field)
    fs = service.filesystems
    if req.type == "preload":
        return fs.preload(project, name, req.src, req.dest)
    if req.type == "import":
        return fs.import_(project, name, req.src, req.dest)
    return fs.export(project, name, req.src, req.dest)


@router.get("/filesystems/{name}/tasks", response_model=FsTaskList, responses=errors(404),
            summary="List a file system's data tasks, newest first")
def list_tasks(project: ProjectDep, service: ServiceDep, name: str) -> dict[str, Any]:
    items = service.filesystems.tasks(project, name)
    return {"total": len(items), "count": len(items), "items": items}


@router.get("/filesystems/{name}/tasks/{task_id}", response_model=FsTaskOut,
            responses=errors(404), summary="Show one data task and its progress")
def show_task(project: ProjectDep, service: ServiceDep, name: str, task_id: str
              ) -> FsTaskRecord:
    record = service.filesystems.task(project, task_id)
    if record["filesystem"] != name:
        from modelyard.service.errors import NotFound

        raise NotFound("file-system task", task_id)
    return record
