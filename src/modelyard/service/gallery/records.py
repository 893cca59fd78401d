"""Gallery rows -> the JSON the API, CLI and console show.

A version shows what a subscriber may set (hyperparameters with their constraints, inputs,
outputs) and what it runs (boot file or command, engine), never where the server keeps the
snapshot: that is a path on the server's disk, no business of a remote caller. The shapes
are TypedDicts, as in ``service/records.py``.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from modelyard.service.records import ms
from modelyard.store.gallery_models import (
    GalleryAssetRow,
    GallerySubscriptionRow,
    GalleryVersionRow,
)

PUBLISHED = "published"
WITHDRAWN = "withdrawn"


class PublicationRecord(TypedDict):
    content_id: str
    version_id: str
    version_num: str
    content_uri: str


class VersionRecord(TypedDict):
    version_id: str
    version_num: str
    desc: str
    status: str
    create_time: int | None
    withdraw_time: int | None
    job_config: dict[str, Any]
    policies: dict[str, Any]


class AssetRecord(TypedDict):
    content_id: str
    name: str
    description: str
    publisher: str
    content_uri: str
    create_time: int | None
    update_time: int | None
    versions: list[VersionRecord]


class ItemVersionRecord(TypedDict):
    item_version_id: str
    version_num: str
    status: str


class SubscriptionRecord(TypedDict):
    subscription_id: str
    content_id: str
    name: str
    description: str
    publisher: str
    project_id: str
    create_time: int | None
    item_versions: list[ItemVersionRecord]


def content_uri(asset_id: str) -> str:
    """Ours: where the asset is shown (the publication's ``content_uri``)."""
    return f"gallery://algorithms/{asset_id}"


def version_record(row: GalleryVersionRow) -> VersionRecord:
    config = dict(row.algorithm.get("job_config") or {})
    config.pop("code_dir", None)
    config.pop("parameters_customization", None)
    return {
        "version_id": row.id,
        "version_num": row.version_num,
        "desc": row.description or "",
        "status": row.state,
        "create_time": ms(row.created_at),
        "withdraw_time": ms(row.withdrawn_at),
        "job_config": config,
        "policies": row.algorithm.get("policies") or {},
    }


def asset_record(asset: GalleryAssetRow, versions: list[GalleryVersionRow]) -> AssetRecord:
    return {
        "content_id": asset.id,
        "name": asset.name,
        "description": asset.description or "",
        "publisher": asset.project_id,
        "content_uri": content_uri(asset.id),
        "create_time": ms(asset.created_at),
        "update_time": ms(asset.updated_at),
        "versions": [version_record(v) for v in versions],
    }


def subscription_record(row: GallerySubscriptionRow, asset: GalleryAssetRow,
                        versions: list[GalleryVersionRow]) -> SubscriptionRecord:
    return {
        "subscription_id": row.id,
        "content_id": asset.id,
        "name": asset.name,
        "description": asset.description or "",
        "publisher": asset.project_id,
        "project_id": row.project_id,
        "create_time": ms(row.created_at),
        "item_versions": [
            {"item_version_id": v.id, "version_num": v.version_num, "status": v.state}
            for v in versions
        ],
    }
