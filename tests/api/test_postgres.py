"""The service and the API on a real PostgreSQL (a fresh database per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.helpers import wait_final
from fixtures.server import algorithm_body, start_server, stop_server
from modelyard.api import create_app
from modelyard.client import Algorithm, Estimator, ModelYardClient, OutputData, TrainingJob
from modelyard.service.app import Service
from modelyard.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_api(settings: Settings, pg_url: str) -> Iterator[TestClient]:
    s = settings.model_copy(update={"db_url": pg_url})
    service = Service(s)
    assert not service.db.is_sqlite
    with TestClient(create_app(s, service), base_url="http://127.0.0.1") as client:
        yield client
    service.close()


def test_api_on_postgres(pg_api: TestClient, code_dir: Path) -> None:
    p = "/v2/pg"
    assert pg_api.post(f"{p}/algorithms", json=algorithm_body("pg-algo", code_dir)).status_code \
        == 201
    dup = pg_api.post(f"{p}/algorithms", json=algorithm_body("pg-algo", code_dir))
    assert dup.status_code == 409
    job = pg_api.post(f"{p}/training-jobs", json={
        "kind": "job", "metadata": {"name": "pg-job"},
        "algorithm": {"name": "pg-algo", "parameters": [{"name": "epochs", "value": 2}],
                      "outputs": [{"name": "train_url",
                                   "remote": {"obs": {"obs_url": "obs://pg-bucket/o/"}}}]}})
    assert job.status_code == 201, job.text
    job_id = job.json()["metadata"]["id"]
    assert wait_final(pg_api, "pg", job_id)["status"]["phase"] == "Completed"
    found = pg_api.post(f"{p}/training-job-searches", json={
        "filters": [{"key": "name", "operator": "like", "value": ["PG-"]},
                    {"key": "phase", "operator": "in", "value": ["Completed"]}]}).json()
    assert [i["metadata"]["id"] for i in found["items"]] == [job_id]
    assert pg_api.get(f"{p}/training-jobs/{job_id}/events").json()["total"] >= 2
    assert pg_api.delete(f"{p}/training-jobs/{job_id}").status_code == 202
    assert pg_api.delete(f"{p}/algorithms/pg-algo").status_code == 202


def test_server_with_postgres_keeps_records_across_restarts(
        pg_url: str, tmp_path: Path, code_dir: Path) -> None:
    keys = {"PGAK": "pg-secret"}
    server = start_server(tmp_path / "home", keys, db_url=pg_url)
    try:
        client = ModelYardClient(server.url, access_key="PGAK", secret_key="pg-secret",
                                 project="pg")
        algo = Algorithm.create(algorithm_body("pg-srv", code_dir), client=client)
        job = Estimator(algorithm=algo, hyperparameters={"epochs": 1},
                        outputs=[OutputData("train_url", "obs://pg-bucket/srv/")],
                        client=client).fit(wait=True, logs=False)
        assert job.succeeded
    finally:
        stop_server(server)
    assert "postgresql+psycopg://" in server.log_text() and "pg-secret" not in server.log_text()
    again = start_server(tmp_path / "home2", keys, db_url=pg_url)
    try:
        client = ModelYardClient(again.url, access_key="PGAK", secret_key="pg-secret",
                                 project="pg")
        assert [j.id for j in TrainingJob.list(client=client)] == [job.id]
        assert Algorithm.get("pg-srv", client=client).id == algo.id
    finally:
        stop_server(again)
