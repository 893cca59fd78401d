"""An in-process app per test (TestClient), over the isolated home of fixtures.home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelyard.api import create_app
from modelyard.service.app import Service
from modelyard.settings import Settings

FINAL = {"Completed", "Failed", "Terminated", "Abnormal"}


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    service = Service(settings)
    with TestClient(create_app(settings, service)) as client:
        yield client
    service.close()


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    from fixtures.server import write_code

    return write_code(tmp_path / "algo")


def wait_final(api: TestClient, project: str, job_id: str, timeout: float = 60) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        record: dict[str, Any] = api.get(f"/v2/{project}/training-jobs/{job_id}").json()
        if record["status"]["phase"] in FINAL or time.monotonic() > deadline:
            return record
        time.sleep(0.2)
