"""Plain clients for algorithms and training jobs.

``Algorithm`` and ``TrainingJob`` are handles on server records: class methods create, get
and list them; instances refresh, wait, stream logs, stop and delete. They hold the record
as the server returned it (ModelArts v2 JSON), so nothing is lost in translation.
"""

from __future__ import annotations

import builtins
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from modelyard.client.http import PAGE, ModelYardClient
from modelyard.client.paging import every_item
from modelyard.spec.loader import read_document

FINAL_PHASES = frozenset({"Completed", "Failed", "Terminated", "Abnormal"})


def _client(client: ModelYardClient | None) -> ModelYardClient:
    return client or ModelYardClient()


class Algorithm:
    def __init__(self, record: dict[str, Any], client: ModelYardClient | None = None) -> None:
        self.record = record
        self.client = _client(client)
        self.warnings: list[str] = []

    @property
    def id(self) -> str:
        return str(self.record["metadata"]["id"])

    @property
    def name(self) -> str:
        return str(self.record["metadata"]["name"])

    def __repr__(self) -> str:
        return f"Algorithm(name={self.name!r}, id={self.id!r})"

    @classmethod
    def create(cls, body: dict[str, Any] | str | Path,
               client: ModelYardClient | None = None) -> Algorithm:
        """From a ModelArts v2 algorithm dict, or a YAML/JSON file holding one."""
        if isinstance(body, str | Path):
            body = read_document(body)
        c = _client(client)
        record = dict(c.create_algorithm(body))
        algorithm = cls(record, c)
        algorithm.warnings = list(record.pop("warnings", None) or [])
        return algorithm

    @classmethod
    def get(cls, ident: str, client: ModelYardClient | None = None) -> Algorithm:
        """By id or name."""
        c = _client(client)
        return cls(c.get_algorithm(ident), c)

    @classmethod
    def list(cls, name: str | None = None,
             client: ModelYardClient | None = None) -> list[Algorithm]:
        c = _client(client)
        pages = every_item(lambda offset: c.list_algorithms(offset=offset, limit=1000, name=name))
        return [cls(record, c) for record in pages]

    def update(self, changes: dict[str, Any]) -> Algorithm:
        self.record = self.client.update_algorithm(self.id, changes)
        return self

    def delete(self) -> None:
        self.client.delete_algorithm(self.id)


class TrainingJob:
    def __init__(self, record: dict[str, Any], client: ModelYardClient | None = None) -> None:
        self.record = record
        self.client = _client(client)

    @property
    def id(self) -> str:
        return str(self.record["metadata"]["id"])

    @property
    def name(self) -> str:
        return str(self.record["metadata"]["name"])

    def __repr__(self) -> str:
        return f"TrainingJob(name={self.name!r}, id={self.id!r}, phase={self.phase!r})"

    @classmethod
    def create(cls, body: dict[str, Any], client: ModelYardClient | None = None) -> TrainingJob:
        """From a ModelArts v2 training-job dict."""
        c = _client(client)
        return cls(c.create_job(body), c)

    @classmethod
    def get(cls, job_id: str, client: ModelYardClient | None = None) -> TrainingJob:
        c = _client(client)
        return cls(c.get_job(job_id), c)

    @classmethod
    def list(cls, phase: str | None = None, filters: list[dict[str, Any]] | None = None,
             client: ModelYardClient | None = None) -> list[TrainingJob]:
        """Newest first; ``filters`` as in ModelArts' job search ({key, operator, value})."""
        c = _client(client)
        wanted = list(filters or [])
        if phase:
            wanted.append({"key": "phase", "operator": "in", "value": [phase]})
        pages = every_item(lambda offset: c.search_jobs(offset=offset, limit=PAGE,
                                                        filters=wanted))
        return [cls(record, c) for record in pages]

    # -------------------------------------------------------------- status
    def refresh(self) -> TrainingJob:
        self.record = self.client.get_job(self.id)
        return self

    def fetch_status(self) -> dict[str, Any]:
        """The job's current ``status``, fetched from the server (one request); ``phase``,
        ``done`` and ``succeeded`` then read it without another request."""
        status: dict[str, Any] = self.refresh().record["status"]
        return status

    @property
    def status(self) -> dict[str, Any]:
        """Deprecated: a property that makes a request reads like a field; use
        ``fetch_status()`` (one request) or ``phase`` (none)."""
        warnings.warn("TrainingJob.status fetches from the server; call fetch_status() "
                      "instead", DeprecationWarning, stacklevel=2)
        return self.fetch_status()

    @property
    def phase(self) -> str:
        """The phase as of the last fetch (``fetch_status()``, ``refresh()`` or ``wait()``);
        never a request."""
        return str(self.record["status"]["phase"])

    @property
    def done(self) -> bool:
        return self.phase in FINAL_PHASES

    @property
    def succeeded(self) -> bool:
        return self.phase == "Completed"

    def wait(self, timeout: float | None = None, poll: float = 1.0,
             logs: bool | TextIO = False) -> TrainingJob:
        """Blocks until the job reaches a final phase; with ``logs`` (True = stdout, or a
        text stream) the log is streamed meanwhile. Raises TimeoutError after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if logs:
            out = sys.stdout if logs is True else logs
            for chunk in self.client.stream_log(self.id, follow=True):
                out.write(chunk)
                out.flush()
                if deadline is not None and time.monotonic() > deadline:
                    break
        while self.fetch_status()["phase"] not in FINAL_PHASES:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"training job {self.id} is still {self.phase} after "
                                   f"{timeout} s")
            time.sleep(poll)
        return self

    # ---------------------------------------------------------------- logs
    def logs(self, task: str = "worker-0") -> str:
        """The whole log so far."""
        return "".join(self.client.stream_log(self.id, task=task, follow=False))

    def stream_logs(self, follow: bool = True, task: str = "worker-0") -> Iterator[str]:
        """Chunks of the log as it grows; with ``follow``, until the job ends."""
        return self.client.stream_log(self.id, task=task, follow=follow)

    def log_preview(self, task: str = "worker-0") -> dict[str, Any]:
        """ModelArts' preview: {content, current_size, full_size} of the log's last part."""
        return self.client.log_preview(self.id, task)

    def events(self) -> builtins.list[dict[str, Any]]:
        return builtins.list(every_item(
            lambda offset: self.client.job_events(self.id, offset=offset), "events"))

    # ------------------------------------------------------------- control
    def stop(self) -> TrainingJob:
        self.record = self.client.stop_job(self.id)
        return self

    def delete(self) -> None:
        self.client.delete_job(self.id)
