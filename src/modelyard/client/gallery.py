"""The gallery from Python (seed S1.1): publish, browse, subscribe, train from a
subscription.

    gallery = Gallery()
    sub = gallery.subscribe("modelyard-digits")
    job = gallery.train(sub["subscription_id"], sub["item_versions"][-1]["item_version_id"],
                        hyperparameters={"epochs": 5},
                        inputs=[InputData("data_url", "obs://demo/digits/data/")],
                        outputs=[OutputData("train_url", "obs://demo/runs/g1/")])
    job.wait()
"""

from __future__ import annotations

import builtins
import time
from typing import Any

from modelyard.client.estimator import InputData, OutputData
from modelyard.client.http import ModelYardClient, _seg
from modelyard.client.paging import every_item
from modelyard.client.resources import TrainingJob


class Gallery:
    """One method per gallery endpoint, in the client's project."""

    def __init__(self, client: ModelYardClient | None = None) -> None:
        self.client = client or ModelYardClient()

    def _path(self, rest: str) -> str:
        return f"/v2/{_seg(self.client.project)}{rest}"

    def publish(self, algorithm: str, content_id: str | None = None,
                version_num: str | None = None, desc: str | None = None) -> dict[str, Any]:
        """Publishes this project's algorithm (id or name): a new asset, or a new version
        of ``content_id``. Returns {content_id, version_id, version_num, content_uri}."""
        info = {k: v for k, v in (("version_num", version_num), ("desc", desc)) if v}
        body: dict[str, Any] = {"algorithm": {"id": algorithm}, "content_info": info}
        if content_id:
            body["content_id"] = content_id
        result: dict[str, Any] = self.client.request(
            "POST", self._path("/gallery-algorithm-publication"), json=body)
        return result

    def list(self, name: str | None = None) -> builtins.list[dict[str, Any]]:
        def page(offset: int) -> dict[str, Any]:
            params: dict[str, Any] = {"offset": offset, "limit": 1000}
            if name:
                params["name"] = name
            result: dict[str, Any] = self.client.request(
                "GET", self._path("/gallery-algorithms"), params=params)
            return result

        return builtins.list(every_item(page))

    def get(self, content_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.client.request(
            "GET", self._path(f"/gallery-algorithms/{_seg(content_id)}"))
        return result

    def withdraw(self, content_id: str, version_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.client.request(
            "POST", self._path(f"/gallery-algorithms/{_seg(content_id)}/versions/"
                               f"{_seg(version_id)}/actions"),
            json={"action_type": "withdraw"})
        return result

    def subscribe(self, content_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.client.request(
            "POST", self._path("/gallery-subscriptions"), json={"content_id": content_id})
        return result

    def subscriptions(self) -> builtins.list[dict[str, Any]]:
        result = self.client.request("GET", self._path("/gallery-subscriptions"))
        return list(result["items"])

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.client.request(
            "GET", self._path(f"/gallery-subscriptions/{_seg(subscription_id)}"))
        return result

    def unsubscribe(self, subscription_id: str) -> None:
        self.client.request("DELETE",
                            self._path(f"/gallery-subscriptions/{_seg(subscription_id)}"))

    def train(self, subscription_id: str, item_version_id: str, *,
              hyperparameters: dict[str, Any] | None = None,
              inputs: builtins.list[InputData] | None = None,
              outputs: builtins.list[OutputData] | None = None,
              job_name: str | None = None, flavor: str | None = None) -> TrainingJob:
        """Submits a training job that runs the subscribed version (its code and engine are
        the publisher's; only exposed hyperparameters and channels may be set)."""
        return TrainingJob.create(job_body(
            subscription_id, item_version_id, hyperparameters=hyperparameters, inputs=inputs,
            outputs=outputs, job_name=job_name, flavor=flavor), self.client)


def job_body(subscription_id: str, item_version_id: str, *,
             hyperparameters: dict[str, Any] | None = None,
             inputs: list[InputData] | None = None, outputs: list[OutputData] | None = None,
             job_name: str | None = None, flavor: str | None = None) -> dict[str, Any]:
    """The ModelArts v2 training-job JSON of a job from a subscription."""
    algorithm: dict[str, Any] = {
        "subscription_id": subscription_id, "item_version_id": item_version_id,
        "parameters": [{"name": k, "value": v} for k, v in (hyperparameters or {}).items()],
        "inputs": [i.body() for i in inputs or []],
        "outputs": [o.body() for o in outputs or []],
    }
    spec: dict[str, Any] = {"resource": {"flavor_id": flavor}} if flavor else {}
    name = job_name or f"gallery-{time.strftime('%Y%m%d-%H%M%S')}"
    return {"kind": "job", "metadata": {"name": name[:64]}, "algorithm": algorithm,
            "spec": spec}
