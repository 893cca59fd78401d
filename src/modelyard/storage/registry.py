"""Which store serves a location.

- ``file://`` is the local disk.
- ``obs://`` is the configured object store: the embedded folder store under
  ``$MODELYARD_HOME/obs`` when ``obs_backend == 'local'`` (the default), the S3-compatible
  endpoint of ``Settings.s3`` when ``obs_backend == 's3'``. Configuring an endpoint alone does
  not move ``obs://``: the switch is explicit, so a stray ``AWS_ENDPOINT_URL`` in the
  environment never redirects a job's outputs.
- ``s3://`` is always the S3 endpoint (AWS S3 itself when no endpoint URL is set).
"""

from __future__ import annotations

from pathlib import Path

from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import Location
from modelyard.storage.base import ObjectStore
from modelyard.storage.local import FolderStore


def store_for(location: Location, settings: Settings) -> ObjectStore:
    """A new store for ``location``. Stores hold connections: reuse one per scheme (the
    transfer engine does) rather than calling this per object."""
    if location.scheme == "file":
        return FolderStore(Path("/"), scheme="file")
    if location.scheme == "obs" and settings.obs_backend == "local":
        return FolderStore(settings.obs_root, scheme="obs")
    if location.scheme == "s3" or (location.scheme == "obs" and settings.obs_backend == "s3"):
        return s3_store(settings, location.scheme)
    if location.scheme == "obs":
        raise SpecError("obs_backend", settings.obs_backend, "must be 'local' or 's3'")
    raise SpecError("location", location.url, "unknown storage scheme")


def s3_store(settings: Settings, scheme: str) -> ObjectStore:
    """The S3 store for ``settings.s3`` with the client ``settings.s3.client`` names; each
    client module is imported only when chosen (boto3 costs a second per process)."""
    s3 = settings.s3
    options = {
        "multipart_threshold": settings.transfer_multipart_threshold,
        "multipart_chunksize": settings.transfer_multipart_chunksize,
        "max_concurrency": settings.transfer_part_concurrency,
        "max_connections": settings.transfer_workers + settings.transfer_part_concurrency,
    }
    from modelyard.storage.s3_lean import LeanS3Store, lean_client_fits

    if s3.client in ("lean", "obstore") and not lean_client_fits(s3):
        raise SpecError("MODELYARD_S3_CLIENT", s3.client, (
            "this client needs a custom endpoint (MODELYARD_S3_ENDPOINT), path-style "
            "addressing and static keys; use 'auto' or 'boto' for AWS S3"))
    if s3.client == "obstore":
        from modelyard.storage.s3_obstore import ObstoreS3Store

        return ObstoreS3Store(s3, scheme, **options)
    if s3.client == "lean" or (s3.client == "auto" and lean_client_fits(s3)):
        return LeanS3Store(s3, scheme, **options)
    from modelyard.storage.s3_boto import BotoS3Store

    return BotoS3Store(s3, scheme, **options)
