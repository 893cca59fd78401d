"""The gallery's endpoints: shapes, and every refusal as {error_code, error_msg} with the
right status and the field named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.helpers import wait_final
from fixtures.server import algorithm_body

pytestmark = pytest.mark.slow  # one test runs a real job

PUB, SUB = "pub", "sub"


@pytest.fixture
def published(api: TestClient, code_dir: Path) -> dict[str, Any]:
    assert api.post(f"/v2/{PUB}/algorithms", json=algorithm_body("algo", code_dir)).status_code \
        == 201
    r = api.post(f"/v2/{PUB}/gallery-algorithm-publication", json={"algorithm": {"id": "algo"}})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def subscribe(api: TestClient, content_id: str, project: str = SUB) -> dict[str, Any]:
    r = api.post(f"/v2/{project}/gallery-subscriptions", json={"content_id": content_id})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def job(sub: dict[str, Any], version_id: str, **algorithm: Any) -> dict[str, Any]:
    return {"metadata": {"name": "from-gallery"}, "algorithm": {
        "subscription_id": sub["subscription_id"], "item_version_id": version_id,
        "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": "obs://out/g/"}}}],
        **algorithm}}


def error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) >= {"error_code", "error_msg"} and "Traceback" not in r.text
    return body


def test_browse_subscribe_train_and_unsubscribe(api: TestClient,
                                                published: dict[str, Any]) -> None:
    listed = api.get(f"/v2/{SUB}/gallery-algorithms").json()
    assert listed["total"] == 2  # ours and the digits asset every install ships
    assert {a["content_id"] for a in listed["items"]} == {published["content_id"],
                                                          "modelyard-digits"}
    shown = api.get(f"/v2/{SUB}/gallery-algorithms/{published['content_id']}").json()
    assert shown["publisher"] == PUB and shown["versions"][0]["status"] == "published"
    sub = subscribe(api, published["content_id"])
    assert sub["content_id"] == published["content_id"]
    assert sub["item_versions"] == [{"item_version_id": published["version_id"],
                                     "version_num": "1.0.0", "status": "published"}]
    assert api.get(f"/v2/{SUB}/gallery-subscriptions").json()["total"] == 1
    assert api.get(f"/v2/{PUB}/gallery-subscriptions").json()["total"] == 0
    r = api.post(f"/v2/{SUB}/training-jobs", json=job(sub, published["version_id"], parameters=[
        {"name": "epochs", "value": 3}]))
    assert r.status_code == 201, r.text
    done = wait_final(api, SUB, r.json()["metadata"]["id"])
    assert done["status"]["phase"] == "Completed", done["status"]
    assert done["algorithm"]["content_id"] == published["content_id"]
    assert done["algorithm"]["version_num"] == "1.0.0"
    sid = sub["subscription_id"]
    error(api.get(f"/v2/{PUB}/gallery-subscriptions/{sid}"), 404)  # another project's
    error(api.delete(f"/v2/{PUB}/gallery-subscriptions/{sid}"), 404)
    assert api.delete(f"/v2/{SUB}/gallery-subscriptions/{sid}").status_code == 202
    error(api.get(f"/v2/{SUB}/gallery-subscriptions/{sid}"), 404)


def test_refusals_name_the_field(api: TestClient, published: dict[str, Any]) -> None:
    sub = subscribe(api, published["content_id"])
    body = error(api.post(f"/v2/{SUB}/training-jobs", json=job(
        sub, published["version_id"], parameters=[{"name": "momentum", "value": 0.9}])), 400)
    assert body["field"] == "algorithm.parameters[0].name" and "momentum" in body["error_msg"]
    body = error(api.post(f"/v2/{SUB}/training-jobs", json=job(
        sub, published["version_id"], engine={"engine_name": "python",
                                               "engine_version": "3.12"})), 400)
    assert body["field"] == "algorithm.engine" and "publisher" in body["rule"]
    assert api.post(f"/v2/{SUB}/training-job-searches", json={}).json()["total"] == 0
    body = error(api.post(f"/v2/{SUB}/gallery-subscriptions",
                          json={"content_id": published["content_id"]}), 409)
    assert sub["subscription_id"] in body["error_msg"]
    body = error(api.post(f"/v2/{SUB}/gallery-subscriptions", json={"content_id": "nope"}), 400)
    assert body["field"] == "content_id"
    body = error(api.post(f"/v2/{SUB}/gallery-subscriptions", json={"content_id": "../x"}), 400)
    assert body["field"] == "content_id"
    body = error(api.post(f"/v2/{SUB}/gallery-subscriptions", content=b"[1]",
                           headers={"Content-Type": "application/json"}), 400)
    assert body["field"] == "body"
    body = error(api.post(f"/v2/{PUB}/gallery-algorithm-publication",
                          json={"algorithm": {"id": "algo"},
                                "content_info": {"version_num": "1.0.0"},
                                "content_id": published["content_id"]}), 409)
    assert "content_info.version_num" in body["error_msg"]
    body = error(api.post(f"/v2/{PUB}/gallery-algorithm-publication",
                          json={"algorithm": {"id": "algo"},
                                "content_info": {"desc": "<script>"}}), 400)
    assert body["field"] == "content_info.desc"
    error(api.get(f"/v2/{SUB}/gallery-algorithms/nope"), 404)


def test_withdraw_is_the_publishers_action(api: TestClient,
                                           published: dict[str, Any]) -> None:
    sub = subscribe(api, published["content_id"])
    action = (f"/gallery-algorithms/{published['content_id']}/versions/"
              f"{published['version_id']}/actions")
    body = error(api.post(f"/v2/{SUB}{action}", json={"action_type": "withdraw"}), 403)
    assert body["error_code"] == "ModelYard.Forbidden"
    body = error(api.post(f"/v2/{PUB}{action}", json={"action_type": "delete"}), 400)
    assert body["field"] == "action_type"
    r = api.post(f"/v2/{PUB}{action}", json={"action_type": "withdraw"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    error(api.post(f"/v2/{PUB}{action}", json={"action_type": "withdraw"}), 409)
    body = error(api.post(f"/v2/{SUB}/training-jobs", json=job(sub, published["version_id"])),
                 400)
    assert body["field"] == "algorithm.item_version_id" and "withdrawn" in body["rule"]
    shown = api.get(f"/v2/{SUB}/gallery-subscriptions/{sub['subscription_id']}").json()
    assert shown["item_versions"][0]["status"] == "withdrawn"
