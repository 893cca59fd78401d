"""``/v2/{project_id}/algorithms``: create, list, show, update, delete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from modelyard.api.dependencies import BodyDep, ProjectDep, ServiceDep, documented_body
from modelyard.api.schemas import AlgorithmCreated, AlgorithmList, AlgorithmOut, errors
from modelyard.service.records import AlgorithmRecord
from modelyard.spec.algorithm import Algorithm

router = APIRouter(prefix="/v2/{project_id}", tags=["algorithms"])

ALL = 1_000_000
ALGORITHM_BODY = documented_body(Algorithm, "An algorithm in the ModelArts v2 shape")


@router.post("/algorithms", status_code=201, response_model=AlgorithmCreated,
             responses=errors(409), openapi_extra=ALGORITHM_BODY,
             summary="Create an algorithm")
def create_algorithm(project: ProjectDep, service: ServiceDep, body: BodyDep) -> dict[str, Any]:
    record, warnings = service.algorithms.create(project, body)
    return {**record, "warnings": warnings}


@router.get("/algorithms", response_model=AlgorithmList, responses=errors(),
            summary="List algorithms")
def list_algorithms(
    project: ProjectDep, service: ServiceDep,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    sort_by: Annotated[Literal["create_time"], Query()] = "create_time",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    group_by: Annotated[str, Query(max_length=64)] = "",
    searches: Annotated[str | None, Query(max_length=256,
                                          description="'name:TEXT' (name contains TEXT)")] = None,
) -> dict[str, Any]:
    name = None
    if searches:
        key, _, value = searches.partition(":")
        name = value if key == "name" else searches
    if order == "desc":
        items, total = service.algorithms.list(project, offset, limit, name)
    else:  # the service lists newest first; oldest first is the same list reversed
        every, total = service.algorithms.list(project, 0, ALL, name)
        items = list(reversed(every))[offset:offset + limit]
    return {"total": total, "count": len(items), "limit": limit, "offset": offset,
            "sort_by": sort_by, "order": order, "group_by": group_by, "items": items}


@router.get("/algorithms/{algorithm_id}", response_model=AlgorithmOut, responses=errors(404),
            summary="Show an algorithm (by id or name)")
def show_algorithm(project: ProjectDep, service: ServiceDep,
                   algorithm_id: str) -> AlgorithmRecord:
    return service.algorithms.get(project, algorithm_id)


@router.put("/algorithms/{algorithm_id}", response_model=AlgorithmOut,
            responses=errors(404, 409), openapi_extra=ALGORITHM_BODY,
            summary="Update an algorithm (fields given replace the stored ones)")
def update_algorithm(project: ProjectDep, service: ServiceDep, algorithm_id: str,
                     body: BodyDep) -> AlgorithmRecord:
    return service.algorithms.update(project, algorithm_id, body)


@router.delete("/algorithms/{algorithm_id}", status_code=202, response_class=Response,
               responses={**errors(404, 409), 202: {"description": "Deleted"}},
               summary="Delete an algorithm")
def delete_algorithm(project: ProjectDep, service: ServiceDep, algorithm_id: str) -> Response:
    service.algorithms.delete(project, algorithm_id)
    return Response(status_code=202)
