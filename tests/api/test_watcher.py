"""The server's watcher moves jobs forward with nobody reading them."""

from __future__ import annotations

import time
from pathlib import Path

from fixtures.server import algorithm_body
from modelyard.service.app import Service
from modelyard.service.watcher import Watcher, reconcile
from modelyard.settings import Settings
from modelyard.store.models import JobRow


def phase_in_table(service: Service, job_id: str) -> str:
    """The stored phase, read without going through JobService (which would refresh it)."""
    with service.db.session() as s:
        row = s.get(JobRow, job_id)
        assert row is not None
        return row.phase


def test_watcher_finishes_jobs_nobody_reads(settings: Settings, code_dir: Path) -> None:
    service = Service(settings)
    service.algorithms.create("w", algorithm_body("algo", code_dir))
    job = service.jobs.create("w", {
        "metadata": {"name": "watched"},
        "algorithm": {"name": "algo", "parameters": [{"name": "epochs", "value": 1}],
                      "outputs": [{"name": "train_url",
                                   "remote": {"obs": {"obs_url": "obs://bucket/w/"}}}]}})
    job_id = job["metadata"]["id"]
    watcher = Watcher(service, interval=0.2)
    watcher.start()
    try:
        deadline = time.monotonic() + 60
        while phase_in_table(service, job_id) != "Completed":
            assert time.monotonic() < deadline, phase_in_table(service, job_id)
            time.sleep(0.2)
    finally:
        watcher.stop()
    assert reconcile(service) == 0  # nothing unfinished is left to look at
    service.close()
