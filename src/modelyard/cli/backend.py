"""What the CLI needs from ModelYard, whether embedded in-process or reached over HTTP.

The CLI is written once against ``Backend``; ``EmbeddedBackend`` drives the service in this
process on the default home, and the HTTP client (modelyard.client) provides the same methods
against a server. Same commands, same output.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Protocol

from modelyard.runtime.state import read_log
from modelyard.service.app import DEFAULT_PROJECT, Service
from modelyard.service.errors import NotFound
from modelyard.spec.status import Phase


class Backend(Protocol):
    def create_algorithm(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]: ...
    def list_algorithms(self) -> list[dict[str, Any]]: ...
    def get_algorithm(self, ident: str) -> dict[str, Any]: ...
    def delete_algorithm(self, ident: str) -> None: ...
    def create_job(self, data: dict[str, Any]) -> dict[str, Any]: ...
    def list_jobs(self, phase: str | None = None) -> list[dict[str, Any]]: ...
    def get_job(self, job_id: str) -> dict[str, Any]: ...
    def stop_job(self, job_id: str) -> dict[str, Any]: ...
    def delete_job(self, job_id: str) -> None: ...
    def job_events(self, job_id: str) -> list[dict[str, Any]]: ...
    def follow_log(self, job_id: str, follow: bool, task: str = "worker-0"
                   ) -> Iterator[str]: ...
    def list_flavors(self) -> list[dict[str, Any]]: ...


class EmbeddedBackend:
    """The service in this process. Runtimes are detached, so jobs outlive the command."""

    def __init__(self, service: Service | None = None, project: str = DEFAULT_PROJECT) -> None:
        self.service = service or Service()
        self.project = project

    def create_algorithm(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        record, warnings = self.service.algorithms.create(self.project, data)
        return dict(record), warnings

    def list_algorithms(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.service.algorithms.list(self.project, limit=10_000)[0]]

    def get_algorithm(self, ident: str) -> dict[str, Any]:
        return dict(self.service.algorithms.get(self.project, ident))

    def delete_algorithm(self, ident: str) -> None:
        self.service.algorithms.delete(self.project, ident)

    def create_job(self, data: dict[str, Any]) -> dict[str, Any]:
        return dict(self.service.jobs.create(self.project, data))

    def list_jobs(self, phase: str | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in self.service.jobs.list(self.project, limit=10_000, phase=phase)[0]]

    def get_job(self, job_id: str) -> dict[str, Any]:
        return dict(self.service.jobs.get(self.project, job_id))

    def stop_job(self, job_id: str) -> dict[str, Any]:
        return dict(self.service.jobs.stop(self.project, job_id))

    def delete_job(self, job_id: str) -> None:
        self.service.jobs.delete(self.project, job_id)

    def job_events(self, job_id: str) -> list[dict[str, Any]]:
        return [dict(e) for e in self.service.jobs.events(self.project, job_id)[0]]

    def list_flavors(self) -> list[dict[str, Any]]:
        from modelyard.service.catalog import flavors

        return [dict(f.record()) for f in flavors(self.service.settings)]

    def follow_log(self, job_id: str, follow: bool, task: str = "worker-0"
                   ) -> Iterator[str]:
        """Yields the log as it grows; with ``follow``, until the job reaches a final phase."""
        jobs = self.service.jobs
        if task not in jobs.get(self.project, job_id)["status"]["tasks"]:
            raise NotFound("task", task)
        offset = 0
        while True:
            path = jobs.log_path(self.project, job_id, task)
            final = Phase(jobs.row(self.project, job_id).phase).is_final
            data = read_log(path, offset, 1 << 30)[0]
            if data:
                end = len(data) if final else data.rfind(b"\n") + 1
                if end:
                    offset += end
                    yield data[:end].decode("utf-8", "replace")
            if final or not follow:
                return
            time.sleep(0.2)
