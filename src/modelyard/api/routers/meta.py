"""Health, flavors and engines: what this installation is and offers."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from modelyard.api.dependencies import ProjectDep, ServiceDep
from modelyard.api.schemas import EngineList, FlavorList, Health, errors
from modelyard.service import catalog, engines

router = APIRouter()


def _version() -> str:
    try:
        return version("modelyard")
    except PackageNotFoundError:
        return "0"


@router.get("/health", response_model=Health, tags=["meta"], summary="Liveness (no signature)")
def health(request: Request) -> dict[str, Any]:
    return {"status": "ok", "version": _version(),
            "auth": "keys" if request.app.state.service.identity.has_keys() else "local",
            "worker": getattr(request.app.state, "worker", 0)}


@router.get("/v2/{project_id}/training-job-flavors", response_model=FlavorList,
            responses=errors(), tags=["meta"], summary="Flavors jobs may ask for")
def list_flavors(
    project: ProjectDep, service: ServiceDep,
    flavor_type: Annotated[Literal["CPU", "GPU", "Ascend"] | None, Query()] = None,
) -> dict[str, Any]:
    items = [f.record() for f in catalog.flavors(service.settings)]
    if flavor_type:
        items = [f for f in items if f["flavor_type"] == flavor_type]
    return {"total_count": len(items), "flavors": items}


@router.get("/v2/{project_id}/training-job-engines", response_model=EngineList,
            responses=errors(), tags=["meta"], summary="Preset engines")
def list_engines(project: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    """The enabled entries of the engine catalog: what this installation really runs."""
    items = [e.record(service.settings) for e in engines.available(service.settings)]
    return {"total": len(items), "items": items}
