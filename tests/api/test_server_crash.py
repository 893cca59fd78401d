"""Crash safety of the control plane (issue 5): ``kill -9`` of ``modelyard server`` with 20
jobs running, then a restart on the same home. Every job ends Completed with its full log
and outputs; none is started twice; jobs that ended while the server was down are
recognised."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from fixtures.server import start_server, stop_server

pytestmark = pytest.mark.slow

TRAIN = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument("--train_url")
a, _ = p.parse_known_args()
print("step 1", flush=True)
time.sleep(3)
open(os.path.join(a.train_url, "model.txt"), "w").write("done")
print("step 2", flush=True)
"""


def test_server_killed_with_20_jobs_running(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    home = tmp_path / "home"
    env = {"MODELYARD_NODE_CPUS": "20", "MODELYARD_NODE_MEMORY_GB": "80"}
    server = start_server(home, extra_env=env)
    ids = []
    try:
        with httpx.Client(base_url=server.url + "/v2/p", timeout=60) as api:
            for i in range(20):
                r = api.post("/training-jobs", json={
                    "metadata": {"name": f"j{i}"},
                    "algorithm": {"code_dir": f"file://{code}/", "boot_file": "train.py",
                                  "outputs": [{"name": "train_url", "remote": {"obs": {
                                      "obs_url": f"obs://out/crash/{i}/"}}}]}})
                assert r.status_code in (200, 201), r.text
                ids.append(r.json()["metadata"]["id"])
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        time.sleep(4)  # some jobs end while no server is up
    finally:
        stop_server(server)
    again = start_server(home, extra_env=env)
    try:
        with httpx.Client(base_url=again.url + "/v2/p", timeout=60) as api:
            deadline = time.time() + 240
            pending = set(ids)
            while pending and time.time() < deadline:
                for job in list(pending):
                    if api.get(f"/training-jobs/{job}").json()["status"]["phase"] in (
                            "Completed", "Failed", "Terminated"):
                        pending.discard(job)
                time.sleep(0.5)
            assert not pending, f"{len(pending)} jobs never ended"
            for i, job in enumerate(ids):
                status = api.get(f"/training-jobs/{job}").json()["status"]
                assert status["phase"] == "Completed", status
                assert len(status["running_records"]) == 1  # started exactly once
                log = api.get(f"/training-jobs/{job}/tasks/worker-0/logs/preview").json()
                assert log["content"].count("step 1") == 1 and "step 2" in log["content"]
                assert (home / "obs" / "out" / "crash" / str(i) / "model.txt").read_text() \
                    == "done"
    finally:
        stop_server(again)
