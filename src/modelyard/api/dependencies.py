"""What every router needs: the service, the project a request works in, and JSON bodies that
the spec layer (not FastAPI) validates."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from pydantic import BaseModel

from modelyard.api.errors import FORBIDDEN, ApiError
from modelyard.api.security import READ_ONLY_POSTS
from modelyard.service.app import Service
from modelyard.service.identity import CURRENT_CALLER, LOCAL, Caller
from modelyard.spec.errors import SpecError
from modelyard.spec.limits import check_document, check_json_depth, reject_constant

PROJECT_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def get_service(request: Request) -> Service:
    """Async because it does no I/O: FastAPI runs a plain ``def`` dependency in the
    threadpool, a hop that costs more than the lookup (issue 20: one hop per request)."""
    return service_of(request)


ServiceDep = Annotated[Service, Depends(get_service)]



def caller(request: Request) -> Caller:
    """Who sent the request, as the security middleware established it."""
    found: Caller = getattr(request.state, "caller", LOCAL)
    return found


def needed_role(request: Request) -> str:
    """viewer reads; member creates, changes, stops and deletes."""
    if request.method in ("GET", "HEAD") or (
            request.method == "POST" and request.url.path.endswith(READ_ONLY_POSTS)):
        return "viewer"
    return "member"


async def project(
    request: Request,
    project_id: Annotated[str, Path(pattern=PROJECT_PATTERN,
                                    description="Project (workspace); scopes every record")],
    x_project_id: Annotated[str | None, Header(alias="X-Project-Id")] = None,
) -> str:
    """The path's project_id, once the caller's role there allows the request. The official
    SDK also sends X-Project-Id; when both are given they must agree, so a client configured
    for one project never writes into another.

    Async on purpose: the caller set here (for events: who created, stopped, deleted) is a
    context variable, and only the request's own task passes it on to the endpoint."""
    if x_project_id is not None and x_project_id != project_id:
        raise ApiError(403, FORBIDDEN,
                       f"X-Project-Id {x_project_id!r} does not match the path's project_id "
                       f"{project_id!r}")
    who = caller(request)
    service_of(request).identity.authorize(who, project_id, needed_role(request))
    CURRENT_CALLER.set(who)
    return project_id


ProjectDep = Annotated[str, Depends(project)]


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; its contents are the spec layer's to judge."""
    raw = await request.body()
    if not raw.strip():
        raise SpecError("body", None, "a JSON object is required")
    check_json_depth(raw)
    try:
        data = json.loads(raw, parse_constant=reject_constant)
    except SpecError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SpecError("body", None, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise SpecError("body", data, "must be a JSON object")
    check_document(data)
    return data


BodyDep = Annotated[dict[str, Any], Depends(json_object)]

# Models whose JSON schema documents a request body; added to the OpenAPI components.
BODY_MODELS: dict[str, type[BaseModel]] = {}


def documented_body(model: type[BaseModel], description: str = "") -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is parsed by ``json_object``."""
    BODY_MODELS[model.__name__] = model
    return {"requestBody": {
        "required": True,
        "description": description,
        "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }}
