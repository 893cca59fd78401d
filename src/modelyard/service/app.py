"""The service facade: one object that the API and the embedded CLI both drive."""

from __future__ import annotations

from functools import cached_property

from modelyard.executors.base import Executor
from modelyard.service.algorithms import AlgorithmService
from modelyard.service.buckets import BucketOwners
from modelyard.service.datasets import DatasetService
from modelyard.service.filesystems import FileSystemService
from modelyard.service.gallery import GalleryService, ensure_builtin_assets
from modelyard.service.identity import IdentityService
from modelyard.service.jobs import JobService
from modelyard.service.search.service import SearchService
from modelyard.settings import Settings
from modelyard.store.db import Database

DEFAULT_PROJECT = "default"


class Service:
    def __init__(self, settings: Settings | None = None, executor: Executor | None = None) -> None:
        self.settings = settings or Settings()
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.settings.database_url)
        self._executor = executor

    @cached_property
    def executor(self) -> Executor:
        if self._executor is not None:
            return self._executor
        if self.settings.executor == "ray":  # imported only then: Ray is an optional extra
            try:
                from modelyard.executors.ray import RayExecutor
            except ImportError as exc:
                raise RuntimeError("MODELYARD_EXECUTOR=ray needs Ray on this machine: "
                                   "pip install 'modelyard[ray]'") from exc
            return RayExecutor(self.settings)
        from modelyard.executors.local import LocalExecutor

        return LocalExecutor(self.settings)

    @cached_property
    def algorithms(self) -> AlgorithmService:
        return AlgorithmService(self.db, self.settings)

    @cached_property
    def jobs(self) -> JobService:
        jobs = JobService(self.settings, self.db, self.algorithms, self.executor,
                          mounts=self.filesystems.resolve_mounts)
        jobs.search_hook = lambda *args: self.search.hook(*args)
        jobs.datasets = self.datasets.resolver  # issue 18: inputs bound to dataset versions
        jobs.subscription_hook = lambda project, ja: self.gallery.resolve(project, ja)
        jobs.buckets = self.buckets
        return jobs

    @cached_property
    def gallery(self) -> GalleryService:
        """Published algorithms and subscriptions (seed S1.1); ships the digits asset."""
        gallery = GalleryService(self.settings, self.db, self.algorithms)
        ensure_builtin_assets(gallery)
        return gallery

    @cached_property
    def search(self) -> SearchService:
        """Automatic search (seed S6): searches are jobs whose trials are jobs."""
        return SearchService(self.settings, self.db, self.jobs)

    @cached_property
    def filesystems(self) -> FileSystemService:
        return FileSystemService(self.settings, self.db,
                                 refresh_job=lambda job_id: self.jobs.refresh(job_id))

    @cached_property
    def datasets(self) -> DatasetService:
        """Datasets with manifests and versions, usable as job inputs (issue 18)."""
        return DatasetService(self.settings, self.db)

    @cached_property
    def buckets(self) -> BucketOwners:
        """Which project owns which bucket; enforced once the installation has keys."""
        return BucketOwners(self.db, enforced=lambda: self.identity.has_keys())

    @cached_property
    def identity(self) -> IdentityService:
        """Users, projects, roles and keys (issue 14)."""
        return IdentityService(self.settings, self.db)

    def close(self) -> None:
        self.db.dispose()
