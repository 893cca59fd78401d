"""``/v2/{project_id}/storage/...`` (ours): browse, upload and download objects, so the web
console (and any HTTP client) can pick code, data and output locations and fetch models.

ModelArts leaves this to OBS' own API; here the embedded store has no API of its own, so a
small one lives beside the training API. Only ``obs://`` and ``s3://`` locations are served:
``file://`` would expose the server's whole disk.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import Field
from starlette.background import BackgroundTask

from modelyard.api.dependencies import ProjectDep, ServiceDep
from modelyard.api.errors import ApiError
from modelyard.api.schemas import Open, errors
from modelyard.service.app import Service
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import Location, parse_location
from modelyard.storage import ObjectStore, store_for
from modelyard.storage.base import StorageError

log = logging.getLogger("modelyard.api.storage")
router = APIRouter(prefix="/v2/{project_id}/storage", tags=["storage"])

MAX_SCAN = 100_000  # objects looked at for one listing
NOT_FOUND = "ModelYard.StorageNotFound"
STORAGE_ERROR = "ModelYard.StorageError"
UrlQuery = Annotated[str, Query(max_length=2048,
                                description="obs://bucket/key or s3://bucket/key")]


class Folder(Open):
    name: str
    url: str


class ObjectOut(Open):
    name: str
    url: str
    size: int
    mtime: float | None = None


class Listing(Open):
    url: str
    parent: str | None = Field(description="The enclosing folder, None at a bucket's top")
    folders: list[Folder]
    objects: list[ObjectOut]
    truncated: bool = Field(description="True when only the first entries are shown")


class BucketList(Open):
    scheme: str
    items: list[Folder]
    message: str | None = None


class Uploaded(Open):
    url: str
    size: int


def _location(url: str, project: str, service: Service, *,
              want_dir: bool | None = None) -> Location:
    """The location, once its bucket is known to belong to ``project`` (issue 14)."""
    loc = parse_location(url, "url")
    if loc.scheme not in ("obs", "s3"):
        raise SpecError("url", url, "only obs:// and s3:// locations can be browsed here")
    if want_dir is False and (loc.is_dir or not loc.key):
        raise SpecError("url", url, "name an object, not a folder (no trailing '/')")
    service.buckets.claim(project, [loc], "url")
    return loc


def _store(loc: Location, settings: Settings) -> ObjectStore:
    return store_for(loc, settings)


def _storage_error(exc: Exception, url: str) -> ApiError:
    """Said in terms of the URL only: an OSError's text holds the server's own paths."""
    if isinstance(exc, FileNotFoundError):
        return ApiError(404, NOT_FOUND, f"{url}: no such object or bucket")
    if isinstance(exc, OSError):
        log.warning("storage error on %s: %s", url, exc)
        reason = exc.strerror or type(exc).__name__
        return ApiError(502, STORAGE_ERROR, f"{url}: the object store failed ({reason})")
    return ApiError(502, STORAGE_ERROR, f"{url}: {exc}")


@router.get("/buckets", response_model=BucketList, responses=errors(),
            summary="Buckets of the embedded object store (obs://)")
def buckets(project: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    settings = service.settings
    if settings.obs_backend != "local":
        return {"scheme": "obs", "items": [],
                "message": "obs:// is an S3-compatible endpoint here; type a bucket's URL"}
    root = settings.obs_root
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    names = service.buckets.visible(project, "obs", (n for n in names if not n.startswith(".")))
    return {"scheme": "obs", "items": [{"name": n, "url": f"obs://{n}/"} for n in names]}


@router.get("/objects", response_model=Listing, responses=errors(404),
            summary="One level of a folder: sub-folders and objects")
def list_objects(project: ProjectDep, service: ServiceDep, url: UrlQuery,
                 limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> dict[str, Any]:
    loc = _location(url, project, service).as_dir()
    store = _store(loc, service.settings)
    folders: dict[str, str] = {}
    objects: list[dict[str, Any]] = []
    truncated = False
    try:
        for n, info in enumerate(store.list(loc.bucket, loc.key)):
            if n >= MAX_SCAN:
                truncated = True
                break
            rest = info.key[len(loc.key):]
            if not rest:
                continue
            head, sep, _ = rest.partition("/")
            if sep:
                folders.setdefault(head, loc.child(head + "/").url)
            elif len(objects) < limit:
                objects.append({"name": head, "url": loc.child(head).url, "size": info.size,
                                "mtime": info.mtime})
            else:
                truncated = True
    except (StorageError, OSError) as exc:
        raise _storage_error(exc, loc.url) from None
    finally:
        store.close()
    parent = None
    if loc.key:
        up = loc.key.rstrip("/").rpartition("/")[0]
        parent = Location(loc.scheme, loc.bucket, up + "/" if up else "").url
    return {"url": loc.url, "parent": parent,
            "folders": [{"name": k, "url": v} for k, v in sorted(folders.items())][:limit],
            "objects": objects, "truncated": truncated or len(folders) > limit}


@router.get("/object", response_class=FileResponse, responses=errors(404),
            summary="Download one object")
def download(project: ProjectDep, service: ServiceDep, url: UrlQuery) -> FileResponse:
    loc = _location(url, project, service, want_dir=False)
    store = _store(loc, service.settings)
    tmp = Path(tempfile.mkdtemp(prefix="modelyard-dl-"))
    dest = tmp / "object"
    try:
        if store.stat(loc.bucket, loc.key) is None:
            raise FileNotFoundError(loc.url)
        store.get(loc.bucket, loc.key, dest)
    except (StorageError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _storage_error(exc, loc.url) from None
    finally:
        store.close()
    return FileResponse(dest, filename=loc.name, media_type="application/octet-stream",
                        background=BackgroundTask(shutil.rmtree, tmp, True))


@router.post("/object", status_code=201, response_model=Uploaded, responses=errors(),
             openapi_extra={"requestBody": {"required": True, "description": "The bytes",
                                            "content": {"application/octet-stream": {
                                                "schema": {"type": "string",
                                                           "format": "binary"}}}}},
             summary="Upload one object (the request body is the file's bytes)")
async def upload(project: ProjectDep, service: ServiceDep, request: Request,
                 url: UrlQuery) -> dict[str, Any]:
    loc = _location(url, project, service, want_dir=False)
    tmp = Path(tempfile.mkdtemp(prefix="modelyard-ul-"))
    src = tmp / "object"
    size = 0
    try:
        with src.open("wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                fh.write(chunk)
        await run_in_threadpool(_put, loc, src, service.settings)
    except (StorageError, OSError) as exc:
        raise _storage_error(exc, loc.url) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"url": loc.url, "size": size}


def _put(loc: Location, src: Path, settings: Settings) -> None:
    store = _store(loc, settings)
    try:
        store.ensure_bucket(loc.bucket)
        store.put(src, loc.bucket, loc.key)
    finally:
        store.close()
