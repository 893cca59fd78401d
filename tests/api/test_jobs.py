"""/v2/{project_id}/training-jobs over the in-process app, with real local jobs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.helpers import wait_final
from fixtures.server import algorithm_body

P = "/v2/proj-j"


def job_body(name: str, algorithm: str = "algo", **params: Any) -> dict[str, Any]:
    return {
        "kind": "job",
        "metadata": {"name": name, "description": "api test"},
        "algorithm": {
            "name": algorithm,
            "parameters": [{"name": k, "value": v} for k, v in params.items()],
            "outputs": [{"name": "train_url",
                         "remote": {"obs": {"obs_url": f"obs://bucket/{name}/"}}}],
        },
        "spec": {"resource": {"flavor_id": "modelarts.vm.cpu.1u", "node_count": 1}},
    }


@pytest.fixture
def algo(api: TestClient, code_dir: Path) -> dict[str, Any]:
    r = api.post(f"{P}/algorithms", json=algorithm_body("algo", code_dir))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def test_validation_is_the_spec_layers(api: TestClient, algo: dict[str, Any]) -> None:
    r = api.post(f"{P}/training-jobs", json=job_body("j-bad", epochs="many"))
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["field"] == "algorithm.parameters[0].value" and "'many'" in err["error_msg"]
    r = api.post(f"{P}/training-jobs", json=job_body("j-none", algorithm="missing"))
    assert r.status_code == 400 and r.json()["field"] == "algorithm.name"
    r = api.post(f"{P}/training-jobs", json={"metadata": {"name": "x"}})
    assert r.status_code == 400 and r.json()["field"] == "algorithm"
    # Nothing was stored by the refused requests.
    assert api.post(f"{P}/training-job-searches", json={}).json()["total"] == 0


def test_more_than_one_node_without_a_cluster_is_a_400(api: TestClient,
                                                       algo: dict[str, Any]) -> None:
    body = job_body("j-two")
    body["spec"]["resource"]["node_count"] = 2
    r = api.post(f"{P}/training-jobs", json=body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["field"] == "spec.resource.node_count" and err["error_code"]
    assert "MODELYARD_EXECUTOR=ray" in err["error_msg"] and "2" in err["error_msg"]


def test_job_lifecycle(api: TestClient, algo: dict[str, Any]) -> None:
    r = api.post(f"{P}/training-jobs", json=job_body("j-ok", epochs=3))
    assert r.status_code == 201, r.text
    job = r.json()
    job_id = job["metadata"]["id"]
    assert job["kind"] == "job" and job["algorithm"]["id"] == algo["metadata"]["id"]
    assert job["status"]["phase"] in {"Pending", "Running", "Completed"}

    done = wait_final(api, "proj-j", job_id)
    assert done["status"]["phase"] == "Completed", done["status"]
    assert done["status"]["task_statuses"][0]["exit_code"] == 0

    events = api.get(f"{P}/training-jobs/{job_id}/events").json()
    assert set(events) >= {"total", "limit", "offset", "order", "events"}
    assert events["total"] == len(events["events"]) >= 2
    assert {"time", "level", "source", "message"} <= set(events["events"][0])
    only_job = api.get(f"{P}/training-jobs/{job_id}/events", params={"source": "Job"}).json()
    assert only_job["events"] and {e["source"] for e in only_job["events"]} == {"Job"}
    newest = api.get(f"{P}/training-jobs/{job_id}/events",
                     params={"order": "desc", "limit": 1}).json()
    assert newest["events"][0]["message"] == events["events"][-1]["message"]
    assert api.get(f"{P}/training-jobs/{job_id}/events",
                   params={"level": "Loud"}).json()["field"] == "level"

    preview = api.get(f"{P}/training-jobs/{job_id}/tasks/worker-0/logs/preview").json()
    assert "epoch 2 loss=0.333" in preview["content"]
    assert preview["full_size"] >= preview["current_size"] > 0
    stream = api.get(f"{P}/training-jobs/{job_id}/tasks/worker-0/logs/stream",
                     params={"follow": "true"})
    assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/plain")
    assert stream.text == preview["content"]
    tail = api.get(f"{P}/training-jobs/{job_id}/tasks/worker-0/logs/stream",
                   params={"offset": len(stream.content) - 20}).content
    assert stream.content.endswith(tail) and len(tail) == 20
    assert api.get(f"{P}/training-jobs/{job_id}/tasks/worker-9/logs/preview").status_code == 404

    r = api.put(f"{P}/training-jobs/{job_id}", json={"description": "renamed run"})
    assert r.status_code == 200 and r.json()["metadata"]["description"] == "renamed run"
    assert api.put(f"{P}/training-jobs/{job_id}", json={"description": "no!"}).status_code == 400

    again = api.post(f"{P}/training-jobs/{job_id}/actions", json={"action_type": "terminate"})
    assert again.status_code == 409
    assert api.delete(f"{P}/training-jobs/{job_id}").status_code == 202
    assert api.get(f"{P}/training-jobs/{job_id}").status_code == 404
    assert api.get(f"/v2/other/training-jobs/{job_id}").status_code == 404


def test_stop_a_running_job(api: TestClient, algo: dict[str, Any]) -> None:
    job = api.post(f"{P}/training-jobs", json=job_body("j-long", epochs=100, sleep=0.5)).json()
    job_id = job["metadata"]["id"]
    deadline = time.monotonic() + 90
    while "epoch 0" not in api.get(
            f"{P}/training-jobs/{job_id}/tasks/worker-0/logs/preview").json()["content"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert api.delete(f"{P}/training-jobs/{job_id}").status_code == 409  # still running
    r = api.post(f"{P}/training-jobs/{job_id}/actions", json={"action_type": "pause"})
    assert r.status_code == 400 and r.json()["field"] == "action_type"
    r = api.post(f"{P}/training-jobs/{job_id}/actions", json={"action_type": "terminate"})
    assert r.status_code == 200, r.text
    assert r.json()["status"]["phase"] in {"Terminating", "Terminated"}
    assert wait_final(api, "proj-j", job_id)["status"]["phase"] == "Terminated"


def test_search(api: TestClient, algo: dict[str, Any]) -> None:
    ids = []
    for name in ("alpha-1", "alpha-2", "beta-1"):
        ids.append(api.post(f"{P}/training-jobs", json=job_body(name)).json()["metadata"]["id"])
    for job_id in ids:
        wait_final(api, "proj-j", job_id)

    def names(**query: Any) -> list[str]:
        r = api.post(f"{P}/training-job-searches", json=query)
        assert r.status_code == 200, r.text
        return [i["metadata"]["name"] for i in r.json()["items"]]

    assert names() == ["beta-1", "alpha-2", "alpha-1"]
    assert names(order="asc", limit=2) == ["alpha-1", "alpha-2"]
    assert names(order="asc", offset=2) == ["beta-1"]
    assert names(sort_by="name", order="asc") == ["alpha-1", "alpha-2", "beta-1"]
    like = [{"key": "name", "operator": "like", "value": ["ALPHA"]}]
    assert names(filters=like) == ["alpha-2", "alpha-1"]
    assert names(filters=[{"key": "name", "operator": "not", "value": ["alpha-1"]}]) == [
        "beta-1", "alpha-2"]
    assert names(filters=[{"key": "phase", "operator": "in", "value": ["Failed"]}]) == []
    assert names(filters=[{"key": "algorithm_name", "operator": "in", "value": ["algo"]}]) == [
        "beta-1", "alpha-2", "alpha-1"]
    now = int(time.time() * 1000)
    window = [{"key": "create_time", "operator": "between", "value": [str(now - 600_000),
                                                                       str(now)]}]
    assert len(names(filters=window)) == 3
    page = api.post(f"{P}/training-job-searches", json={"limit": 1}).json()
    assert (page["total"], page["count"], page["limit"]) == (3, 1, 1)
    assert page["workspace_id"] == "proj-j"

    bad = [
        ({"limit": 51}, "limit"),
        ({"limit": 0}, "limit"),
        ({"order": "up"}, "order"),
        ({"sort_by": "colour"}, "sort_by"),
        ({"filters": [{"key": "name", "operator": "near", "value": ["a"]}]},
         "filters[0].operator"),
        ({"filters": [{"key": "shoe", "value": ["a"]}]}, "filters[0].key"),
        ({"filters": [{"key": "create_time", "operator": "between", "value": ["a", "b"]}]},
         "filters[0].value"),
        ({"filters": [{"key": "name", "operator": "between", "value": ["a"]}]},
         "filters[0].value"),
        ({"filters": [{"key": "update_time", "operator": "between", "value": ["0", "inf"]}]},
         "filters[0].value"),
    ]
    for query, field in bad:
        r = api.post(f"{P}/training-job-searches", json=query)
        assert r.status_code == 400, (query, r.text)
        assert r.json()["field"] == field, (query, r.json())


def test_flavors_and_engines(api: TestClient) -> None:
    flavors = api.get(f"{P}/training-job-flavors").json()
    assert flavors["total_count"] == len(flavors["flavors"]) >= 1
    first = flavors["flavors"][0]
    assert first["flavor_id"] == "modelarts.vm.cpu.1u" and first["flavor_type"] == "CPU"
    assert first["flavor_info"]["cpu"]["core_num"] == 1
    assert api.get(f"{P}/training-job-flavors", params={"flavor_type": "GPU"}).json()[
        "total_count"] == 0
    engines = api.get(f"{P}/training-job-engines").json()
    assert engines["total"] == len(engines["items"]) >= 1
    assert engines["items"][0]["engine_name"] == "python"
