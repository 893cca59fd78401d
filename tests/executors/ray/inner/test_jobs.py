"""Jobs on the Ray cluster through the real Service: a sandboxed runtime on a cluster node,
its log, events and outputs on the server; a job queued while the cluster is full; a node
that dies mid-job; the create-time refusals."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
import ray

from fixtures.jobs import algorithm_for, final, job_for, out_dir, phase_is, wait_for
from modelyard.executors.ray import RayExecutor, placement
from modelyard.executors.ray.agent import TASKS_DIR
from modelyard.executors.ray.record import read_record, task_dir_name
from modelyard.runtime import procs
from modelyard.runtime.state import JobFolder
from modelyard.service import Service
from modelyard.settings import Settings
from modelyard.spec import SpecError
from modelyard.spec.status import Phase
from runtime.jobkit import make_plan

from .clusterkit import HEAD_IP, NODE2_IP, Cluster

pytestmark = pytest.mark.slow

Code = Callable[[str, str], str]

WRITER = """
import argparse, os, socket
p = argparse.ArgumentParser()
p.add_argument("--train_url")
a, _ = p.parse_known_args()
open(os.path.join(a.train_url, "model.txt"), "w").write("weights")
print("trained on", os.environ.get("MA_CURRENT_IP", "?"), flush=True)
"""

RESUMABLE = """
import argparse, os, time
p = argparse.ArgumentParser()
p.add_argument("--train_url")
a, _ = p.parse_known_args()
marker = os.path.join(a.train_url, "checkpoint.txt")
if os.path.exists(marker):
    print("resumed from the checkpoint", flush=True)
else:
    open(marker, "w").write("epoch 1")
    print("READY", flush=True)
    time.sleep(600)
"""

SLEEPER = "import time\nprint('READY', flush=True)\ntime.sleep(600)\n"


def hold(bundles: list[dict[str, float]], strategy: str = "STRICT_SPREAD") -> Any:
    """Takes cluster resources away from the jobs (as another user's work would)."""
    group = ray.util.placement_group(bundles, strategy=strategy)
    assert group.wait(timeout_seconds=30), "the holding placement group was not placed"
    return group


def job_id(rec: dict[str, Any]) -> str:
    return str(rec["metadata"]["id"])


def hosts_of(settings: Settings, job: str) -> list[str]:
    record = read_record(settings.jobs_root / job)
    assert record is not None
    return record.hosts


def test_a_job_runs_on_a_node_and_its_log_events_and_outputs_reach_the_server(
        service: Service, code: Code, settings: Settings) -> None:
    service.algorithms.create("p", algorithm_for(code("w", WRITER), "w"))
    rec = service.jobs.create("p", job_for("w", "obs://out/ray1/"))
    done = wait_for(service, job_id(rec), final, timeout=120)
    assert done["status"]["phase"] == "Completed", done["status"]
    assert (out_dir(settings, "obs://out/ray1/") / "model.txt").read_text() == "weights"
    log = service.jobs.log_preview("p", job_id(rec))["content"]
    assert "trained on" in log
    messages = [e["message"] for e in service.jobs.events("p", job_id(rec))[0]]
    assert any(m.startswith("Placed on the Ray cluster: 10.77.0.") for m in messages)
    assert messages[-1] == "Job completed"
    # The runtime's own events came over too (they are written on the node).
    assert len(messages) > 4
    (host,) = hosts_of(settings, job_id(rec))
    assert host in (HEAD_IP, NODE2_IP)
    # Nothing of the job is left on the cluster: its placement group is gone (the node's
    # agent stays, warm for the next job, and holds no resources).
    record = read_record(settings.jobs_root / job_id(rec))
    assert record is not None and record.cleaned
    assert placement.find_group(record.placement_group) is None
    end = time.monotonic() + 30  # a removed group's resources come back asynchronously
    while ray.available_resources().get("CPU") != ray.cluster_resources().get("CPU"):
        assert time.monotonic() < end, (ray.available_resources(), ray.cluster_resources())
        time.sleep(0.2)


def test_a_job_waits_while_the_cluster_is_full_then_runs(settings: Settings) -> None:
    executor = RayExecutor(settings)
    busy = hold([{"CPU": 2.0}, {"CPU": 2.0}])  # both nodes taken
    try:
        plan = make_plan(settings, "print('ran after the wait')\n")
        job_dir = settings.jobs_root / plan.job_id
        executor.submit(plan, job_dir)
        for _ in range(3):
            state = executor.poll(job_dir)
            assert state is not None and state.phase == Phase.PENDING
            assert state.message == ("Job queued: waiting for 1 node with 1 CPU, 1 GB each "
                                     "on the Ray cluster")
            time.sleep(0.5)
    finally:
        ray.util.remove_placement_group(busy)
    state = executor.wait(job_dir, 90, interval=0.2)
    assert state is not None and state.phase == Phase.COMPLETED, state
    assert "ran after the wait" in executor.log_path(job_dir, plan.job_id).read_text()


def test_a_new_executor_picks_up_a_running_job_as_after_a_server_restart(
        settings: Settings) -> None:
    first = RayExecutor(settings)
    plan = make_plan(settings, SLEEPER)
    job_dir = settings.jobs_root / plan.job_id
    first.submit(plan, job_dir)
    log = first.log_path(job_dir, plan.job_id)
    deadline = time.monotonic() + 90
    while not (log.exists() and "READY" in log.read_text()):
        assert time.monotonic() < deadline, "the job never printed READY"
        first.poll(job_dir)
        time.sleep(0.1)
    restarted = RayExecutor(settings)  # nothing in memory: names and offsets are in ray.json
    state = restarted.poll(job_dir)
    assert state is not None and state.phase == Phase.RUNNING
    restarted.stop(job_dir, 3.0)
    state = restarted.wait(job_dir, 60, interval=0.2)
    assert state is not None and state.phase == Phase.TERMINATED
    assert log.read_text().count("READY") == 1  # copied once, not again by the new executor


def test_the_queue_counts_the_cluster_not_the_server(service: Service, code: Code,
                                                     settings: Settings) -> None:
    """Two 2-CPU jobs fill the cluster (2 x 2 CPU); a third waits in the queue and starts
    when one of them is stopped."""
    service.algorithms.create("p", algorithm_for(code("sl", SLEEPER), "sl"))
    big = {"resource": {"flavor_id": "modelarts.vm.cpu.2u"}}
    first = [service.jobs.create("p", job_for("sl", f"obs://out/q{i}/", name=f"q{i}",
                                              spec=big)) for i in range(2)]
    for rec in first:
        wait_for(service, job_id(rec), lambda r: "READY" in service.jobs.log_preview(
            "p", job_id(r))["content"], timeout=120)
    assert sorted(hosts_of(settings, job_id(first[0])) + hosts_of(settings, job_id(first[1]))
                  ) == [HEAD_IP, NODE2_IP]
    third = service.jobs.create("p", job_for("sl", "obs://out/q3/", name="q3", spec=big))
    queued = service.jobs.get("p", job_id(third))
    assert queued["status"]["phase"] == "Pending", queued["status"]
    assert queued["status"]["secondary_phase"] == "Queuing"
    assert "waiting for 2 CPU" in queued["status"]["message"]
    service.jobs.stop("p", job_id(first[0]))
    wait_for(service, job_id(first[0]), final, timeout=60)
    wait_for(service, job_id(third), lambda r: "READY" in service.jobs.log_preview(
        "p", job_id(r))["content"], timeout=120)
    for rec in (first[1], third):
        service.jobs.stop("p", job_id(rec))
    for rec in (first[1], third):
        assert wait_for(service, job_id(rec), final, timeout=60)["status"]["phase"] == \
            "Terminated"


def test_a_node_that_dies_mid_job_makes_the_job_lost_and_the_retry_runs_elsewhere(
        service: Service, code: Code, settings: Settings, cluster: Cluster) -> None:
    service.algorithms.create("p", algorithm_for(code("r", RESUMABLE), "r"))
    head = hold([{"CPU": 2.0, f"node:{HEAD_IP}": 0.01}], strategy="STRICT_PACK")
    try:
        rec = service.jobs.create("p", job_for(
            "r", "obs://out/lost/", annotations={"fault-tolerance/job-retry-num": "1"}))
        job = job_id(rec)
        wait_for(service, job, lambda r: "READY" in service.jobs.log_preview(
            "p", job)["content"], timeout=120)
        assert hosts_of(settings, job) == [NODE2_IP]
        checkpoint = out_dir(settings, "obs://out/lost/") / "checkpoint.txt"
        deadline = time.monotonic() + 30
        while not checkpoint.exists():  # uploaded by the runtime's periodic upload
            assert time.monotonic() < deadline, "the checkpoint was never uploaded"
            time.sleep(0.2)
        # The machine dies: the node's Ray processes and the job's processes on it.
        task = JobFolder(settings.home / TASKS_DIR / task_dir_name(job, 0, 0))
        state = task.read_state()
        assert state is not None and state.runtime_pid and state.user_pgid
        cluster.kill_node2()
        procs.kill_group(state.user_pgid, signal.SIGKILL)
        os.kill(state.runtime_pid, signal.SIGKILL)
        ray.util.remove_placement_group(head)  # room for the retry on the head
        done = wait_for(service, job, final, timeout=180)
    finally:
        cluster.restart_node2()
    assert done["status"]["phase"] == "Completed", done["status"]
    records = done["status"]["running_records"]
    assert [r.get("end_reason") for r in records] == ["lost", "completed"]
    assert hosts_of(settings, job) == [HEAD_IP]
    messages = [e["message"] for e in service.jobs.events("p", job)[0]]
    assert any("was lost" in m and NODE2_IP in m for m in messages), messages
    assert "resumed from the checkpoint" in service.jobs.log_preview("p", job)["content"]


def test_jobs_that_could_never_fit_the_cluster_are_refused_at_create(
        service: Service, code: Code) -> None:
    service.algorithms.create("p", algorithm_for(code("w2", WRITER), "w2"))
    with pytest.raises(SpecError) as err:
        service.jobs.create("p", job_for("w2", "obs://out/no1/",
                                         spec={"resource": {"node_count": 3}}))
    assert (err.value.field, err.value.value) == ("spec.resource.node_count", 3)
    assert "only 2 of the Ray cluster's 2 alive nodes" in err.value.rule
    with pytest.raises(SpecError) as err:
        service.jobs.create("p", job_for("w2", "obs://out/no2/", spec={
            "resource": {"flavor_id": "modelarts.vm.cpu.4u"}}))
    assert err.value.field == "spec.resource.flavor_id"
    assert "0 of the Ray cluster's 2 alive nodes" in err.value.rule
    assert service.jobs.list("p")[1] == 0  # nothing stored
    ok = service.jobs.create("p", job_for("w2", "obs://out/ok/",
                                          spec={"resource": {"node_count": 2}}))
    assert ok["metadata"]["id"]
    service.jobs.stop("p", job_id(ok))
    wait_for(service, job_id(ok), phase_is("Terminated", "Failed", "Completed"), timeout=60)


