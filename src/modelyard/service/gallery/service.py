"""The gallery (seed S1.1): publish an algorithm as an asset with immutable versions, browse
and subscribe from any project, and turn a job's ``subscription_id`` + ``item_version_id``
into the algorithm it runs.

Assets are visible to every project (that is what a gallery is for); everything that changes
an asset (new versions, withdrawal) is for its publisher's project only, and a subscription
belongs to the project that made it.
"""

from __future__ import annotations

import builtins
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from modelyard.service.algorithms import AlgorithmService
from modelyard.service.errors import Conflict, Forbidden, NotFound
from modelyard.service.gallery.records import (
    PUBLISHED,
    WITHDRAWN,
    AssetRecord,
    PublicationRecord,
    SubscriptionRecord,
    VersionRecord,
    asset_record,
    content_uri,
    subscription_record,
    version_record,
)
from modelyard.service.gallery.snapshot import copy_code, remove, version_dir
from modelyard.service.host_paths import check_location
from modelyard.settings import Settings
from modelyard.spec.algorithm import Algorithm
from modelyard.spec.errors import SpecError
from modelyard.spec.gallery import Publication, SubscriptionRequest
from modelyard.spec.job import JobAlgorithm
from modelyard.spec.loader import parse, parse_algorithm
from modelyard.store.db import Database
from modelyard.store.gallery_models import (
    GalleryAssetRow,
    GallerySubscriptionRow,
    GalleryVersionRow,
)

log = logging.getLogger("modelyard.gallery")


@dataclass(frozen=True)
class NewVersion:
    """What a publication adds: to a new asset (``asset`` None) or to ``asset``."""

    algorithm: Algorithm
    source_algorithm_id: str
    version_num: str | None = None
    desc: str | None = None
    asset: GalleryAssetRow | None = None
    content_id: str | None = None  # a fixed id for a new asset (the built-in ones)
    publisher: str = ""


class GalleryService:
    def __init__(self, settings: Settings, db: Database, algorithms: AlgorithmService) -> None:
        self.settings = settings
        self.db = db
        self.algorithms = algorithms

    # ---------------------------------------------------------------- publish
    def publish(self, project: str, data: dict[str, Any]) -> PublicationRecord:
        """The official publication: a new asset when ``content_id`` is absent, else a new
        version of that asset. Returns ``{content_id, version_id, version_num, content_uri}``."""
        pub = parse(Publication, data)
        try:
            row, algorithm = self.algorithms.model(project, pub.algorithm.id)
        except NotFound:
            raise SpecError("algorithm.id", pub.algorithm.id,
                            "no such algorithm in this project; a project publishes its own "
                            "algorithms") from None
        asset = None
        if pub.content_id is not None:
            asset = self._asset(pub.content_id, field="content_id")
            if asset.project_id != project:
                raise Forbidden(
                    f"content_id: {asset.id!r} is not allowed: the asset was published by "
                    "another project; only its publisher adds versions (leave content_id "
                    "out to publish a new asset)")
        if algorithm.job_config.code_dir:  # the caller's location: the installation's policy
            check_location(self.settings, "job_config.code_dir", algorithm.job_config.code_dir)
        version = self.add_version(NewVersion(
            algorithm=algorithm, source_algorithm_id=row.id, asset=asset, publisher=project,
            version_num=pub.content_info.version_num, desc=pub.content_info.desc))
        return {"content_id": version.content_id, "version_id": version.id,
                "version_num": version.version_num, "content_uri": content_uri(version.content_id)}

    def add_version(self, new: NewVersion) -> GalleryVersionRow:
        """Snapshots the code and stores the version (and the asset, when new); on any
        failure nothing is stored and the copy is removed."""
        content_id = new.asset.id if new.asset else (new.content_id or str(uuid.uuid4()))
        version_id = str(uuid.uuid4())
        version_num = new.version_num or self._next_version_num(content_id)
        self._check_version_free(content_id, version_num)
        body = new.algorithm.model_dump(mode="json", exclude_none=True)
        body["metadata"].pop("id", None)
        config = body["job_config"]
        dest = version_dir(self.settings, content_id, version_id)
        try:
            if new.algorithm.job_config.code_dir:
                config["code_dir"] = self._copy(new.algorithm.job_config.code_dir, dest)
            # A subscriber sets only what the publisher exposed (seed S1.1).
            config["parameters_customization"] = False
            parse_algorithm(body)  # the snapshot is a valid algorithm, or nothing is stored
            now = time.time()
            version = GalleryVersionRow(
                id=version_id, content_id=content_id, version_num=version_num,
                description=new.desc, algorithm=body,
                source_algorithm_id=new.source_algorithm_id,
                snapshot_dir=str(dest) if config.get("code_dir") else None,
                state=PUBLISHED, created_at=now, withdrawn_at=None)
            with self.db.session() as s:
                if new.asset is None:
                    meta = new.algorithm.metadata
                    s.add(GalleryAssetRow(id=content_id, project_id=new.publisher,
                                          name=meta.name, description=meta.description,
                                          created_at=now, updated_at=now))
                    s.flush()  # the asset before its version (foreign key)
                else:
                    fresh = s.get(GalleryAssetRow, content_id)
                    if fresh is not None:
                        fresh.updated_at = now
                s.add(version)
        except IntegrityError:
            remove(dest)
            raise Conflict(
                f"content_info.version_num: {version_num!r} is not allowed: the asset "
                f"{content_id} already has this version (or was published at the same "
                "moment); versions are immutable, publish a new version number") from None
        except BaseException:
            remove(dest)
            raise
        log.info("published %s version %s of asset %s", new.algorithm.metadata.name,
                 version_num, content_id)
        return version

    def _copy(self, code_dir: str, dest: Any) -> str:
        try:
            return copy_code(self.settings, code_dir, dest)
        except SpecError:
            raise
        except Exception as exc:
            raise SpecError("job_config.code_dir", code_dir,
                            f"the code directory could not be copied for publication: {exc}") \
                from None

    def _next_version_num(self, content_id: str) -> str:
        with self.db.session() as s:
            taken = set(s.scalars(select(GalleryVersionRow.version_num)
                                  .where(GalleryVersionRow.content_id == content_id)))
        n = len(taken) + 1
        while f"{n}.0.0" in taken:
            n += 1
        return f"{n}.0.0"

    def _check_version_free(self, content_id: str, version_num: str) -> None:
        with self.db.session() as s:
            taken = s.scalars(select(GalleryVersionRow.id).where(
                GalleryVersionRow.content_id == content_id,
                GalleryVersionRow.version_num == version_num)).first()
        if taken:
            raise Conflict(
                f"content_info.version_num: {version_num!r} is not allowed: the asset "
                f"{content_id} already has this version; versions are immutable, publish a "
                "new version number")

    # --------------------------------------------------------------- withdraw
    def withdraw(self, project: str, content_id: str, version_id: str) -> VersionRecord:
        """New jobs are refused this version; jobs already running keep their plan (and the
        snapshot stays on disk, so their restarts still find the code)."""
        asset = self._asset(content_id)
        if asset.project_id != project:
            raise Forbidden(f"content_id: {content_id!r} is not allowed: only the project that "
                            "published the asset withdraws its versions")
        with self.db.session() as s:
            version = s.get(GalleryVersionRow, version_id)
            if version is None or version.content_id != content_id:
                raise NotFound("gallery asset version", version_id)
            if version.state == WITHDRAWN:
                raise Conflict(f"version {version.version_num} of asset {content_id} is "
                               "already withdrawn")
            version.state, version.withdrawn_at = WITHDRAWN, time.time()
            s.flush()
            return version_record(version)

    # ----------------------------------------------------------------- browse
    def list(self, offset: int = 0, limit: int = 50, name: str | None = None
             ) -> tuple[builtins.list[AssetRecord], int]:
        """Every asset with its versions, newest first (the gallery is shared by all
        projects)."""
        where = [GalleryAssetRow.name.contains(name)] if name else []
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(GalleryAssetRow).where(*where)) or 0
            assets = list(s.scalars(select(GalleryAssetRow).where(*where)
                                    .order_by(GalleryAssetRow.created_at.desc(),
                                              GalleryAssetRow.id)
                                    .offset(offset).limit(limit)))
        return [asset_record(a, self._versions(a.id)) for a in assets], total

    def get(self, content_id: str) -> AssetRecord:
        asset = self._asset(content_id)
        return asset_record(asset, self._versions(asset.id))

    def _asset(self, content_id: str, field: str | None = None) -> GalleryAssetRow:
        with self.db.session() as s:
            asset = s.get(GalleryAssetRow, content_id)
        if asset is None:
            if field:
                raise SpecError(field, content_id, "no such gallery asset; leave content_id "
                                "out to publish a new asset")
            raise NotFound("gallery asset", content_id)
        return asset

    def _versions(self, content_id: str) -> builtins.list[GalleryVersionRow]:
        with self.db.session() as s:
            return list(s.scalars(select(GalleryVersionRow)
                                  .where(GalleryVersionRow.content_id == content_id)
                                  .order_by(GalleryVersionRow.created_at, GalleryVersionRow.id)))

    # ---------------------------------------------------------- subscriptions
    def subscribe(self, project: str, data: dict[str, Any]) -> SubscriptionRecord:
        req = parse(SubscriptionRequest, data)
        asset = self._asset(req.content_id, field="content_id")
        versions = self._versions(asset.id)
        if not any(v.state == PUBLISHED for v in versions):
            raise SpecError("content_id", asset.id, "every version of this asset was withdrawn "
                            "by its publisher; there is nothing to subscribe to")
        row = GallerySubscriptionRow(id=str(uuid.uuid4()), project_id=project,
                                     content_id=asset.id, created_at=time.time())
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            existing = self._subscription_for(project, asset.id)
            raise Conflict(f"content_id: {asset.id!r} is not allowed: this project already "
                           f"subscribes to it (subscription {existing})") from None
        return subscription_record(row, asset, versions)

    def _subscription_for(self, project: str, content_id: str) -> str | None:
        with self.db.session() as s:
            return s.scalars(select(GallerySubscriptionRow.id).where(
                GallerySubscriptionRow.project_id == project,
                GallerySubscriptionRow.content_id == content_id)).first()

    def list_subscriptions(self, project: str) -> builtins.list[SubscriptionRecord]:
        with self.db.session() as s:
            rows = list(s.scalars(select(GallerySubscriptionRow)
                                  .where(GallerySubscriptionRow.project_id == project)
                                  .order_by(GallerySubscriptionRow.created_at.desc(),
                                            GallerySubscriptionRow.id)))
        return [self._subscription_record(r) for r in rows]

    def get_subscription(self, project: str, subscription_id: str) -> SubscriptionRecord:
        return self._subscription_record(self._subscription(project, subscription_id))

    def unsubscribe(self, project: str, subscription_id: str) -> None:
        """Jobs already running keep running: their plan holds everything they need."""
        row = self._subscription(project, subscription_id)
        with self.db.session() as s:
            fresh = s.get(GallerySubscriptionRow, row.id)
            if fresh is not None:
                s.delete(fresh)

    def _subscription(self, project: str, subscription_id: str) -> GallerySubscriptionRow:
        with self.db.session() as s:
            row = s.get(GallerySubscriptionRow, subscription_id)
        if row is None or row.project_id != project:
            raise NotFound("gallery subscription", subscription_id)
        return row

    def _subscription_record(self, row: GallerySubscriptionRow) -> SubscriptionRecord:
        asset = self._asset(row.content_id)
        return subscription_record(row, asset, self._versions(asset.id))

    # ------------------------------------------------------------------- jobs
    def resolve(self, project: str, ja: JobAlgorithm) -> tuple[Algorithm, dict[str, str]]:
        """The algorithm a job's ``subscription_id`` + ``item_version_id`` runs, and what the
        job records about it (asset and version). Raises SpecError naming the field."""
        if ja.id or ja.name:
            raise SpecError("algorithm.subscription_id", ja.subscription_id,
                            "a job runs a stored algorithm (algorithm.id or name) or a "
                            "subscribed one (subscription_id + item_version_id), not both")
        if not ja.subscription_id:
            raise SpecError("algorithm.subscription_id", None,
                            "item_version_id names a version of a subscribed algorithm; name "
                            "the subscription too (subscription_id)")
        with self.db.session() as s:
            sub = s.get(GallerySubscriptionRow, ja.subscription_id)
        if sub is None or sub.project_id != project:
            raise SpecError("algorithm.subscription_id", ja.subscription_id,
                            "no such subscription in this project; subscribe to the asset "
                            "first (POST /v2/{project_id}/gallery-subscriptions)")
        asset = self._asset(sub.content_id)
        versions = self._versions(asset.id)
        known = ", ".join(f"{v.version_num} ({v.id}, {v.state})" for v in versions) or "none"
        if not ja.item_version_id:
            raise SpecError("algorithm.item_version_id", None,
                            f"a job from a subscription names the version it runs; versions "
                            f"of {asset.name!r}: {known}")
        version = next((v for v in versions if v.id == ja.item_version_id), None)
        if version is None:
            raise SpecError("algorithm.item_version_id", ja.item_version_id,
                            f"not a version of the subscribed asset {asset.name!r} "
                            f"({asset.id}); its versions: {known}")
        if version.state == WITHDRAWN:
            raise SpecError("algorithm.item_version_id", ja.item_version_id,
                            f"version {version.version_num} of {asset.name!r} was withdrawn "
                            "by its publisher: new jobs cannot use it (jobs already running "
                            "keep running)")
        provenance = {"content_id": asset.id, "content_name": asset.name,
                      "version_num": version.version_num}
        return parse_algorithm(version.algorithm), provenance
