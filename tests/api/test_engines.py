"""/training-job-engines lists what this installation runs; bad engines and images are 400s."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from fixtures.server import algorithm_body

P = "/v2/proj-a"


def test_the_engine_list_is_the_enabled_catalog(api: TestClient) -> None:
    body = api.get(f"{P}/training-job-engines").json()
    by_name = {e["engine_name"]: e for e in body["items"]}
    assert body["total"] == len(body["items"]) == 3
    assert set(by_name) == {"python", "Scikit_Learn", "XGBoost-Sklearn"}
    sk = by_name["Scikit_Learn"]
    assert sk["engine_id"] == "scikit-learn-1.9" and sk["kind"] == "env"
    assert "scikit-learn==1.9.1" in sk["packages"]
    assert {"key": "kind", "value": "env"} in sk["tags"]


def test_an_unknown_engine_is_a_400_listing_the_available_ones(api: TestClient,
                                                               code_dir: Path) -> None:
    body = algorithm_body("typo", code_dir)
    body["job_config"]["engine"] = {  # type: ignore[index]
        "engine_name": "PyTorchh", "engine_version": "no-such-version"}
    r = api.post(f"{P}/algorithms", json=body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["error_code"] == "ModelYard.InvalidArgument"
    assert "job_config.engine" in err["error_msg"] and "available:" in err["error_msg"]
    assert api.get(f"{P}/algorithms").json()["total"] == 0


def test_engine_id_alone_is_accepted(api: TestClient, code_dir: Path) -> None:
    body = algorithm_body("by-id", code_dir)
    body["job_config"]["engine"] = {"engine_id": "scikit-learn-1.9"}  # type: ignore[index]
    r = api.post(f"{P}/algorithms", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["job_config"]["engine"]["engine_name"] == "Scikit_Learn"


def test_a_malformed_image_url_is_a_400(api: TestClient, code_dir: Path) -> None:
    body = algorithm_body("img", code_dir)
    body["job_config"].update({  # type: ignore[attr-defined]
        "engine": {"image_url": "http://swr.example.com/Team/x:1"}, "command": "true",
        "boot_file": None})
    r = api.post(f"{P}/algorithms", json=body)
    assert r.status_code == 400, r.text
    assert "job_config.engine.image_url" in r.json()["error_msg"]
    assert "no scheme" in r.json()["error_msg"]
