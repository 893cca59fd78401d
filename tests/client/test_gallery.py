"""``modelyard.client.Gallery`` against a real keyed server: publish, subscribe, train,
withdraw, unsubscribe, with the server's errors raised as ApiError naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.server import ServerInfo, algorithm_body, write_code
from modelyard.client import Algorithm, ApiError, Gallery, ModelYardClient, OutputData

pytestmark = pytest.mark.slow


def client(server: ServerInfo, project: str) -> ModelYardClient:
    return ModelYardClient(server.url, access_key=server.ak, secret_key=server.sk,
                           project=project)


def test_gallery_client_round_trip(keyed_server: ServerInfo, tmp_path: Path) -> None:
    with client(keyed_server, "sdk-gallery-pub") as pub, \
            client(keyed_server, "sdk-gallery-sub") as sub:
        Algorithm.create(algorithm_body("sdk-gallery-algo", write_code(tmp_path)), client=pub)
        published = Gallery(pub).publish("sdk-gallery-algo", desc="from the SDK")
        assert Gallery(sub).get(published["content_id"])["versions"][0]["desc"] == "from the SDK"
        subscription = Gallery(sub).subscribe(published["content_id"])
        assert [s["subscription_id"] for s in Gallery(sub).subscriptions()] == [
            subscription["subscription_id"]]
        job = Gallery(sub).train(subscription["subscription_id"], published["version_id"],
                                 hyperparameters={"epochs": 3},
                                 outputs=[OutputData("train_url", "obs://sdk-gallery/run/")],
                                 job_name="sdk-gallery-job")
        assert job.wait(timeout=90).succeeded, job.fetch_status()
        assert "epoch 2 loss=0.333" in job.logs()
        assert job.record["algorithm"]["version_num"] == "1.0.0"

        with pytest.raises(ApiError) as unexposed:
            Gallery(sub).train(subscription["subscription_id"], published["version_id"],
                               hyperparameters={"momentum": 0.9})
        assert unexposed.value.status == 400
        assert unexposed.value.field == "algorithm.parameters[0].name"
        with pytest.raises(ApiError) as stranger:
            Gallery(sub).withdraw(published["content_id"], published["version_id"])
        assert stranger.value.status == 403
        assert Gallery(pub).withdraw(published["content_id"],
                                     published["version_id"])["status"] == "withdrawn"
        with pytest.raises(ApiError) as withdrawn:
            Gallery(sub).train(subscription["subscription_id"], published["version_id"])
        assert withdrawn.value.field == "algorithm.item_version_id"
        Gallery(sub).unsubscribe(subscription["subscription_id"])
        assert Gallery(sub).subscriptions() == []
