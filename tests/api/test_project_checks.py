"""Every route under ``/v2/{project_id}`` depends on the project check (the caller's role),
so a route added later without it fails here rather than in production."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.routing import APIRoute

from modelyard.api.dependencies import needed_role, project
from modelyard.api.routers import ROUTERS


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def test_every_project_route_checks_the_role() -> None:
    routes = [r for name in ROUTERS for r in importlib.import_module(name).router.routes
              if isinstance(r, APIRoute) and "{project_id}" in r.path]
    assert len(routes) > 20
    unchecked = [f"{sorted(r.methods or ())} {r.path}" for r in routes
                 if project not in set(_calls(r.dependant))]
    assert unchecked == []


def test_roles_needed() -> None:
    class Req:
        def __init__(self, method: str, path: str) -> None:
            self.method = method
            self.url = type("U", (), {"path": path})()

    assert needed_role(Req("GET", "/v2/p/training-jobs/x")) == "viewer"  # type: ignore[arg-type]
    assert needed_role(Req("POST", "/v2/p/training-job-searches")) == "viewer"  # type: ignore[arg-type]
    for method, path in (("POST", "/v2/p/training-jobs"), ("DELETE", "/v2/p/algorithms/a"),
                         ("PUT", "/v2/p/training-jobs/x"), ("POST", "/v2/p/storage/object")):
        assert needed_role(Req(method, path)) == "member"  # type: ignore[arg-type]
