"""The official ``huaweicloudsdkmodelarts`` client publishes to our gallery
(``create_algorithm_version_to_gallery``) and trains from a subscription
(``algorithm.subscription_id`` + ``item_version_id``), against a real keyed server.

The SDK has no call for our subscription endpoint; the subscriber subscribes with our
signed client (modelyard.client.Gallery), exactly as the SDK would sign it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fixtures.server import ServerInfo, write_code
from modelyard.client import Gallery, ModelYardClient

ma = pytest.importorskip("huaweicloudsdkmodelarts.v1")
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException  # noqa: E402

pytestmark = pytest.mark.slow
PUBLISHER, SUBSCRIBER = "gallery-publisher", "gallery-subscriber"


def sdk(server: ServerInfo, project: str) -> ma.ModelArtsClient:
    return (ma.ModelArtsClient.new_builder()
            .with_credentials(BasicCredentials(server.ak, server.sk, project))
            .with_endpoints([server.url]).build())


def wait_phase(client: ma.ModelArtsClient, job_id: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while True:
        phase: str = client.show_training_job_details(
            ma.ShowTrainingJobDetailsRequest(training_job_id=job_id)).status.phase
        if phase in ("Completed", "Failed", "Terminated", "Abnormal") or \
                time.monotonic() > deadline:
            return phase
        time.sleep(0.5)


def test_official_sdk_publishes_and_trains_from_a_subscription(
        keyed_server: ServerInfo, tmp_path: Path) -> None:
    code = write_code(tmp_path / "published")
    publisher = sdk(keyed_server, PUBLISHER)
    algorithm = publisher.create_algorithm(ma.CreateAlgorithmRequest(body=ma.Algorithm(
        metadata=ma.AlgorithmMetadata(name="gallery-algo", description="for the gallery"),
        job_config=ma.AlgorithmJobConfig(
            code_dir=f"file://{code}/", boot_file="train.py",
            engine=ma.AlgorithmCreateEngine(engine_name="python", engine_version="3.11"),
            parameters=[ma.Parameters(name="epochs", value="2",
                                      constraint=ma.ParametersConstraint(type="Integer"))],
            outputs=[ma.AlgorithmCreateOutput(name="train_url")]))))
    published = publisher.create_algorithm_version_to_gallery(
        ma.CreateAlgorithmVersionToGalleryRequest(body=ma.CreateAlgorithmVersionToGalleryBody(
            content_info=ma.ContentInfo(desc="first version"),
            algorithm=ma.AlgorithmInfo(id=algorithm.metadata.id))))
    assert published.content_id and published.version_id and published.version_num == "1.0.0"
    assert published.content_uri.endswith(published.content_id)

    # The publisher keeps working on its code; version 2 is a new version of the same asset.
    (code / "train.py").write_text("raise SystemExit('edited after publishing')\n")
    second = publisher.create_algorithm_version_to_gallery(
        ma.CreateAlgorithmVersionToGalleryRequest(body=ma.CreateAlgorithmVersionToGalleryBody(
            content_id=published.content_id, content_info=ma.ContentInfo(version_num="2.0.0"),
            algorithm=ma.AlgorithmInfo(id=algorithm.metadata.id))))
    assert second.content_id == published.content_id and second.version_num == "2.0.0"

    with ModelYardClient(keyed_server.url, access_key=keyed_server.ak,
                         secret_key=keyed_server.sk, project=SUBSCRIBER) as ours:
        listed = Gallery(ours).list(name="gallery-algo")
        assert [v["version_num"] for v in listed[0]["versions"]] == ["1.0.0", "2.0.0"]
        sub = Gallery(ours).subscribe(published.content_id)
    assert [v["item_version_id"] for v in sub["item_versions"]] == [published.version_id,
                                                                   second.version_id]

    subscriber = sdk(keyed_server, SUBSCRIBER)

    def job(version_id: str, name: str, **extra: object) -> ma.CreateTrainingJobRequest:
        return ma.CreateTrainingJobRequest(body=ma.Job(
            kind="job", metadata=ma.JobMetadata(name=name),
            algorithm=ma.JobAlgorithm(
                subscription_id=sub["subscription_id"], item_version_id=version_id,
                outputs=[ma.Output(name="train_url", remote=ma.Remote(
                    obs=ma.RemoteObs(obs_url=f"obs://gallery-out/{name}/")))],
                **extra),
            spec=ma.Spec(resource=ma.SpecResource(flavor_id="modelarts.vm.cpu.1u",
                                                  node_count=1))))

    created = subscriber.create_training_job(job(
        published.version_id, "from-v1", parameters=[ma.Parameters(name="epochs", value="3")]))
    assert created.algorithm.subscription_id == sub["subscription_id"]
    assert created.algorithm.item_version_id == published.version_id
    assert wait_phase(subscriber, created.metadata.id) == "Completed"
    preview = subscriber.show_training_job_logs_preview(ma.ShowTrainingJobLogsPreviewRequest(
        training_job_id=created.metadata.id, task_id="worker-0"))
    assert "epoch 2 loss=0.333" in preview.content  # the published code, not the edit

    # Version 2 snapshotted the edited code: it runs (and fails) as published.
    edited = subscriber.create_training_job(job(second.version_id, "from-v2"))
    assert wait_phase(subscriber, edited.metadata.id) == "Failed"

    with pytest.raises(ClientRequestException) as refused:
        subscriber.create_training_job(job(
            published.version_id, "unexposed",
            parameters=[ma.Parameters(name="learning_rate", value="0.1")]))
    assert refused.value.status_code == 400
    assert "algorithm.parameters[0].name: 'learning_rate' is not allowed" in \
        refused.value.error_msg
    with pytest.raises(ClientRequestException) as other_code:
        subscriber.create_training_job(job(published.version_id, "own-code",
                                           code_dir="obs://gallery-out/mine/"))
    assert other_code.value.status_code == 400
    assert other_code.value.error_msg.startswith("algorithm.code_dir:")
    with pytest.raises(ClientRequestException) as stranger:
        sdk(keyed_server, "gallery-stranger").create_algorithm_version_to_gallery(
            ma.CreateAlgorithmVersionToGalleryRequest(
                body=ma.CreateAlgorithmVersionToGalleryBody(
                    content_id=published.content_id,
                    algorithm=ma.AlgorithmInfo(id=algorithm.metadata.id))))
    assert stranger.value.status_code == 400  # not its algorithm: named before ownership
    assert "algorithm.id" in stranger.value.error_msg
