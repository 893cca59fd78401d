"""The algorithm gallery (seed S1.1).

Official: ``POST /v2/{project_id}/gallery-algorithm-publication`` (the SDK's
``create_algorithm_version_to_gallery``). Ours, in the same style: browse the gallery
(``/gallery-algorithms``), withdraw a version (``.../versions/{version_id}/actions`` with
``{"action_type": "withdraw"}``, like a job's actions), and a project's subscriptions
(``/gallery-subscriptions``). A training job then names ``algorithm.subscription_id`` and
``algorithm.item_version_id``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from modelyard.api.dependencies import BodyDep, ProjectDep, ServiceDep, documented_body
from modelyard.api.schemas import Open, errors
from modelyard.service.gallery.records import (
    AssetRecord,
    PublicationRecord,
    SubscriptionRecord,
    VersionRecord,
)
from modelyard.spec.errors import SpecError
from modelyard.spec.gallery import Publication, SubscriptionRequest

router = APIRouter(prefix="/v2/{project_id}", tags=["gallery"])

ASSET = "/gallery-algorithms/{content_id}"


class PublicationOut(Open):
    content_id: str
    version_id: str
    version_num: str
    content_uri: str


class VersionOut(Open):
    version_id: str
    version_num: str
    status: Literal["published", "withdrawn"]
    job_config: dict[str, Any]


class AssetOut(Open):
    content_id: str
    name: str
    publisher: str
    versions: list[VersionOut]


class AssetList(Open):
    total: int
    count: int
    items: list[AssetOut]


class ItemVersion(Open):
    item_version_id: str
    version_num: str
    status: str


class SubscriptionOut(Open):
    subscription_id: str
    content_id: str
    item_versions: list[ItemVersion]


class SubscriptionList(Open):
    total: int
    items: list[SubscriptionOut]


class VersionAction(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action_type: Literal["withdraw"] = Field(description="Only 'withdraw'")


@router.post("/gallery-algorithm-publication", status_code=201, response_model=PublicationOut,
             responses=errors(404, 409), summary="Publish an algorithm to the gallery",
             openapi_extra=documented_body(Publication, "New asset, or a new version of "
                                                        "content_id"))
def publish(project: ProjectDep, service: ServiceDep, body: BodyDep) -> PublicationRecord:
    """Snapshots the project's algorithm ``algorithm.id`` (its code is copied) as a new
    asset, or as a new version of ``content_id`` (its publisher's project only)."""
    return service.gallery.publish(project, body)


@router.get("/gallery-algorithms", response_model=AssetList, responses=errors(),
            summary="Browse the gallery: assets with their versions")
def list_assets(
    project: ProjectDep, service: ServiceDep,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    name: Annotated[str | None, Query(max_length=64, description="name contains")] = None,
) -> dict[str, Any]:
    items, total = service.gallery.list(offset, limit, name)
    return {"total": total, "count": len(items), "items": items}


@router.get(ASSET, response_model=AssetOut, responses=errors(404),
            summary="Show a gallery asset and its versions")
def show_asset(project: ProjectDep, service: ServiceDep, content_id: str) -> AssetRecord:
    return service.gallery.get(content_id)


@router.post(ASSET + "/versions/{version_id}/actions", response_model=VersionOut,
             responses=errors(404, 409), summary="Withdraw a version (publisher only)",
             openapi_extra=documented_body(VersionAction, "{\"action_type\": \"withdraw\"}"))
def version_action(project: ProjectDep, service: ServiceDep, content_id: str, version_id: str,
                   body: BodyDep) -> VersionRecord:
    """Jobs already running keep running; new jobs naming the version are refused."""
    if body.get("action_type") != "withdraw":
        raise SpecError("action_type", body.get("action_type"),
                        "the only action on a gallery version is 'withdraw'")
    return service.gallery.withdraw(project, content_id, version_id)


@router.post("/gallery-subscriptions", status_code=201, response_model=SubscriptionOut,
             responses=errors(404, 409), summary="Subscribe this project to an asset",
             openapi_extra=documented_body(SubscriptionRequest, "{\"content_id\": ...}"))
def subscribe(project: ProjectDep, service: ServiceDep, body: BodyDep) -> SubscriptionRecord:
    return service.gallery.subscribe(project, body)


@router.get("/gallery-subscriptions", response_model=SubscriptionList, responses=errors(),
            summary="List this project's subscriptions")
def list_subscriptions(project: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    items = service.gallery.list_subscriptions(project)
    return {"total": len(items), "items": items}


@router.get("/gallery-subscriptions/{subscription_id}", response_model=SubscriptionOut,
            responses=errors(404), summary="Show a subscription with the asset's versions")
def show_subscription(project: ProjectDep, service: ServiceDep,
                      subscription_id: str) -> SubscriptionRecord:
    return service.gallery.get_subscription(project, subscription_id)


@router.delete("/gallery-subscriptions/{subscription_id}", status_code=202,
               response_class=Response, responses={**errors(404), 202: {"description": "Deleted"}},
               summary="Unsubscribe (running jobs keep running)")
def unsubscribe(project: ProjectDep, service: ServiceDep, subscription_id: str) -> Response:
    service.gallery.unsubscribe(project, subscription_id)
    return Response(status_code=202)
