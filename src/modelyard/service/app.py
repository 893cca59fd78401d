"""The service facade: one object that the API and the embedded CLI both drive."""

from __future__ import annotations

from functools import cached_property

from modelyard.executors.base import Executor
from modelyard.service.algorithms import AlgorithmService
from modelyard.service.filesystems import FileSystemService
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
        return jobs

    @cached_property
    def search(self) -> SearchService:
        """Automatic search (seed S6): searches are jobs whose trials are jobs."""
        return SearchService(self.settings, self.db, self.jobs)

    @cached_property
    def filesystems(self) -> FileSystemService:
        return FileSystemService(self.settings, self.db,
                                 refresh_job=lambda job_id: self.jobs.refresh(job_id))

    def close(self) -> None:
        self.db.dispose()
