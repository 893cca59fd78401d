"""The queue: capacity, FIFO within priority, a message that says why a job waits."""

from __future__ import annotations

import pytest

from fixtures.jobs import algorithm_for, final, job_for, wait_for
from modelyard.service import Service
from modelyard.settings import Settings

pytestmark = pytest.mark.slow

SLEEPER = """
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--sleep", type=float, default=0)
a, _ = p.parse_known_args()
print("started", flush=True)
time.sleep(a.sleep)
"""


@pytest.fixture
def settings(home) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(home=home, upload_period=1.0, stop_grace_period=3.0, node_cpus=2,
                    node_memory_gb=8)


@pytest.fixture
def sleeper(service: Service, code) -> str:  # type: ignore[no-untyped-def]
    url = code("sleeper", SLEEPER)
    service.algorithms.create("p", algorithm_for(url, "sleeper", outputs=[], parameters=[
        {"name": "sleep", "value": 0, "constraint": {"type": "Float"}}]))
    return "sleeper"


def run(service: Service, name: str, seconds: float, flavor: str, priority: int = 1) -> str:
    data = job_for("sleeper", "unused", name=name,
                   parameters=[{"name": "sleep", "value": seconds}],
                   spec={"resource": {"flavor_id": flavor},
                         "schedule_policy": {"priority": priority}})
    data["algorithm"]["outputs"] = []
    return str(service.jobs.create("p", data)["metadata"]["id"])


def test_flavors_come_from_node_capacity(service: Service, settings: Settings) -> None:
    from modelyard.service.catalog import flavors

    ids = [f.flavor_id for f in flavors(settings)]
    assert ids == ["modelarts.vm.cpu.1u", "modelarts.vm.cpu.2u", "modelarts.vm.cpu.shared"]


def test_job_waits_with_reason_and_position_then_runs(service: Service, sleeper: str) -> None:
    big = run(service, "big", 60, "modelarts.vm.cpu.2u")
    wait_for(service, big, lambda r: r["status"]["phase"] == "Running", project="p")
    low = run(service, "low", 0, "modelarts.vm.cpu.1u", priority=1)
    high = run(service, "high", 0, "modelarts.vm.cpu.1u", priority=3)
    low_rec, high_rec = service.jobs.get("p", low), service.jobs.get("p", high)
    assert low_rec["status"]["phase"] == "Pending"
    assert low_rec["status"]["secondary_phase"] == "Queuing"
    assert high_rec["status"]["queue_position"] == 1  # priority 3 goes first
    assert low_rec["status"]["queue_position"] == 2
    assert high_rec["status"]["message"].startswith("Job queued: waiting for 1 CPU, 4 GB; 0 CPU")
    assert "behind job high" in low_rec["status"]["message"]
    events = [e["message"] for e in service.jobs.events("p", high)[0]]
    assert any(m.startswith("Job queued") for m in events)
    service.jobs.stop("p", big)
    for job in (high, low):
        assert wait_for(service, job, final, project="p")["status"]["phase"] == "Completed"
    # claimed in queue order (the runtimes may then start in either order)
    claimed = {j: service.jobs.get("p", j)["status"]["running_records"][0]["start_at"]
               for j in (high, low)}
    assert claimed[high] <= claimed[low]


def test_bigger_than_the_node_is_refused(service: Service, sleeper: str,
                                         settings: Settings) -> None:
    from modelyard.spec import SpecError

    settings.node_gpus = 0
    with pytest.raises(SpecError, match="flavor_id"):
        run(service, "gpu", 1, "modelarts.vm.gpu.1x")


def test_more_jobs_than_cores_never_overcommit(service: Service, sleeper: str) -> None:
    ids = [run(service, f"j{i}", 1.5, "modelarts.vm.cpu.1u") for i in range(5)]
    done = [wait_for(service, j, final, timeout=120, project="p") for j in ids]
    assert all(r["status"]["phase"] == "Completed" for r in done), [r["status"] for r in done]
    # From the running records: how many jobs held the node at the same moment.
    edges = []
    for r in done:
        (record,) = r["status"]["running_records"]
        edges += [(record["start_at"], 1), (record["end_at"], -1)]
    running = most = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        running += step
        most = max(most, running)
    assert most == 2  # both cores used, never more


def test_shared_jobs_run_more_at_once_packed_on_their_own_cores(
        service: Service, sleeper: str, settings: Settings) -> None:
    """Eight shared jobs (1/4 core each) on a 2-core node: more than two run at once, each
    pinned to one core, never more than four on a core; a strict job that comes meanwhile
    waits for a whole core and gets one no shared job is on."""
    from modelyard.store.models import JobRow

    assert settings.shared_jobs_per_core == 4
    shared = [run(service, f"s{i}", 3, "modelarts.vm.cpu.shared") for i in range(8)]
    strict = run(service, "strict", 0, "modelarts.vm.cpu.1u")
    done = [wait_for(service, j, final, timeout=120, project="p") for j in [*shared, strict]]
    assert all(r["status"]["phase"] == "Completed" for r in done), [r["status"] for r in done]
    with service.db.session() as s:
        rows = {j: s.get(JobRow, j) for j in [*shared, strict]}
    pins = {j: row.plan["cpu_set"] for j, row in rows.items() if row is not None}
    assert all(len(pins[j]) == 1 for j in shared), pins
    assert all(rows[j].cpus == 0.25 for j in shared)  # type: ignore[union-attr]
    assert {r["status"]["resource"]["cpus"] for r in done} == {0.25, 1}
    assert type(done[-1]["status"]["resource"]["cpus"]) is int  # whole cores stay integers
    assert rows[strict].plan["cpus"] == 1 and rows[strict].cpus == 1  # type: ignore[union-attr]
    spans = {r["metadata"]["id"]: (r["status"]["running_records"][0]["start_at"],
                                   r["status"]["running_records"][0]["end_at"]) for r in done}

    def overlapping(a: str, b: str) -> bool:
        return spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]

    most = max(sum(overlapping(a, b) for b in shared) for a in shared)
    assert most > 2  # itself included: more than the two strict slots
    for a in shared:  # at most four shared jobs on one core at any moment
        assert sum(overlapping(a, b) and pins[a] == pins[b] for b in shared) <= 4
    # The strict job never shared its core with a shared job running at the same time.
    assert not any(overlapping(strict, b) and pins[b] == pins[strict] for b in shared)
    # Strict FIFO across both kinds: it was claimed after every shared job ahead of it.
    assert all(spans[strict][0] >= spans[j][0] for j in shared)
