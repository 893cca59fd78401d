"""``/v3/auth/...`` (ours, after IAM's token API): who am I, which projects may I use, and
console session tokens, so the web console never keeps a secret key in web storage.

A token is asked for with a request signed by the user's AK/SK (the console signs it in
memory, then forgets the SK) and is sent back as ``X-Auth-Token``; only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from modelyard.api.dependencies import ServiceDep, caller
from modelyard.api.schemas import Open, errors
from modelyard.service.identity import TOKEN_HEADER

router = APIRouter(prefix="/v3/auth", tags=["accounts"])


class ProjectRole(Open):
    id: str
    role: str = Field(description="owner, member or viewer")


class Whoami(Open):
    user: str
    access_key: str | None = None
    is_admin: bool
    mode: str = Field(description="'keys' (signed requests) or 'local' (single user)")
    projects: list[ProjectRole]


class Token(Whoami):
    token: str = Field(description="Send as X-Auth-Token; shown once")
    expires_at: int = Field(description="Milliseconds since the epoch")


def _whoami(request: Request, service: Any) -> dict[str, Any]:
    who = caller(request)
    projects = service.identity.projects_of(who)
    return {"user": who.user, "access_key": who.access_key, "is_admin": who.is_admin,
            "mode": "keys" if service.identity.has_keys() else "local",
            "projects": [{"id": p, "role": r} for p, r in sorted(projects.items())]}


@router.get("/projects", response_model=Whoami, responses=errors(),
            summary="The caller, and the projects it has a role in")
def whoami(request: Request, service: ServiceDep) -> dict[str, Any]:
    return _whoami(request, service)


@router.post("/tokens", status_code=201, response_model=Token, responses=errors(),
             summary="A console session token for the signed caller")
def issue_token(request: Request, service: ServiceDep, response: Response) -> dict[str, Any]:
    issued = service.identity.issue_token(caller(request))
    response.headers["X-Subject-Token"] = issued["token"]
    response.headers["Cache-Control"] = "no-store"
    return {**_whoami(request, service), **issued}


@router.delete("/tokens", status_code=204, response_class=Response, responses=errors(),
               summary="Sign out: the X-Auth-Token sent stops working")
def revoke_token(request: Request, service: ServiceDep) -> Response:
    token = request.headers.get(TOKEN_HEADER)
    if token:
        service.identity.revoke_token(token.strip())
    return Response(status_code=204)
