"""Helpers shared by the API tests."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

FINAL = {"Completed", "Failed", "Terminated", "Abnormal"}


def wait_final(api: TestClient, project: str, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Polls a job until it reaches a final phase (reading a job refreshes it)."""
    deadline = time.monotonic() + timeout
    while True:
        record: dict[str, Any] = api.get(f"/v2/{project}/training-jobs/{job_id}").json()
        if record["status"]["phase"] in FINAL or time.monotonic() > deadline:
            return record
        time.sleep(0.2)
