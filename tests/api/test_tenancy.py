"""Two users in two projects, through our SDK and the official one, against a real server:
neither can see, change or delete the other's algorithms, jobs, logs, events, buckets,
file systems or searches; a viewer reads and changes nothing; events say who did what."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.conftest import Tenants
from fixtures.server import algorithm_body
from modelyard.client.http import ApiError, ModelYardClient, SdkHmacAuth

ma = pytest.importorskip("huaweicloudsdkmodelarts.v1")
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException  # noqa: E402

pytestmark = pytest.mark.slow
FINAL = {"Completed", "Failed", "Terminated", "Abnormal"}


def ours(t: Tenants, user: str, project: str) -> ModelYardClient:
    ak, sk = t.keys[user]
    return ModelYardClient(t.server.url, access_key=ak, secret_key=sk, project=project)


def official(t: Tenants, user: str, project: str) -> Any:
    ak, sk = t.keys[user]
    return (ma.ModelArtsClient.new_builder()
            .with_credentials(BasicCredentials(ak, sk, project))
            .with_endpoints([t.server.url]).build())


def raw(t: Tenants, user: str) -> httpx.Client:
    ak, sk = t.keys[user]
    return httpx.Client(base_url=t.server.url, auth=SdkHmacAuth(ak, sk), timeout=30)


def status_of(call: Callable[[], object]) -> int:
    try:
        call()
    except ApiError as exc:
        return exc.status
    except ClientRequestException as exc:
        return int(exc.status_code)
    return 200


def job_body(name: str, algorithm: str, bucket: str) -> dict[str, Any]:
    return {"kind": "job", "metadata": {"name": name},
            "algorithm": {"name": algorithm, "parameters": [{"name": "epochs", "value": 1}],
                          "outputs": [{"name": "train_url", "remote": {
                              "obs": {"obs_url": f"obs://{bucket}/{name}/"}}}]}}


def wait_final(client: ModelYardClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        record = client.get_job(job_id)
        if record["status"]["phase"] in FINAL or time.monotonic() > deadline:
            return record
        time.sleep(0.3)


def test_two_users_cannot_reach_each_other(tenants: Tenants, test_code: Path) -> None:
    # bob makes one of everything in teamb.
    bob = ours(tenants, "bob", "teamb")
    algo = bob.create_algorithm(algorithm_body("bob-algo", test_code))
    algo_id = algo["metadata"]["id"]
    job_id = bob.create_job(job_body("bob-job", "bob-algo", "bob-bucket"))["metadata"]["id"]
    assert wait_final(bob, job_id)["status"]["phase"] == "Completed"
    with raw(tenants, "bob") as http:
        up = http.post("/v2/teamb/storage/object", params={"url": "obs://bob-bucket/d.txt"},
                       content=b"bob's data",
                       headers={"Content-Type": "application/octet-stream"})
        assert up.status_code == 201, up.text
        assert http.post("/v2/teamb/filesystems", json={"name": "bobfs"}).status_code == 201

    # alice, naming bob's project: 403 for every kind of record.
    alice_b = ours(tenants, "alice", "teamb")
    with raw(tenants, "alice") as http:
        refused_in_b = {
            "algorithms": lambda: alice_b.list_algorithms(),
            "algorithm": lambda: alice_b.get_algorithm(algo_id),
            "job": lambda: alice_b.get_job(job_id),
            "delete job": lambda: alice_b.delete_job(job_id),
            "stop job": lambda: alice_b.stop_job(job_id),
            "log": lambda: alice_b.log_preview(job_id),
            "events": lambda: alice_b.job_events(job_id),
            "searches": lambda: alice_b.search_jobs(),
            "file systems": lambda: http.get("/v2/teamb/filesystems").raise_for_status(),
            "buckets": lambda: http.get("/v2/teamb/storage/buckets").raise_for_status(),
        }
        for what, call in refused_in_b.items():
            try:
                code = status_of(call)
            except httpx.HTTPStatusError as exc:
                code = exc.response.status_code
            assert code == 403, what

        # alice in her own project, with bob's ids: 404, nothing changes.
        alice = ours(tenants, "alice", "teama")
        not_found = {
            "algorithm": lambda: alice.get_algorithm(algo_id),
            "delete algorithm": lambda: alice.delete_algorithm(algo_id),
            "job": lambda: alice.get_job(job_id),
            "delete job": lambda: alice.delete_job(job_id),
            "log": lambda: alice.log_preview(job_id),
            "events": lambda: alice.job_events(job_id),
            "update": lambda: alice.update_job(job_id, "mine now"),
        }
        for what, call in not_found.items():
            assert status_of(call) == 404, what
        assert all(i["metadata"]["id"] != job_id for i in alice.search_jobs()["items"])
        for path in ("/v2/teama/filesystems/bobfs", f"/v2/teama/training-jobs/{job_id}"
                     "/autosearch-trials"):
            assert http.get(path).status_code == 404, path
        assert http.delete("/v2/teama/filesystems/bobfs").status_code == 404

        # Buckets belong to teamb: alice cannot list, read, write or use them in a job.
        assert http.get("/v2/teama/storage/objects",
                        params={"url": "obs://bob-bucket/"}).status_code == 403
        assert http.get("/v2/teama/storage/object",
                        params={"url": "obs://bob-bucket/d.txt"}).status_code == 403
        assert http.post("/v2/teama/storage/object", params={"url": "obs://bob-bucket/x"},
                         content=b"x", headers={"Content-Type": "application/octet-stream"}
                         ).status_code == 403
        assert "bob-bucket" not in str(http.get("/v2/teama/storage/buckets").json())
        assert http.post("/v2/teama/filesystems/anyfs/tasks", json={
            "type": "preload", "src": "obs://bob-bucket/"}).status_code in (403, 404)
        alice.create_algorithm(algorithm_body("alice-algo", test_code))
        stolen = status_of(lambda: alice.create_job(job_body("steal", "alice-algo",
                                                             "bob-bucket")))
        assert stolen == 403

    # The official SDK as alice: the same answers.
    sdk_a, sdk_b = official(tenants, "alice", "teama"), official(tenants, "alice", "teamb")
    assert status_of(lambda: sdk_a.show_training_job_details(
        ma.ShowTrainingJobDetailsRequest(training_job_id=job_id))) == 404
    assert status_of(lambda: sdk_a.delete_training_job(
        ma.DeleteTrainingJobRequest(training_job_id=job_id))) == 404
    assert status_of(lambda: sdk_b.show_training_job_details(
        ma.ShowTrainingJobDetailsRequest(training_job_id=job_id))) == 403
    assert status_of(lambda: sdk_b.list_algorithms(ma.ListAlgorithmsRequest())) == 403
    assert status_of(lambda: sdk_b.delete_algorithm(
        ma.DeleteAlgorithmRequest(algorithm_id=algo_id))) == 403
    listed = sdk_a.list_training_jobs(ma.ListTrainingJobsRequest(body=ma.JobSearches(limit=50)))
    assert all(i.metadata.id != job_id for i in listed.items or [])

    # bob still has all of it, and the events say who created the job.
    assert bob.get_job(job_id)["metadata"]["id"] == job_id
    assert bob.get_algorithm(algo_id)["metadata"]["name"] == "bob-algo"
    events = [e["message"] for e in bob.job_events(job_id)["events"]]
    bob_ak = tenants.keys["bob"][0]
    assert any(f"created by bob ({bob_ak})" in m for m in events), events
    with raw(tenants, "bob") as http:
        got = http.get("/v2/teamb/storage/object", params={"url": "obs://bob-bucket/d.txt"})
        assert got.content == b"bob's data"
        assert http.get("/v2/teamb/filesystems/bobfs").status_code == 200
    bob.delete_job(job_id)


def test_viewer_reads_but_changes_nothing(tenants: Tenants, test_code: Path) -> None:
    alice = ours(tenants, "alice", "teama")
    carol = ours(tenants, "carol", "teama")
    name = "viewer-algo"
    alice.create_algorithm(algorithm_body(name, test_code))
    assert any(a["metadata"]["name"] == name for a in carol.list_algorithms()["items"])
    assert carol.search_jobs()["total"] >= 0  # a POST that only reads
    assert status_of(lambda: carol.create_algorithm(algorithm_body("c", test_code))) == 403
    assert status_of(lambda: carol.delete_algorithm(name)) == 403
    assert status_of(lambda: carol.create_job(job_body("c-job", name, "carol-bucket"))) == 403
    with raw(tenants, "carol") as http:
        me = http.get("/v3/auth/projects").json()
        assert me["user"] == "carol" and me["projects"] == [{"id": "teama", "role": "viewer"}]


def test_admin_key_reaches_every_project_and_makes_them(tenants: Tenants) -> None:
    admin = ModelYardClient(tenants.server.url, access_key="ADMINAK",
                            secret_key="admin-secret-key", project="teamb")
    assert admin.list_algorithms()["total"] >= 0
    fresh = ModelYardClient(tenants.server.url, access_key="ADMINAK",
                            secret_key="admin-secret-key", project="brand-new")
    assert fresh.list_algorithms()["total"] == 0


def test_non_admin_cannot_name_a_host_path(tenants: Tenants, tmp_path: Path) -> None:
    with raw(tenants, "alice") as http:
        r = http.post("/v2/teama/filesystems", json={"name": "hostfs", "path": str(tmp_path)})
    assert r.status_code == 403 and r.json()["error_msg"].startswith("path:")
