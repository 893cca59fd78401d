"""Compatibility proof: the official ``huaweicloudsdkmodelarts`` client, unchanged and
pointed at a real ``modelyard server`` with API keys, drives a job from algorithm to delete."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fixtures.server import ServerInfo

ma = pytest.importorskip("huaweicloudsdkmodelarts.v1")
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException  # noqa: E402

pytestmark = pytest.mark.slow
PROJECT = "sdk-project"


def sdk(server: ServerInfo, sk: str | None = None) -> ma.ModelArtsClient:
    return (ma.ModelArtsClient.new_builder()
            .with_credentials(BasicCredentials(server.ak, sk or server.sk, PROJECT))
            .with_endpoints([server.url]).build())


def test_official_sdk_end_to_end(keyed_server: ServerInfo, test_code: Path) -> None:
    client = sdk(keyed_server)
    algorithm = ma.Algorithm(
        metadata=ma.AlgorithmMetadata(name="sdk-algo", description="from the official SDK"),
        job_config=ma.AlgorithmJobConfig(
            code_dir=f"file://{test_code}/", boot_file="train.py",
            engine=ma.AlgorithmCreateEngine(engine_name="python", engine_version="3.11"),
            parameters=[ma.Parameters(name="epochs", value="3",
                                      constraint=ma.ParametersConstraint(type="Integer"))],
            outputs=[ma.AlgorithmCreateOutput(name="train_url")],
        ))
    created = client.create_algorithm(ma.CreateAlgorithmRequest(body=algorithm))
    assert created.metadata.name == "sdk-algo" and created.metadata.id
    shown = client.show_algorithm_by_uuid(
        ma.ShowAlgorithmByUuidRequest(algorithm_id=created.metadata.id))
    assert shown.job_config.boot_file == "train.py"
    listed = client.list_algorithms(ma.ListAlgorithmsRequest(limit=10))
    assert listed.total >= 1 and any(i.metadata.id == created.metadata.id for i in listed.items)

    job = ma.Job(
        kind="job",
        metadata=ma.JobMetadata(name="sdk-job", description="official SDK job"),
        algorithm=ma.JobAlgorithm(
            id=created.metadata.id,
            parameters=[ma.Parameters(name="epochs", value="4")],
            outputs=[ma.Output(name="train_url", remote=ma.Remote(
                obs=ma.RemoteObs(obs_url="obs://sdk-bucket/run-1/")))],
        ),
        spec=ma.Spec(resource=ma.SpecResource(flavor_id="modelarts.vm.cpu.1u", node_count=1)),
    )
    submitted = client.create_training_job(ma.CreateTrainingJobRequest(body=job))
    job_id = submitted.metadata.id
    assert submitted.algorithm.id == created.metadata.id

    deadline = time.monotonic() + 90
    phase = ""
    while time.monotonic() < deadline:
        details = client.show_training_job_details(
            ma.ShowTrainingJobDetailsRequest(training_job_id=job_id))
        phase = details.status.phase
        if phase in ("Completed", "Failed", "Terminated", "Abnormal"):
            break
        time.sleep(0.5)
    assert phase == "Completed", details.status
    assert details.status.task_statuses[0].exit_code == 0
    assert details.metadata.name == "sdk-job"

    found = client.list_training_jobs(ma.ListTrainingJobsRequest(body=ma.JobSearches(
        limit=10, filters=[ma.Filter(key="name", operator="like", value=["sdk-"])])))
    assert [i.metadata.id for i in found.items] == [job_id]

    events = client.list_training_job_events(
        ma.ListTrainingJobEventsRequest(training_job_id=job_id, limit=100))
    assert events.total >= 2 and events.events[0].message
    assert any("completed" in e.message.lower() for e in events.events)

    preview = client.show_training_job_logs_preview(
        ma.ShowTrainingJobLogsPreviewRequest(training_job_id=job_id, task_id="worker-0"))
    assert "epoch 3 loss=0.250" in preview.content and preview.full_size > 0

    flavors = client.show_training_job_flavors(ma.ShowTrainingJobFlavorsRequest())
    assert flavors.total_count >= 1 and flavors.flavors[0].flavor_id.startswith("modelarts.")
    engines = client.show_training_job_engines(ma.ShowTrainingJobEnginesRequest())
    assert engines.items[0].engine_name == "python"

    client.delete_training_job(ma.DeleteTrainingJobRequest(training_job_id=job_id))
    with pytest.raises(ClientRequestException) as missing:
        client.show_training_job_details(
            ma.ShowTrainingJobDetailsRequest(training_job_id=job_id))
    assert missing.value.status_code == 404
    assert missing.value.error_code == "ModelYard.NotFound"
    client.delete_algorithm(ma.DeleteAlgorithmRequest(algorithm_id=created.metadata.id))


def test_official_sdk_stop(keyed_server: ServerInfo, test_code: Path) -> None:
    client = sdk(keyed_server)
    job = ma.Job(kind="job", metadata=ma.JobMetadata(name="sdk-stop"), algorithm=ma.JobAlgorithm(
        code_dir=f"file://{test_code}/", boot_file="train.py",
        engine=ma.JobEngine(engine_name="python", engine_version="3.11"),
        parameters=[ma.Parameters(name="epochs", value="200"),
                    ma.Parameters(name="sleep", value="0.2")]))
    job_id = client.create_training_job(ma.CreateTrainingJobRequest(body=job)).metadata.id
    deadline = time.monotonic() + 60
    preview = ma.ShowTrainingJobLogsPreviewRequest(training_job_id=job_id, task_id="worker-0")
    while "epoch 0" not in client.show_training_job_logs_preview(preview).content:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.2)
    stopped = client.stop_training_job(ma.StopTrainingJobRequest(
        training_job_id=job_id, body=ma.JobActionType(action_type="terminate")))
    assert stopped.status.phase in ("Terminating", "Terminated")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.show_training_job_details(
            ma.ShowTrainingJobDetailsRequest(training_job_id=job_id)).status
        if status.phase == "Terminated":
            break
        time.sleep(0.5)
    assert status.phase == "Terminated"


def test_wrong_secret_key_is_401(keyed_server: ServerInfo) -> None:
    client = sdk(keyed_server, sk="not-the-secret")
    with pytest.raises(ClientRequestException) as info:
        client.list_algorithms(ma.ListAlgorithmsRequest(limit=5))
    assert info.value.status_code == 401
    assert info.value.error_code == "ModelYard.Unauthorized"
    log = keyed_server.log_text()
    assert "401 GET /v2/sdk-project/algorithms" in log
    assert "not-the-secret" not in log and keyed_server.sk not in log
