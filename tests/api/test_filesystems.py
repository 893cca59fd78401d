"""/v2/{project_id}/filesystems over the in-process app: registry, tasks, errors, scoping,
and a job whose spec.volumes are checked at submit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from fixtures.server import algorithm_body
from modelyard.settings import Settings

P = "/v2/proj-a"


def wait_task(api: TestClient, name: str, task_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task: dict[str, Any] = api.get(f"{P}/filesystems/{name}/tasks/{task_id}").json()
        if task["status"] != "DOING" or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


def test_create_list_show_delete(api: TestClient, settings: Settings) -> None:
    r = api.post(f"{P}/filesystems", json={"name": "images", "description": "digits"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == "images" and created["status"] == "available"
    assert Path(created["path"]) == (settings.home / "fs" / "@proj-a" / "images").resolve()
    listing = api.get(f"{P}/filesystems").json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == created["id"]
    shown = api.get(f"{P}/filesystems/images").json()
    assert shown["mounted_by"] == [] and shown["description"] == "digits"
    assert api.get("/v2/proj-b/filesystems").json()["count"] == 0  # scoped by project
    assert api.get("/v2/proj-b/filesystems/images").status_code == 404
    r = api.delete(f"{P}/filesystems/images")
    assert r.status_code == 200 and r.json()["data_deleted"] is True
    assert api.get(f"{P}/filesystems/images").status_code == 404


def test_errors_name_the_field(api: TestClient) -> None:
    r = api.post(f"{P}/filesystems", json={"name": "bad name"})
    assert r.status_code == 400 and r.json()["field"] == "name"
    r = api.post(f"{P}/filesystems", json={"name": "ok", "size": 3})
    assert r.status_code == 400 and r.json()["field"] == "size"
    r = api.post(f"{P}/filesystems", json={"name": "ok", "path": "relative"})
    assert r.status_code == 400 and r.json()["field"] == "path"
    api.post(f"{P}/filesystems", json={"name": "ok"})
    r = api.post(f"{P}/filesystems", json={"name": "ok"})
    assert r.status_code == 409 and r.json()["error_code"] == "ModelYard.Conflict"
    r = api.post(f"{P}/filesystems/ok/tasks", json={"type": "copy", "src": "obs://bkt/x/"})
    assert r.status_code == 400 and r.json()["field"] == "type"
    r = api.post(f"{P}/filesystems/ok/tasks", json={"type": "preload", "src": "nowhere"})
    assert r.status_code == 400 and r.json()["field"] == "source"
    r = api.post(f"{P}/filesystems/nope/tasks", json={"type": "preload", "src": "obs://bkt/x/"})
    assert r.status_code == 404


def test_preload_and_export_tasks(api: TestClient, settings: Settings) -> None:
    src = settings.obs_root / "bkt" / "data"
    src.mkdir(parents=True)
    for i in range(5):
        (src / f"{i}.bin").write_bytes(b"x" * (i + 1))
    api.post(f"{P}/filesystems", json={"name": "images"})
    r = api.post(f"{P}/filesystems/images/tasks",
                 json={"type": "preload", "src": "obs://bkt/data/", "dest": "/train"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "DOING"
    task = wait_task(api, "images", r.json()["id"])
    assert task["status"] == "SUCCESS", task
    assert task["progress"]["files"] == 5 and task["progress"]["bytes"] == 15
    r = api.post(f"{P}/filesystems/images/tasks",
                 json={"type": "export", "src": "/train", "dest": "obs://bkt/back/"})
    assert wait_task(api, "images", r.json()["id"])["status"] == "SUCCESS"
    assert sorted(p.name for p in (settings.obs_root / "bkt" / "back").iterdir()) == [
        f"{i}.bin" for i in range(5)]
    r = api.post(f"{P}/filesystems/images/tasks",
                 json={"type": "preload", "src": "obs://bkt/missing/"})
    failed = wait_task(api, "images", r.json()["id"])
    assert failed["status"] == "FAIL" and "does not exist" in failed["message"]
    tasks = api.get(f"{P}/filesystems/images/tasks").json()
    assert [t["type"] for t in tasks["items"]] == ["preload", "export", "preload"]
    other = api.post(f"{P}/filesystems", json={"name": "other"})
    assert other.status_code == 201
    assert api.get(f"{P}/filesystems/other/tasks/{task['id']}").status_code == 404


def test_jobs_volumes_are_checked_at_submit(api: TestClient, code_dir: Path) -> None:
    assert api.post(f"{P}/algorithms", json=algorithm_body("algo", code_dir)).status_code == 201
    api.post(f"{P}/filesystems", json={"name": "images"})
    outputs = [{"name": "train_url", "remote": {"obs": {"obs_url": "obs://bkt/out/"}}}]
    job = {"kind": "job", "metadata": {"name": "j"},
           "algorithm": {"name": "algo", "outputs": outputs},
           "spec": {"volumes": [{"filesystem": {"name": "images", "storage_location": "/nope",
                                                "local_path": "/mnt/data"}}]}}
    r = api.post(f"{P}/training-jobs", json=job)
    assert r.status_code == 400
    assert r.json()["field"] == "spec.volumes[0].filesystem.storage_location"
    job["spec"]["volumes"][0] = {"obs": {"obs_url": "obs://bkt/x/", "local_path": "/mnt/x"}}
    r = api.post(f"{P}/training-jobs", json=job)
    assert r.status_code == 400 and r.json()["field"] == "spec.volumes[0].obs"
    assert api.post(f"{P}/training-job-searches", json={}).json()["total"] == 0
