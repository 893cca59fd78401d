"""Which store serves a location: ``obs://`` is the configured store (embedded folder or
S3-compatible endpoint), ``s3://`` always the S3 endpoint, ``file://`` the local disk."""

from __future__ import annotations

from pathlib import Path

from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import Location
from modelyard.storage.base import ObjectStore
from modelyard.storage.local import FolderStore


def store_for(location: Location, settings: Settings) -> ObjectStore:
    if location.scheme == "file":
        return FolderStore(Path("/"), scheme="file")
    if location.scheme == "obs" and settings.obs_backend == "local":
        return FolderStore(settings.obs_root, scheme="obs")
    if location.scheme in ("obs", "s3"):
        raise SpecError(
            "location", location.url, "no S3 endpoint is configured (set AWS_ENDPOINT_URL)"
        )
    raise SpecError("location", location.url, "unknown storage scheme")
