"""``modelyard server --workers N`` (issue 20): every worker serves on its own SO_REUSEPORT
socket, only the first runs the watcher, and jobs created through any worker are started
exactly once and none is lost (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from fixtures.server import start_server, stop_server, write_code
from modelyard.runtime import procs

pytestmark = pytest.mark.slow

JOBS = 12


def job_body(name: str, code: Path) -> dict[str, object]:
    return {"kind": "job", "metadata": {"name": name},
            "algorithm": {"code_dir": f"file://{code}/", "boot_file": "train.py",
                          "parameters": [{"name": "epochs", "value": "1"}],
                          "engine": {"engine_name": "python", "engine_version": "3.11"}}}


def workers_answering(url: str, tries: int = 200) -> set[int]:
    """Which workers answer /health, each request on a new connection."""
    seen: set[int] = set()
    for _ in range(tries):
        seen.add(httpx.get(f"{url}/health", timeout=10).json()["worker"])
        if len(seen) == 2:
            break
    return seen


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


def test_two_workers_serve_and_start_every_job_once(db_url: str | None,
                                                    tmp_path: Path) -> None:
    code = write_code(tmp_path / "algo")
    server = start_server(tmp_path / "home", db_url=db_url,
                          extra_env={"MODELYARD_WORKERS": "2"})
    try:
        assert server.process is not None
        children = [st.pid for st in procs.all_stats() if st.ppid == server.process.pid
                    and "--worker" in Path(f"/proc/{st.pid}/cmdline").read_text()]
        assert len(children) == 1
        assert workers_answering(server.url) == {0, 1}
        ids = []
        for i in range(JOBS):  # a new connection each: both workers take creates
            r = httpx.post(f"{server.url}/v2/p/training-jobs",
                           json=job_body(f"w{i}", code), timeout=60)
            assert r.status_code == 201, r.text
            ids.append(r.json()["metadata"]["id"])
        with httpx.Client(base_url=server.url, timeout=30) as client:
            deadline = time.monotonic() + 180
            for job_id in ids:
                while (rec := client.get(f"/v2/p/training-jobs/{job_id}").json())[
                        "status"]["phase"] not in ("Completed", "Failed", "Abnormal"):
                    assert time.monotonic() < deadline, rec["status"]
                    time.sleep(0.2)
                assert rec["status"]["phase"] == "Completed", rec["status"]
                assert len(rec["status"]["running_records"]) == 1  # started once
                events = client.get(f"/v2/p/training-jobs/{job_id}/events").json()
                messages = [e["message"] for e in events["events"]]
                assert sum(m.startswith("Job scheduled") for m in messages) == 1, messages
            listed = client.post("/v2/p/training-job-searches",
                                 json={"limit": 50, "offset": 0}).json()
            assert sorted(j["metadata"]["id"] for j in listed["items"]) == sorted(ids)
        log = server.log_text()
        assert "Traceback" not in log, log[-3000:]
        if db_url:
            assert db_url.split("@")[0] not in Path(f"/proc/{children[0]}/cmdline").read_text()
    finally:
        stop_server(server)
    for pid in children:  # worker 1 ended with the server
        deadline = time.monotonic() + 30
        while procs.is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not procs.is_alive(pid)


def test_workers_end_when_the_server_is_killed(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home", extra_env={"MODELYARD_WORKERS": "3"})
    assert server.process is not None
    children = [st.pid for st in procs.all_stats() if st.ppid == server.process.pid]
    assert len(children) == 2
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    deadline = time.monotonic() + 30
    while any(procs.is_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(procs.is_alive(p) for p in children)
