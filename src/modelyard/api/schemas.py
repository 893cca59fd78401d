"""Response shapes for the OpenAPI document (ModelArts v2 names).

Records come from the service already shaped (service/records.py); these models describe
them for /docs and let robustness tests check every response against the schema. They allow
extra fields, as ModelArts' own responses carry more than any client reads.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    error_code: str = Field(examples=["ModelYard.InvalidArgument"])
    error_msg: str
    field: str | None = Field(default=None, description="The input field at fault (ours)")
    rule: str | None = Field(default=None, description="The rule it breaks (ours)")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid input (field and rule named)"},
    401: {"model": ErrorBody, "description": "Missing, bad, stale or replayed signature or "
          "session token (keys configured)"},
    403: {"model": ErrorBody, "description": "No (or too small a) role in the project, a "
          "bucket of another project, X-Project-Id differing from the path, or (keyless "
          "mode) a foreign Host or Origin"},
    404: {"model": ErrorBody, "description": "No such record"},
    409: {"model": ErrorBody, "description": "Conflicts with the current state"},
    413: {"model": ErrorBody, "description": "The body is over the size limit"},
    415: {"model": ErrorBody, "description": "Keyless mode: a state-changing body that is "
          "not JSON"},
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: ERRORS[c] for c in (400, 401, 403, 413, 415, *codes)}


class AlgorithmMetadataOut(Open):
    id: str
    name: str
    description: str | None = None
    workspace_id: str
    create_time: int
    update_time: int


class AlgorithmOut(Open):
    metadata: AlgorithmMetadataOut
    job_config: dict[str, Any]


class AlgorithmCreated(AlgorithmOut):
    warnings: list[str] = Field(
        default_factory=list, description="Allowed but probably wrong (ours, seed S3.9)")


class Page(Open):
    total: int
    count: int
    limit: int
    offset: int
    sort_by: str
    order: str
    group_by: str = ""


class AlgorithmList(Page):
    items: list[AlgorithmOut]


class JobMetadataOut(Open):
    id: str
    name: str
    workspace_id: str
    description: str | None = None
    create_time: int
    update_time: int | None = None


class TaskStatusOut(Open):
    task: str
    exit_code: int | None = None
    message: str = ""


class JobStatusOut(Open):
    phase: str
    secondary_phase: str | None = None
    duration: int
    start_time: int | None = None
    tasks: list[str] = Field(default_factory=list)
    task_statuses: list[TaskStatusOut] = Field(default_factory=list)


class JobOut(Open):
    kind: str
    metadata: JobMetadataOut
    algorithm: dict[str, Any]
    spec: dict[str, Any] = Field(default_factory=dict)
    status: JobStatusOut


class JobList(Page):
    workspace_id: str | None = None
    items: list[JobOut]


class EventOut(Open):
    time: str
    timestamp: int | None = None
    level: str
    source: str
    message: str


class EventList(Open):
    total: int
    limit: int
    offset: int
    order: str
    events: list[EventOut]


class LogPreview(Open):
    content: str
    current_size: int
    full_size: int


class FlavorOut(Open):
    flavor_id: str
    flavor_name: str
    flavor_type: str
    flavor_info: dict[str, Any]


class FlavorList(Open):
    total_count: int
    flavors: list[FlavorOut]


class EngineOut(Open):
    engine_id: str
    engine_name: str
    engine_version: str
    kind: str = Field(description="'host' (the server's interpreter), 'env' (an environment "
                      "built from pinned packages) or 'image'")
    packages: list[str] = Field(default_factory=list, description="pinned packages ('env')")


class EngineList(Open):
    total: int
    items: list[EngineOut]


class Health(Open):
    status: str = Field(examples=["ok"])
    version: str
    auth: str = Field(description="'keys' when requests must be signed, else 'local'")
    worker: int = Field(0, description="Which of the server's worker processes answered "
                        "(0 .. workers-1; 0 also runs the watcher)")


class JobAction(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action_type: str = Field(examples=["terminate"], description="Only 'terminate'")


class JobUpdate(Open):
    description: str | None = None
