"""Fault tolerance: restarts from the last checkpoint, lost runtimes, a control plane that
is killed while jobs run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.jobs import algorithm_for, final, job_for, out_dir, wait_for
from modelyard.service import Service
from modelyard.settings import Settings

pytestmark = pytest.mark.slow

# Trains 5 epochs with a checkpoint each; the first attempt dies at epoch 3 the way the
# given crash mode says (SIGKILL like the OOM killer, or a plain non-zero exit).
CRASHER = """
import argparse, os, signal, sys
p = argparse.ArgumentParser()
p.add_argument("--train_url"); p.add_argument("--crash", default="kill")
a, _ = p.parse_known_args()
ckpt = os.path.join(a.train_url, "epoch.txt")
marker = os.path.join(a.train_url, "crashed-once")
start = int(open(ckpt).read()) if os.path.exists(ckpt) else 0
print(f"resumed at epoch {start}", flush=True)
for epoch in range(start + 1, 6):
    open(ckpt + ".tmp", "w").write(str(epoch)); os.replace(ckpt + ".tmp", ckpt)
    print(f"epoch={epoch}", flush=True)
    if epoch == 3 and not os.path.exists(marker):
        open(marker, "w").write("x")
        if a.crash == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        sys.exit(1)
"""


@pytest.fixture
def crasher(service: Service, code) -> str:  # type: ignore[no-untyped-def]
    url = code("crasher", CRASHER)
    service.algorithms.create("p", algorithm_for(url, "crasher", parameters=[
        {"name": "crash", "value": "kill"}]))
    return "crasher"


def crash_job(service: Service, out: str, crash: str, annotations: dict[str, str]) -> str:
    data = job_for("crasher", out, parameters=[{"name": "crash", "value": crash}],
                   annotations=annotations)
    return str(service.jobs.create("p", data)["metadata"]["id"])


def test_killed_job_resumes_from_its_checkpoint(service: Service, crasher: str,
                                                settings: Settings) -> None:
    job = crash_job(service, "obs://out/resume/", "kill",
                    {"fault-tolerance/job-retry-num": "2"})
    done = wait_for(service, job, final, timeout=120, project="p")
    assert done["status"]["phase"] == "Completed", done["status"]
    log = service.jobs.log_preview("p", job)["content"]
    assert "resumed at epoch 0" in log and "resumed at epoch 3" in log
    # the checkpoint of epoch 3 was saved before the crash: the restart goes on with 4 and 5
    assert log.count("epoch=3") == 1 and log.count("epoch=4") == 1 and "epoch=5" in log
    records = done["status"]["running_records"]
    assert [r["start_type"] for r in records] == ["init", "restart"]
    assert records[0]["end_reason"] == "signal" and records[1]["end_reason"] == "completed"
    events = [e["message"] for e in service.jobs.events("p", job)[0]]
    assert any("restarting from the last checkpoint" in m for m in events)
    assert (out_dir(settings, "obs://out/resume/") / "epoch.txt").read_text() == "5"


def test_exit_code_restarts_only_when_unconditional(service: Service, crasher: str) -> None:
    plain = crash_job(service, "obs://out/plain/", "exit", {"fault-tolerance/job-retry-num": "2"})
    assert wait_for(service, plain, final, project="p")["status"]["phase"] == "Failed"
    forced = crash_job(service, "obs://out/forced/", "exit",
                       {"fault-tolerance/job-unconditional-retry": "true"})
    done = wait_for(service, forced, final, timeout=120, project="p")
    assert done["status"]["phase"] == "Completed"
    assert len(done["status"]["running_records"]) == 2


def test_bad_retry_annotation_is_refused(service: Service, crasher: str) -> None:
    from modelyard.spec import SpecError

    with pytest.raises(SpecError) as err:
        crash_job(service, "obs://out/bad/", "kill", {"fault-tolerance/job-retry-num": "5"})
    assert err.value.field == "metadata.annotations.fault-tolerance/job-retry-num"
    assert err.value.value == "5" and "0 to 3" in err.value.rule


def runtime_pid(settings: Settings, job_id: str) -> int:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            state = json.loads((settings.jobs_root / job_id / "state.json").read_text())
            if state.get("runtime_pid") and state.get("phase") == "Running":
                return int(state["runtime_pid"])
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("runtime never reported Running")


SLEEPY_WRITER = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument("--train_url")
a, _ = p.parse_known_args()
open(os.path.join(a.train_url, "ckpt.txt"), "w").write("epoch 1")
print("checkpoint written", flush=True)
time.sleep(120)
"""


def test_killed_runtime_fails_with_outputs_salvaged(service: Service, code,  # type: ignore[no-untyped-def]
                                                    settings: Settings) -> None:
    service.algorithms.create("p", algorithm_for(code("sleepy", SLEEPY_WRITER), "sleepy"))
    job = str(service.jobs.create("p", job_for("sleepy", "obs://out/lost/"))["metadata"]["id"])
    pid = runtime_pid(settings, job)
    wait_for(service, job, lambda r: "checkpoint written" in
             service.jobs.log_preview("p", job)["content"], project="p")
    os.kill(pid, signal.SIGKILL)
    done = wait_for(service, job, final, project="p")
    assert done["status"]["phase"] == "Failed"
    assert "lost" in (done["status"].get("message") or "")
    assert (out_dir(settings, "obs://out/lost/") / "ckpt.txt").read_text() == "epoch 1"


CONTROL_PLANE = """
import json, sys
from modelyard.service import Service
from modelyard.settings import Settings
svc = Service(Settings(home=sys.argv[1], node_cpus=20, node_memory_gb=80, upload_period=1))
ids = []
for i in range(20):
    data = {"metadata": {"name": f"j{i}"}, "algorithm": {"name": "short", "outputs": [
        {"name": "train_url", "remote": {"obs": {"obs_url": f"obs://out/crash/{i}/"}}}]}}
    ids.append(svc.jobs.create("p", data)["metadata"]["id"])
print(json.dumps(ids), flush=True)
import time; time.sleep(600)
"""

SHORT = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument("--train_url")
a, _ = p.parse_known_args()
print("step 1", flush=True)
time.sleep(4)
open(os.path.join(a.train_url, "model.txt"), "w").write("done")
print("step 2", flush=True)
"""


def test_control_plane_killed_with_20_jobs_running(code, home: Path) -> None:  # type: ignore[no-untyped-def]
    """kill -9 of the process that created and dispatched 20 jobs: after a restart every
    job ends Completed with its full log and outputs, and none was started twice."""
    settings = Settings(home=home, node_cpus=20, node_memory_gb=80, upload_period=1)
    first = Service(settings)
    first.algorithms.create("p", algorithm_for(code("short", SHORT), "short"))
    first.close()
    proc = subprocess.Popen([sys.executable, "-c", CONTROL_PLANE, str(home)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ids = json.loads(proc.stdout.readline())
    proc.kill()  # SIGKILL while all 20 run
    proc.wait()
    restarted = Service(settings)
    for job in ids:
        done = wait_for(restarted, job, final, timeout=180, project="p")
        assert done["status"]["phase"] == "Completed", done["status"]
        log = restarted.jobs.log_preview("p", job)["content"]
        assert log.count("step 1") == 1 and "step 2" in log
        assert len(done["status"]["running_records"]) == 1
    for i in range(20):
        assert (out_dir(settings, f"obs://out/crash/{i}/") / "model.txt").read_text() == "done"
    restarted.close()
