"""The Python SDK (Estimator, Algorithm, TrainingJob) against a real keyed server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from fixtures.server import ServerInfo, algorithm_body
from modelyard.client import (
    Algorithm,
    ApiError,
    Estimator,
    InputData,
    ModelYardClient,
    OutputData,
    TrainingJob,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def client(keyed_server: ServerInfo, request: pytest.FixtureRequest) -> ModelYardClient:
    project = "sdk-" + request.node.name.replace("_", "-")[:40]
    return ModelYardClient(keyed_server.url, access_key=keyed_server.ak,
                           secret_key=keyed_server.sk, project=project)


def test_estimator_fit_wait_logs(client: ModelYardClient, test_code: Path,
                                 tmp_path: Path) -> None:
    algo = Algorithm.create(algorithm_body("est-algo", test_code), client=client)
    assert algo.warnings == [] and Algorithm.get("est-algo", client=client).id == algo.id
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.txt").write_text("1 2 3")
    out = io.StringIO()
    estimator = Estimator(algorithm=algo, hyperparameters={"epochs": 3},
                          outputs=[OutputData("train_url", "obs://est-bucket/run/")],
                          flavor="modelarts.vm.cpu.1u", client=client)
    body = estimator.job_body([InputData("data_url", f"file://{data}/")])
    assert body["algorithm"]["id"] == algo.id
    job = estimator.fit(wait=True, logs=out)
    assert job.succeeded, job.fetch_status()
    assert job.fetch_status()["phase"] == job.phase == "Completed"
    with pytest.warns(DeprecationWarning, match="fetch_status"):
        assert job.status["phase"] == "Completed"  # the old fetching property, deprecated
    assert "epoch 2 loss=0.333" in out.getvalue()
    assert "epoch 2 loss=0.333" in job.logs()
    assert job.log_preview()["full_size"] > 0
    assert any(e["source"] == "Job" for e in job.events())
    assert [j.id for j in TrainingJob.list(client=client)] == [job.id]
    assert [j.id for j in TrainingJob.list(phase="Completed", client=client)] == [job.id]
    job.delete()
    with pytest.raises(ApiError) as missing:
        TrainingJob.get(job.id, client=client)
    assert missing.value.status == 404


def test_estimator_by_name_stop_and_errors(client: ModelYardClient, test_code: Path) -> None:
    Algorithm.create(algorithm_body("est-stop", test_code), client=client)
    with pytest.raises(ApiError) as bad:
        Estimator(algorithm="est-stop", hyperparameters={"epochs": "lots"},
                  client=client).fit(wait=False)
    assert bad.value.status == 400 and bad.value.field == "algorithm.parameters[0].value"
    job = Estimator(algorithm="est-stop", hyperparameters={"epochs": 500, "sleep": 0.2},
                    outputs=[OutputData("train_url", "obs://est-bucket/stop/")],
                    client=client).fit(wait=False)
    chunks = job.stream_logs(follow=True)
    seen = ""
    while "epoch 0" not in seen:
        seen += next(chunks)
    job.stop()
    assert job.phase in ("Terminating", "Terminated")
    rest = "".join(chunks)  # the stream ends when the job does
    assert job.wait(timeout=60).phase == "Terminated"
    assert "epoch 499" not in rest


def test_inline_estimator(client: ModelYardClient, test_code: Path) -> None:
    job = Estimator(code_dir=f"file://{test_code}/", boot_file="train.py",
                    engine_name="python", engine_version="3.11",
                    hyperparameters={"epochs": 1}, client=client).fit(wait=True, logs=False)
    assert job.succeeded
    assert "training done" in job.logs()


def test_unreachable_server_is_a_clear_error() -> None:
    from fixtures.server import free_port

    client = ModelYardClient(f"http://127.0.0.1:{free_port()}", project="x")
    with pytest.raises(ApiError, match="cannot reach the ModelYard server"):
        Algorithm.list(client=client)
