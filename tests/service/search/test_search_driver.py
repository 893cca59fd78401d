"""Searches end to end: a search is a job, its trials are ordinary jobs run by real runtimes.

The training script is tiny and fast (a few printed steps), so that the whole file stays
well under two minutes on two cores.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.jobs import algorithm_for, final, out_dir, wait_for
from modelyard.service import Service
from modelyard.settings import Settings
from modelyard.spec import SpecError

pytestmark = pytest.mark.slow

TRAIN = """
import argparse, os, sys, time
p = argparse.ArgumentParser()
p.add_argument("--train_url")
p.add_argument("--x", type=float, default=0.5)
p.add_argument("--n", type=int, default=1)
p.add_argument("--kind", default="ok")
p.add_argument("--steps", type=int, default=3)
p.add_argument("--pause", type=float, default=0.1)
a, _ = p.parse_known_args()
open(os.path.join(a.train_url, "params.txt"), "w").write(f"{a.x} {a.n} {a.kind}")
for i in range(1, a.steps + 1):
    if a.kind == "silent":
        print(f"step {i}: nothing to report", flush=True)
    else:
        print(f"step={i} score={i * (1 - abs(a.x - 0.3)) + a.n / 100:.4f}", flush=True)
    time.sleep(a.pause)
    if a.kind == "fail" and i == 2:
        sys.exit("diverged")
"""

PARAMS = [
    {"name": "x", "value": 0.5, "constraint": {"type": "Float", "valid_type": "Range",
                                               "valid_range": [0, 1]}},
    {"name": "n", "value": 1, "constraint": {"type": "Integer", "valid_type": "Range",
                                             "valid_range": [1, 10]}},
    {"name": "kind", "value": "ok", "constraint": {"type": "String", "valid_type": "Enum",
                                                   "valid_range": ["ok", "fail", "silent"]}},
    {"name": "steps", "value": 3, "constraint": {"type": "Integer"}},
    {"name": "pause", "value": 0.1, "constraint": {"type": "Float"}},
]
REWARD = {"name": "score", "mode": "max", "regex": r"step=(?P<step>\d+) score=([0-9.]+)"}


def policy(algorithm: str = "random_search", samples: int = 3, **extra: Any
           ) -> dict[str, Any]:
    return {
        "reward_attrs": [REWARD],
        "search_params": extra.pop("search_params", [
            {"name": "x", "param_type": "continuous", "lower_bound": 0, "upper_bound": 1},
            {"name": "n", "param_type": "integer", "lower_bound": 1, "upper_bound": 9},
            {"name": "kind", "param_type": "categorical", "discrete_values": ["ok"]},
        ]),
        "algo_configs": [{"name": algorithm, "params": [
            {"key": "num_samples", "value": str(samples), "type": "Integer"}]}],
        **extra,
    }


def search_job(out: str, auto_search: dict[str, Any], name: str = "s",
               parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "algorithm": {
            "name": "toy", "parameters": parameters or [],
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": out}}}],
            "policies": {"auto_search": auto_search},
        },
    }


@pytest.fixture
def toy(service: Service, code: Callable[[str, str], str]) -> Service:
    service.algorithms.create("p", algorithm_for(code("toy", TRAIN), "toy", parameters=PARAMS))
    return service


def run_search(service: Service, job: dict[str, Any], timeout: float = 90
               ) -> tuple[str, dict[str, Any]]:
    rec = service.jobs.create("p", job)
    sid = rec["metadata"]["id"]
    wait_for(service, sid, final, timeout=timeout)
    return sid, service.search.get("p", sid)


def trials(service: Service, sid: str) -> list[dict[str, Any]]:
    return service.search.list_trials("p", sid)["trials"]


def test_trials_are_jobs_with_their_own_outputs(toy: Service, settings: Settings) -> None:
    job = search_job("obs://out/s1/", policy(samples=4, parallel_trials=2))
    sid, rec = run_search(toy, job)
    auto = rec["status"]["autosearch"]
    assert rec["status"]["phase"] == "Completed", rec["status"]
    assert auto["trial_counts"] == {"completed": 4}
    found = trials(toy, sid)
    assert [t["number"] for t in found] == [0, 1, 2, 3]
    jobs = {j["metadata"]["id"]: j for j in toy.jobs.list("p")[0]}
    assert jobs[sid]["status"]["phase"] == "Completed"  # the search is a job in the list
    for t in found:
        job_rec = jobs[t["job_id"]]
        assert job_rec["metadata"]["name"] == f"s-trial-{t['number']}"
        assert job_rec["status"]["phase"] == "Completed"
        written = (out_dir(settings, f"obs://out/s1/trial-{t['number']}/") / "params.txt")
        assert written.read_text() == f"{t['params']['x']} {t['params']['n']} ok"
        assert isinstance(t["params"]["n"], int) and t["steps"] == 3
    best = max(found, key=lambda t: t["value"])
    assert auto["best_trial"]["trial_id"] == best["trial_id"]
    assert auto["best_trial"]["outputs"] == [
        {"name": "train_url", "obs_url": f"obs://out/s1/trial-{best['number']}/"}]
    # two trials ran at the same time
    spans = sorted((t["start_time"], t["end_time"]) for t in found)
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans))
    steps = toy.search.get_trial("p", sid, best["trial_id"])
    assert [row[2] for row in steps["data"]] == ["1", "2", "3"]
    analysis = toy.search.parameter_analysis("p", sid)
    assert {p["name"] for p in analysis["search_params"]} == {"x", "n", "kind"}


def test_failed_and_metric_not_found_trials_do_not_stop_the_search(toy: Service) -> None:
    job = search_job("obs://out/s2/", policy(
        "grid_search", samples=0, search_params=[
            {"name": "kind", "param_type": "discrete", "discrete_values": ["fail", "silent",
                                                                            "ok"]}]))
    sid, rec = run_search(toy, job)
    by_kind = {t["params"]["kind"]: t for t in trials(toy, sid)}
    assert by_kind["ok"]["status"] == "completed"
    assert by_kind["fail"]["status"] == "failed" and "code 1" in by_kind["fail"]["message"]
    silent = by_kind["silent"]
    assert silent["status"] == "metric_not_found"
    assert "metric not found" in silent["message"] and "score" in silent["message"]
    events = [e["message"] for e in toy.jobs.events("p", silent["job_id"])[0]]
    assert any("metric not found" in m for m in events)
    assert rec["status"]["phase"] == "Completed"
    assert rec["status"]["autosearch"]["best_trial"]["params"] == {"kind": "ok"}


def test_pruned_trials_are_stopped_and_marked_early_stopped(toy: Service) -> None:
    """A median pruner stops trials whose score trails the median of earlier trials."""
    job = search_job("obs://out/s3/", policy(
        "grid_search", samples=0, search_params=[
            {"name": "x", "param_type": "discrete", "discrete_values": [0.3, 0.95, 0.9]}],
        early_stopping={"type": "median", "startup_trials": 1, "warmup_steps": 1}),
        parameters=[{"name": "steps", "value": 12}, {"name": "pause", "value": 0.4}])
    sid, rec = run_search(toy, job)
    found = trials(toy, sid)
    stopped = [t for t in found if t["status"] == "early_stopped"]
    assert stopped, found
    for t in stopped:
        assert "median pruner" in t["message"]
        assert 1 <= t["steps"] < 12
        assert toy.jobs.get("p", t["job_id"])["status"]["phase"] == "Terminated"
    assert rec["status"]["autosearch"]["best_trial"]["params"]["x"] == 0.3


def test_resume_after_the_driver_is_killed(toy: Service) -> None:
    """kill -9 of the driver mid-search, then a new driver: it re-attaches to the running
    trial, and no trial is lost or run twice."""
    job = search_job("obs://out/s4/", policy(samples=3),
                     parameters=[{"name": "steps", "value": 6}, {"name": "pause", "value": 0.5}])
    rec = toy.jobs.create("p", job)
    sid = rec["metadata"]["id"]
    deadline = time.time() + 60
    while not any(t["status"] == "running" and t["steps"] >= 1 for t in trials(toy, sid)):
        assert time.time() < deadline
        time.sleep(0.3)
    pid = json.loads((toy.settings.jobs_root / sid / "driver.pid").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    running = [t for t in trials(toy, sid) if t["status"] == "running"]
    resumed = toy.search.resume("p", sid)  # what `modelyard search resume` does
    assert resumed["status"]["autosearch"]["resumes"] == 1
    done = wait_for(toy, sid, final, timeout=90)
    assert done["status"]["phase"] == "Completed", done["status"]
    found = trials(toy, sid)
    assert [t["number"] for t in found] == [0, 1, 2]
    assert all(t["status"] == "completed" for t in found)
    assert found[running[0]["number"]]["job_id"] == running[0]["job_id"]  # re-attached
    names = [j["metadata"]["name"] for j in toy.jobs.list("p")[0]]
    assert sorted(n for n in names if "-trial-" in n) == ["s-trial-0", "s-trial-1", "s-trial-2"]
    events = [e["message"] for e in toy.jobs.events("p", sid)[0]]
    assert any("resumed" in m for m in events)


def test_stopping_the_search_stops_its_trials(toy: Service) -> None:
    job = search_job("obs://out/s5/", policy(samples=4, parallel_trials=2),
                     parameters=[{"name": "steps", "value": 100}, {"name": "pause", "value": 0.2}])
    rec = toy.jobs.create("p", job)
    sid = rec["metadata"]["id"]
    deadline = time.time() + 60
    while len([t for t in trials(toy, sid) if t["status"] == "running"]) < 2:
        assert time.time() < deadline
        time.sleep(0.3)
    # stop one trial early through the API first: the search goes on without it
    first = trials(toy, sid)[0]
    assert toy.search.earlystop("p", sid, first["trial_id"]) == {
        "earlystop_trial": first["trial_id"]}
    wait_for(toy, first["job_id"], final)
    toy.jobs.stop("p", sid)
    done = wait_for(toy, sid, final, timeout=60)
    assert done["status"]["phase"] == "Terminated"
    found = trials(toy, sid)
    assert found[0]["status"] == "early_stopped"
    assert {t["status"] for t in found[1:]} <= {"stopped", "early_stopped"}
    for t in found:
        assert wait_for(toy, t["job_id"], final)["status"]["phase"] == "Terminated"


def test_invalid_policy_stores_nothing(toy: Service) -> None:
    bad = policy(search_params=[{"name": "lr", "param_type": "continuous",
                                 "lower_bound": 0, "upper_bound": 1}])
    with pytest.raises(SpecError) as err:
        toy.jobs.create("p", search_job("obs://out/bad/", bad))
    assert err.value.field == "algorithm.policies.auto_search.search_params[0].name"
    assert "x, n, kind" in err.value.rule
    out_of_range = policy(search_params=[{"name": "x", "param_type": "continuous",
                                          "lower_bound": 0, "upper_bound": 2}])
    with pytest.raises(SpecError, match=r"upper_bound.*allows \[0.0, 1.0\]"):
        toy.jobs.create("p", search_job("obs://out/bad/", out_of_range))
    assert toy.jobs.list("p")[1] == 0


def test_stopping_a_search_whose_driver_died(toy: Service) -> None:
    """No driver to forward the stop: the service stops the trials itself, and the search
    is not resumed."""
    job = search_job("obs://out/s6/", policy(samples=3),
                     parameters=[{"name": "steps", "value": 100}, {"name": "pause", "value": 0.2}])
    sid = toy.jobs.create("p", job)["metadata"]["id"]
    deadline = time.time() + 60
    while not any(t["status"] == "running" for t in trials(toy, sid)):
        assert time.time() < deadline
        time.sleep(0.3)
    pid = json.loads((toy.settings.jobs_root / sid / "driver.pid").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    toy.jobs.stop("p", sid)
    rec = toy.search.get("p", sid)
    assert rec["status"]["phase"] == "Terminated"
    assert rec["status"]["autosearch"]["state"] == "Terminated"
    assert rec["status"]["autosearch"]["resumes"] == 0
    [t] = trials(toy, sid)
    assert t["status"] == "stopped"
    assert wait_for(toy, t["job_id"], final)["status"]["phase"] == "Terminated"
