"""Each job is held to its flavor: pinned to its own cores, thread counts set, memory
accounted (there are no cgroups to enforce memory on these machines)."""

from __future__ import annotations

import os

import pytest

from fixtures.jobs import algorithm_for, final, job_for, wait_for
from modelyard.service import Service
from modelyard.settings import Settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores"),
]

PROBE = """
import argparse, os, time
p = argparse.ArgumentParser()
p.add_argument("--hold", type=float, default=0); p.add_argument("--mb", type=int, default=0)
a, _ = p.parse_known_args()
block = bytearray(a.mb * 2**20)
for i in range(0, len(block), 4096):
    block[i] = 1
print("cores", sorted(os.sched_getaffinity(0)), "omp", os.environ.get("OMP_NUM_THREADS"),
      flush=True)
time.sleep(a.hold)
"""


@pytest.fixture
def settings(home) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(home=home, upload_period=1.0, node_cpus=2, node_memory_gb=2)


def test_jobs_are_pinned_to_their_own_cores(service: Service, code) -> None:  # type: ignore[no-untyped-def]
    service.algorithms.create("p", algorithm_for(code("probe", PROBE), "probe", outputs=[],
                                                 parameters=[{"name": "hold", "value": 0},
                                                             {"name": "mb", "value": 0}]))
    jobs = []
    for i in range(2):
        data = job_for("probe", "x", name=f"pin{i}", parameters=[{"name": "hold", "value": 3}],
                       spec={"resource": {"flavor_id": "modelarts.vm.cpu.1u"}})
        data["algorithm"]["outputs"] = []
        jobs.append(service.jobs.create("p", data)["metadata"]["id"])
    lines = []
    for job in jobs:
        assert wait_for(service, job, final, project="p")["status"]["phase"] == "Completed"
        log = service.jobs.log_preview("p", job)["content"]
        lines.append(next(ln for ln in log.splitlines() if ln.startswith("cores")))
    assert sorted(lines) == ["cores [0] omp 1", "cores [1] omp 1"]


def test_memory_above_the_flavor_ends_the_job(service: Service, code) -> None:  # type: ignore[no-untyped-def]
    service.algorithms.create("p", algorithm_for(code("probe", PROBE), "probe", outputs=[],
                                                 parameters=[{"name": "hold", "value": 0},
                                                             {"name": "mb", "value": 0}]))
    data = job_for("probe", "x", parameters=[{"name": "hold", "value": 2.5},
                                             {"name": "mb", "value": 1200}])
    data["algorithm"]["outputs"] = []
    job = service.jobs.create("p", data)["metadata"]["id"]
    # Issue 13: the flavor's memory is enforced (a memory control group, or RLIMIT_AS
    # where none can be made), no longer only reported.
    assert wait_for(service, job, final, project="p")["status"]["phase"] == "Failed"
    events = [e["message"] for e in service.jobs.events("p", job)[0]]
    log = service.jobs.log_preview("p", job)["content"]
    assert (any("memory limit" in m and "1 GB" in m for m in events)
            or "MemoryError" in log), (events, log)
