"""Automatic search over the REST API (ModelArts paths), with real local trial jobs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

P = "/v2/proj-s"

TRAIN = """
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--x", type=float, default=0.5)
a, _ = p.parse_known_args()
for i in range(1, 4):
    print(f"epoch={i} loss={1 - a.x:.3f} accuracy={a.x * i / 3:.4f}", flush=True)
    time.sleep(0.1)
"""


@pytest.fixture
def algo(api: TestClient, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    body = {
        "metadata": {"name": "toy"},
        "job_config": {
            "code_dir": f"file://{code}/", "boot_file": "train.py",
            "parameters": [{"name": "x", "value": 0.5, "constraint": {
                "type": "Float", "valid_type": "Range", "valid_range": [0, 1]}}],
            "outputs": [{"name": "train_url"}],
        },
        # ModelArts: an algorithm declares its search; a job asks for it.
        "policies": {"auto_search": {
            "reward_attrs": [{"name": "accuracy", "mode": "max",
                              "regex": r"accuracy=([0-9.]+)"}],
            "search_params": [{"name": "x", "param_type": "continuous",
                               "lower_bound": "0.1", "upper_bound": "0.9"}],
            "algo_configs": [{"name": "random_search", "params": [
                {"key": "num_samples", "value": "2", "type": "Integer"}]}],
        }},
    }
    r = api.post(f"{P}/algorithms", json=body)
    assert r.status_code == 201, r.text


def job(name: str, auto_search: dict[str, Any] | None) -> dict[str, Any]:
    algorithm: dict[str, Any] = {
        "name": "toy",
        "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": f"obs://out/{name}/"}}}],
    }
    if auto_search is not None:
        algorithm["policies"] = {"auto_search": auto_search}
    return {"kind": "job", "metadata": {"name": name}, "algorithm": algorithm}


def wait_search(api: TestClient, job_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        rec: dict[str, Any] = api.get(f"{P}/training-jobs/{job_id}/autosearch").json()
        if rec["status"]["phase"] in ("Completed", "Failed", "Terminated"):
            return rec
        assert time.time() < deadline, rec["status"]
        time.sleep(0.3)


def test_search_algorithms_with_defaults(api: TestClient) -> None:
    r = api.get(f"{P}/search-algorithms")
    assert r.status_code == 200
    data = r.json()
    names = [a["name"] for a in data["search_algo_list"]]
    assert data["search_algo_count"] == 6 and names[:3] == [
        "bayes_opt_search", "tpe_search", "anneal_search"]
    tpe = {p["key"]: p for p in data["search_algo_list"][1]["params"]}
    assert tpe["gamma"] == {"key": "gamma", "value": "0.25", "type": "Float"}


def test_unknown_search_is_404(api: TestClient) -> None:
    for path in ("autosearch-trials", "autosearch-trials/abc", "autosearch-parameter-analysis"):
        r = api.get(f"{P}/training-jobs/nope/{path}")
        assert r.status_code == 404 and r.json()["error_code"] == "ModelYard.NotFound"


def test_bad_policy_is_400_naming_the_field(api: TestClient, algo: None) -> None:
    r = api.post(f"{P}/training-jobs", json=job("bad", {"search_params": [
        {"name": "x", "param_type": "continuous", "lower_bound": 0, "upper_bound": 5}]}))
    assert r.status_code == 400
    assert r.json()["field"] == "algorithm.policies.auto_search.search_params[0].upper_bound"


@pytest.mark.slow
def test_search_job_trials_and_analysis(api: TestClient, algo: None) -> None:
    plain = api.post(f"{P}/training-jobs", json=job("plain", None))
    assert plain.status_code == 201 and "autosearch" not in plain.json()["status"]
    r = api.post(f"{P}/training-jobs", json=job("srch", {}))  # the algorithm's policy
    assert r.status_code == 201, r.text
    job_id = r.json()["metadata"]["id"]
    assert r.json()["status"]["autosearch"]["num_samples"] == 2
    rec = wait_search(api, job_id)
    assert rec["status"]["phase"] == "Completed", rec["status"]
    trials = api.get(f"{P}/training-jobs/{job_id}/autosearch-trials").json()
    assert trials["total"] == 2 and trials["count"] == 2
    header = trials["items"]["header"]
    rows = [dict(zip(header, row, strict=True)) for row in trials["items"]["data"]]
    assert {r["status"] for r in rows} == {"completed"}
    assert all(0.1 <= r["config"]["x"] <= 0.9 for r in rows)
    best = max(rows, key=lambda r: float(r["accuracy"]))
    assert rec["status"]["autosearch"]["best_trial"]["trial_id"] == best["trial_id"]
    one = api.get(f"{P}/training-jobs/{job_id}/autosearch-trials/{best['trial_id']}").json()
    assert [row[2] for row in one["data"]] == ["1", "2", "3"]
    # the trial is an ordinary job
    trial_job = api.get(f"{P}/training-jobs/{one['trial']['job_id']}").json()
    assert trial_job["metadata"]["name"].startswith("srch-trial-")
    r = api.post(f"{P}/training-jobs/{job_id}/autosearch-trial-earlystop/{best['trial_id']}")
    assert r.status_code == 409
    analysis = api.get(f"{P}/training-jobs/{job_id}/autosearch-parameter-analysis").json()
    assert analysis["search_params"][0]["name"] == "x"
    assert analysis["completed_trials"] == 2
