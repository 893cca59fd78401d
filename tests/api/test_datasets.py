"""``/v2/{project_id}/datasets`` (issue 18): ModelArts paths, field names and status codes;
every refusal a 4xx with {error_code, error_msg, field}; and, against a real server with
API keys, the SDK's dataset client and a job whose input is a dataset version."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fixtures.datasets import classification_tree, dataset_body, write_local
from fixtures.server import ServerInfo
from modelyard.client.datasets import DatasetClient
from modelyard.client.http import ApiError, ModelYardClient
from modelyard.settings import Settings

P = "/v2/p/datasets"


@pytest.fixture
def pets(api: TestClient, settings: Settings) -> dict[str, Any]:
    write_local(settings, "data", classification_tree("pets/", per_label=5))
    r = api.post(P, json=dataset_body("pets", "obs://data/pets/", "obs://data/work/"))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_dataset_lifecycle(api: TestClient, pets: dict[str, Any]) -> None:
    ds = pets["dataset_id"]
    assert pets["status"] == 1 and pets["total_sample_count"] == 16
    assert pets["data_sources"] == [{"data_type": 0, "data_path": "obs://data/pets/"}]
    listing = api.get(P).json()
    assert listing["total_number"] == 1 and listing["datasets"][0]["dataset_id"] == ds
    assert api.get(f"{P}/{ds}").json()["annotated_sample_count"] == 15
    samples = api.get(f"{P}/{ds}/data-annotations/samples",
                      params={"label_name": "dog", "limit": 2}).json()
    assert samples["sample_count"] == 5 and len(samples["samples"]) == 2
    labels = api.get(f"{P}/{ds}/data-annotations/labels").json()["labels"]
    assert [lb["name"] for lb in labels] == ["cat", "dog", "fox"]
    stats = api.get(f"{P}/{ds}/data-annotations/stats").json()
    assert stats["sample_stats"]["un_annotation"] == 1

    r = api.post(f"{P}/{ds}/versions", json={"version_name": "V001",
                                            "train_evaluate_sample_ratio": "0.8"})
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["status"] == 1 and v["manifest_path"].endswith("/pets-V001.manifest")
    assert (v["train_sample_count"], v["eval_sample_count"]) == (12, 3)
    assert api.get(f"{P}/{ds}/versions").json()["total_number"] == 1
    assert api.get(f"{P}/{ds}/versions/V001").json()["version_id"] == v["version_id"]

    tasks = api.get(f"{P}/{ds}/import-tasks").json()
    assert tasks["total_count"] == 1
    task = tasks["import_tasks"][0]
    assert task["status"] == "COMPLETED" and task["unreadable_count"] == 2
    assert api.get(f"{P}/{ds}/import-tasks/{task['task_id']}").json() == task

    assert api.delete(f"{P}/{ds}/versions/{v['version_id']}").status_code == 200
    assert api.delete(f"{P}/{ds}").status_code == 200
    assert api.get(f"{P}/{ds}").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"dataset_type": 5}, "dataset_type"),
    ({"work_path": "file:///etc/"}, "work_path"),
    ({"data_sources": [{"data_type": 0, "data_path": "/etc/passwd/../x"}]},
     "data_sources[0].data_path"),
    ({"dataset_name": "a b"}, "dataset_name"),
])
def test_bad_datasets_are_400_naming_the_field(api: TestClient, body: dict[str, Any],
                                               field: str) -> None:
    r = api.post(P, json={**dataset_body("d", "/data/x", "/data/w"), **body})
    assert r.status_code == 400
    err = r.json()
    assert err["error_code"] == "ModelYard.InvalidArgument" and err["field"] == field
    assert field.split("[")[0] in err["error_msg"]
    assert api.get(P).json()["total_number"] == 0  # nothing half-written


@pytest.mark.parametrize(("body", "field", "phrase"), [
    ({"train_evaluate_sample_ratio": "1.2"}, "train_evaluate_sample_ratio", "from 0 to 1"),
    ({"version_format": "CarbonData"}, "version_format", "not supported"),
])
def test_bad_versions_are_400(api: TestClient, pets: dict[str, Any], body: dict[str, Any],
                              field: str, phrase: str) -> None:
    r = api.post(f"{P}/{pets['dataset_id']}/versions", json=body)
    assert r.status_code == 400 and r.json()["field"] == field
    assert phrase in r.json()["rule"]


def test_status_codes(api: TestClient, pets: dict[str, Any]) -> None:
    assert api.post(P, json=dataset_body("pets", "/data/pets", "/data/w")).status_code == 409
    assert api.get(f"{P}/nope").status_code == 404
    assert api.get(f"/v2/other/datasets/{pets['dataset_id']}").status_code == 404
    r = api.get(P, headers={"X-Project-Id": "other"})
    assert r.status_code == 403
    empty = api.post(P, json=dataset_body("empty", "/data/none", "/data/w")).json()
    r = api.post(f"{P}/{empty['dataset_id']}/versions", json={})
    assert r.status_code == 400 and "no samples" in r.json()["error_msg"]
    r = api.post(f"{P}/{pets['dataset_id']}/import-tasks", json={"import_path": "file:///etc"})
    assert r.status_code == 400 and r.json()["field"] == "import_path"


READER = """
import argparse, glob, json, os
p = argparse.ArgumentParser()
p.add_argument("--data_url")
a, _ = p.parse_known_args()
(m,) = glob.glob(os.path.join(a.data_url, "*.manifest"))
lines = [json.loads(x) for x in open(m)]
assert all(os.path.isfile(x["source"]) for x in lines)
print("read", len(lines), "samples;", sum(x.get("usage") == "EVAL" for x in lines), "eval")
"""


@pytest.mark.slow
def test_real_server_sdk_and_a_job_on_a_dataset_version(keyed_server: ServerInfo,
                                                        tmp_path: Path) -> None:
    project = "datasets-api"
    write_local(Settings(home=keyed_server.home), "api-data",
                classification_tree("digits/", per_label=5))
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(textwrap.dedent(READER))
    with ModelYardClient(keyed_server.url, access_key=keyed_server.ak,
                         secret_key=keyed_server.sk, project=project) as client:
        sdk = DatasetClient(client)
        ds = sdk.create(dataset_body("digits", "obs://api-data/digits/",
                                     "obs://api-data/work/"))
        assert ds["status"] == 1 and sdk.get("digits")["total_sample_count"] == 16
        assert [lb["name"] for lb in sdk.labels("digits")["labels"]] == ["cat", "dog", "fox"]
        v = sdk.create_version("digits", {"train_evaluate_sample_ratio": 0.8})
        assert sdk.versions("digits")[0]["version_id"] == v["version_id"]
        client.create_algorithm({"metadata": {"name": "reader"}, "job_config": {
            "code_dir": f"file://{code}/", "boot_file": "train.py",
            "inputs": [{"name": "data_url", "remote_constraints": [
                {"data_type": "modelarts_dataset",
                 "attributes": [{"data_format": "Default"}, {"dataset_type": "0"}]}]}],
            "outputs": [{"name": "train_url"}]}})

        def job(version: str) -> dict[str, Any]:
            return {"kind": "job", "metadata": {"name": "reads-a-dataset"}, "algorithm": {
                "name": "reader",
                "inputs": [{"name": "data_url", "remote": {"dataset": {
                    "id": ds["dataset_id"], "version_id": version}}}],
                "outputs": [{"name": "train_url",
                             "remote": {"obs": {"obs_url": "obs://api-data/out/"}}}]}}

        with pytest.raises(ApiError) as err:
            client.create_job(job("no-such-version"))
        assert err.value.status == 400 and err.value.field == "algorithm.inputs[0].remote.dataset"
        job_id = client.create_job(job(v["version_id"]))["metadata"]["id"]
        deadline = time.time() + 120
        while client.get_job(job_id)["status"]["phase"] not in ("Completed", "Failed"):
            assert time.time() < deadline
            time.sleep(0.3)
        log = client.log_preview(job_id)["content"]
        assert client.get_job(job_id)["status"]["phase"] == "Completed", log
        assert "read 16 samples; 3 eval" in log
        with pytest.raises(ApiError) as err:  # the other project sees nothing
            DatasetClient(ModelYardClient(keyed_server.url, access_key=keyed_server.ak,
                                          secret_key=keyed_server.sk,
                                          project="someone-else")).get("digits")
        assert err.value.status == 404
