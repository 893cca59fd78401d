"""Input limits at submit (issue 14): each a 400 naming the field and the rule, never a 500,
a 502, a server path or a thread id, and nothing is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from fixtures.server import algorithm_body

P = "/v2/limits"
JSON = {"Content-Type": "application/json"}


def _job(code_dir: Path, **algorithm: Any) -> dict[str, Any]:
    return {"kind": "job", "metadata": {"name": "limited"},
            "algorithm": {"code_dir": f"file://{code_dir}/", "boot_file": "train.py",
                          "engine": {"engine_name": "python", "engine_version": "3.11"},
                          **algorithm}}


def _refused(r: Any, field: str, words: str) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    err: dict[str, Any] = r.json()
    assert err["error_code"] == "ModelYard.InvalidArgument"
    assert field in err["error_msg"] and words in err["error_msg"], err
    return err


def test_deep_nesting_is_refused_before_parsing(api: TestClient) -> None:
    deep = b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    _refused(api.post(f"{P}/training-jobs", content=deep, headers=JSON), "body",
             "at most 32 levels")
    _refused(api.post(f"{P}/training-job-searches", content=deep, headers=JSON), "body",
             "at most 32 levels")


def test_too_many_hyperparameters(api: TestClient, code_dir: Path) -> None:
    params = [{"name": f"p{i}", "value": "1"} for i in range(101)]
    err = _refused(api.post(f"{P}/training-jobs", json=_job(code_dir, parameters=params)),
                   "algorithm.parameters", "at most 100 hyperparameters")
    assert err["field"] == "algorithm.parameters"
    body = algorithm_body("many", code_dir)
    body["job_config"]["parameters"] = params  # type: ignore[index]
    _refused(api.post(f"{P}/algorithms", json=body), "job_config.parameters",
             "at most 100 hyperparameters")
    long_value = [{"name": "lr", "value": "1" * 5000}]
    _refused(api.post(f"{P}/training-jobs", json=_job(code_dir, parameters=long_value)),
             "algorithm.parameters[0].value", "at most 4096 characters")


def test_control_characters_and_non_finite_numbers(api: TestClient, code_dir: Path) -> None:
    nul = [{"name": "lr", "value": "0.1\x00; rm -rf /"}]
    _refused(api.post(f"{P}/training-jobs", json=_job(code_dir, parameters=nul)),
             "algorithm.parameters[0].value", "control character")
    for constant in ("NaN", "Infinity", "-Infinity"):
        raw = json.dumps(_job(code_dir)).replace('"kind": "job"',
                                                 f'"kind": "job", "x": {constant}')
        _refused(api.post(f"{P}/training-jobs", content=raw.encode(), headers=JSON), "body",
                 "NaN and Infinity")
    huge = json.dumps(_job(code_dir, parameters=[{"name": "lr", "value": 1}]))
    _refused(api.post(f"{P}/training-jobs", content=huge.replace('"value": 1',
                                                                '"value": 1e999').encode(),
                      headers=JSON), "algorithm.parameters[0].value", "NaN and Infinity")


def test_annotations_and_descriptions(api: TestClient, code_dir: Path) -> None:
    job = _job(code_dir)
    job["metadata"]["annotations"] = {f"k{i}": "v" for i in range(65)}
    _refused(api.post(f"{P}/training-jobs", json=job), "metadata.annotations",
             "at most 64 annotations")
    job["metadata"]["annotations"] = {"note": "x" * 2000}
    _refused(api.post(f"{P}/training-jobs", json=job), "metadata.annotations.note",
             "at most 1024 characters")
    job["metadata"] = {"name": "limited", "description": "d" * 300}
    _refused(api.post(f"{P}/training-jobs", json=job), "description", "256")
    # 500k annotations (40 MB) never reach the parser: the body limit answers first.
    big = {"metadata": {"name": "x", "annotations": {f"k{i}": "v" * 60 for i in range(500_000)}}}
    r = api.post(f"{P}/training-jobs", content=json.dumps(big).encode(), headers=JSON)
    assert r.status_code == 413 and r.json()["error_code"] == "ModelYard.PayloadTooLarge"


def test_long_key_component_is_a_400_without_server_details(api: TestClient,
                                                            settings: Any) -> None:
    name = "n" * 256
    r = api.post(f"{P}/storage/object", params={"url": f"obs://limits-bucket/{name}"},
                 content=b"x", headers={"Content-Type": "application/octet-stream"})
    err = _refused(r, "url", "at most 255 bytes")
    assert str(settings.home) not in r.text and "Thread" not in r.text
    assert err["field"] == "url"
    r = api.get(f"{P}/storage/objects", params={"url": f"obs://limits-bucket/{name}/"})
    _refused(r, "url", "at most 255 bytes")


def test_nothing_is_stored_after_a_refusal(api: TestClient, code_dir: Path) -> None:
    bad = _job(code_dir, parameters=[{"name": "lr", "value": "\x01"}])
    assert api.post(f"{P}/training-jobs", json=bad).status_code == 400
    found = api.post(f"{P}/training-job-searches", json={}).json()
    assert found["total"] == 0
