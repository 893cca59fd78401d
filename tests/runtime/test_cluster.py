"""Issue 17 (part B): the runtime runs one task of a multi-node job. Two real runtimes, each
in the real sandbox with its own network, run task 0 and task 1 of one job inside a network
namespace built for the test (tests/runtime/cluster_netns.py): worker 1 reaches worker 0
through MASTER_ADDR:MASTER_PORT, both see the ModelArts variables, the worker names resolve
in the sandbox, each task writes its own log, and the namespace's loopback stays out of
reach."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modelyard.runtime import jobnet, sandbox
from modelyard.runtime.argv import build_env
from modelyard.runtime.cluster import cluster_task, hosts_text
from modelyard.runtime.layout import make_layout
from modelyard.runtime.report import StagingError
from modelyard.runtime.runner import Runner
from modelyard.runtime.state import JobFolder
from modelyard.settings import Settings
from modelyard.spec.contract import Contract
from modelyard.spec.plan import ClusterPlan, RunPlan
from modelyard.spec.status import Phase

from .jobkit import make_plan, obs_path, output

BODY = Path(__file__).with_name("cluster_netns.py")
NODE_IPS = ["10.77.0.1", "10.77.0.2"]
PORT = 29500
VARS = ("MA_NUM_HOSTS", "VC_WORKER_NUM", "VC_WORKER_HOSTS", "VC_TASK_INDEX", "MA_TASK_NAME",
        "MA_CURRENT_IP", "MA_CURRENT_INSTANCE_NAME", "MA_VJ_NAME", "MA_NUM_GPUS",
        "MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "NNODES", "WORLD_SIZE", "RANK")

EXCHANGE = f"""
import json, os, socket, sys, time
env = {{k: os.environ.get(k) for k in {VARS!r}}}
print("VARS:" + json.dumps(env), flush=True)
print("HOSTNAME:" + socket.gethostname(), flush=True)
names = os.environ["VC_WORKER_HOSTS"].split(",")
print("RESOLVED:" + json.dumps({{n: socket.gethostbyname(n) for n in names}}), flush=True)
addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
if os.environ["RANK"] == "0":
    server = socket.create_server(("0.0.0.0", port))
    server.settimeout(90)
    conn, _ = server.accept()
    got = conn.makefile().readline().strip()
    conn.sendall(b"reply-from-0-to-" + got.encode() + b"\\n")
else:
    deadline = time.time() + 90
    while True:  # worker 0 may not listen yet (its runtime is still staging)
        try:
            conn = socket.create_connection((addr, port), timeout=5)
            conn.sendall(b"hello-from-1\\n")
            got = conn.makefile().readline().strip()
            if got:
                break
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit("worker 0 never answered")
        time.sleep(0.2)
print("EXCHANGE:" + got, flush=True)
out = next(a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--train_url="))
with open(os.path.join(out, "rank-" + os.environ["RANK"] + ".txt"), "w") as fh:
    fh.write(got)
loop = int(os.environ["LOOPBACK_PORT"])
for host in ("127.0.0.1", "10.77.0.254"):
    try:
        socket.create_connection((host, loop), timeout=3).close()
        print("REACHED:" + host, flush=True)
    except OSError as exc:
        print("UNREACHABLE:" + host + ":" + type(exc).__name__, flush=True)
"""

PEER_FAILS = """
import os, sys
print("task", os.environ["VC_TASK_INDEX"], "of", os.environ["VC_WORKER_NUM"], flush=True)
sys.exit(7 if os.environ["RANK"] == "1" else 0)
"""


def _cluster_ready() -> str | None:
    """Why the two-node tests cannot run here (None: they can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, the job user)"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not jobnet.pasta_available():
        return "pasta (package passt) is not installed"
    bwrap = sandbox.find_bwrap()
    return "bubblewrap is not installed" if bwrap is None else sandbox.probe(bwrap)


@pytest.fixture
def cluster_host() -> None:
    reason = _cluster_ready()
    if reason:
        pytest.skip(f"the multi-node runtime tests need the sandbox and a job network: {reason}")


def _task_plans(settings: Settings, script: str) -> list[RunPlan]:
    base = make_plan(settings, script, node_count=2, outputs=[output(settings)])
    return [base.model_copy(update={"cluster": ClusterPlan(
        task_index=i, hosts=NODE_IPS, master_port=PORT, node_ip=NODE_IPS[i])}, deep=True)
        for i in range(2)]


def _run_tasks(settings: Settings, tmp_path: Path, plans: list[RunPlan]) -> dict[str, Any]:
    """Both tasks' runtimes at once, in the test's network namespace; their states."""
    jobs = [{"plan": p.model_dump(mode="json"),
             "job_dir": str(settings.jobs_root / f"{p.job_id}-task{i}")}
            for i, p in enumerate(plans)]
    request = tmp_path / "cluster-request.json"
    request.write_text(json.dumps({"settings": settings.model_dump(mode="json"), "jobs": jobs,
                                   "timeout": 150}))
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    done = subprocess.run(["unshare", "-n", sys.executable, str(BODY), str(request)],
                          capture_output=True, text=True, timeout=240, env=env)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT:")]
    assert done.returncode == 0 and lines, f"{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT:"):])
    result["folders"] = [JobFolder(Path(j["job_dir"])) for j in jobs]
    return result


def _printed(log: str, marker: str) -> str:
    found = [line[len(marker):] for line in log.splitlines() if line.startswith(marker)]
    assert found, f"no {marker} line in the log:\n{log}"
    return found[-1]


@pytest.mark.slow
def test_two_tasks_exchange_data_through_master_addr(
        settings: Settings, tmp_path: Path, cluster_host: None) -> None:
    plans = _task_plans(settings, EXCHANGE)
    job_id = plans[0].job_id
    result = _run_tasks(settings, tmp_path, plans)
    names = [f"modelarts-job-{job_id}-worker-{i}" for i in range(2)]
    logs = []
    for i, (state, folder) in enumerate(zip(result["states"], result["folders"], strict=True)):
        log_file = folder.log_file(job_id, i)
        assert log_file.name == f"modelarts-job-{job_id}-worker-{i}.log"
        log = log_file.read_text()
        logs.append(log)
        assert state["phase"] == Phase.COMPLETED.value, log
        assert not folder.log_file(job_id, 1 - i).exists()  # one log per task, its own
        assert json.loads(_printed(log, "VARS:")) == {
            "MA_NUM_HOSTS": "2", "VC_WORKER_NUM": "2", "VC_WORKER_HOSTS": ",".join(names),
            "VC_TASK_INDEX": str(i), "MA_TASK_NAME": "worker", "MA_CURRENT_IP": NODE_IPS[i],
            "MA_CURRENT_INSTANCE_NAME": names[i], "MA_VJ_NAME": f"modelarts-job-{job_id}",
            "MA_NUM_GPUS": "0", "MASTER_ADDR": NODE_IPS[0], "MASTER_PORT": str(PORT),
            "NODE_RANK": str(i), "NNODES": "2", "WORLD_SIZE": "2", "RANK": str(i)}
        assert _printed(log, "HOSTNAME:") == names[i]
        assert json.loads(_printed(log, "RESOLVED:")) == dict(zip(names, NODE_IPS, strict=True))
        # The namespace's loopback (the node's services) and the gateway stay out of reach.
        assert "REACHED:" not in log
        assert {line.split(":")[1] for line in log.splitlines()
                if line.startswith("UNREACHABLE:")} == {"127.0.0.1", "10.77.0.254"}
    assert _printed(logs[1], "EXCHANGE:") == "reply-from-0-to-hello-from-1"
    assert _printed(logs[0], "EXCHANGE:") == "hello-from-1"
    assert result["loopback_accepted"] == []
    # Every task uploads its output folder into the job's one output location.
    stored = obs_path(settings, plans[0].outputs[0].url)
    assert sorted(f.name for f in stored.iterdir()) == ["rank-0.txt", "rank-1.txt"]
    assert (stored / "rank-1.txt").read_text() == "reply-from-0-to-hello-from-1"


@pytest.mark.slow
def test_a_failed_worker_fails_with_its_own_exit_code(
        settings: Settings, tmp_path: Path, cluster_host: None) -> None:
    """The runtime does not coordinate its peers (the executor stops the others): task 1's
    own exit code ends task 1, task 0 ends as its own code says."""
    plans = _task_plans(settings, PEER_FAILS)
    result = _run_tasks(settings, tmp_path, plans)
    first, second = result["states"]
    assert first["phase"] == Phase.COMPLETED.value and first["exit_code"] == 0
    assert second["phase"] == Phase.FAILED.value and second["exit_code"] == 7
    assert second["message"] == "Process exited with code 7"
    log = result["folders"][1].log_file(plans[1].job_id, 1).read_text()
    assert "task 1 of 2" in log


def _run_in_process(settings: Settings, plan: RunPlan) -> tuple[Any, str]:
    job_dir = settings.jobs_root / plan.job_id
    folder = JobFolder(job_dir)
    folder.write_plan(plan)
    state = Runner(job_dir, settings).run()
    index = plan.cluster.task_index if plan.cluster else 0
    if not 0 <= index < plan.node_count:  # refused in task 0's log
        index = 0
    return state, folder.log_file(plan.job_id, index).read_text()


def test_a_task_without_a_job_network_fails_at_staging(settings: Settings) -> None:
    plan = _task_plans(settings.model_copy(update={"job_network": "none"}), "print(1)")[1]
    state, log = _run_in_process(settings.model_copy(update={"job_network": "none"}), plan)
    assert state.phase == Phase.FAILED and state.reason == "staging"
    assert "job_network = none" in state.message and "node_count=2" in state.message
    assert state.message in log


def test_a_task_under_the_sagemaker_contract_is_refused(settings: Settings) -> None:
    plan = _task_plans(settings, "print(1)")[0].model_copy(
        update={"contract": Contract.SAGEMAKER})
    state, log = _run_in_process(settings, plan)
    assert state.phase == Phase.FAILED and state.reason == "staging"
    assert "under the SageMaker contract are not supported yet" in state.message
    assert "Job started" not in log


@pytest.mark.parametrize(("cluster", "words"), [
    (ClusterPlan(task_index=0, hosts=["10.77.0.1"]), "cluster.hosts lists 1 address"),
    (ClusterPlan(task_index=2, hosts=NODE_IPS), "cluster.task_index=2"),
    (ClusterPlan(task_index=0, hosts=["10.77.0.1", "node-b"]), "cluster.hosts[1]='node-b'"),
    (ClusterPlan(task_index=1, hosts=NODE_IPS, node_ip="10.77.0.1"), "cluster.node_ip="),
    (ClusterPlan(task_index=1, hosts=NODE_IPS, master_port=80), "cluster.master_port=80"),
])
def test_a_bad_cluster_plan_fails_at_staging_naming_the_field(
        settings: Settings, cluster: ClusterPlan, words: str) -> None:
    plan = make_plan(settings, "print(1)", node_count=2).model_copy(update={"cluster": cluster})
    state, log = _run_in_process(settings, plan)
    assert state.phase == Phase.FAILED and state.reason == "staging"
    assert words in state.message, state.message
    assert state.message in log and "Job started" not in log  # nothing of the job ran


def test_node_count_above_one_without_a_cluster_is_still_refused(settings: Settings) -> None:
    state, _ = _run_in_process(settings, make_plan(settings, "print(1)", node_count=2))
    assert state.phase == Phase.FAILED
    assert "multi-node jobs (node_count=2) need a cluster executor" in state.message


def test_hosts_file_names_every_worker_at_its_node() -> None:
    plan = RunPlan(job_id="abc", node_count=3, cluster=ClusterPlan(
        task_index=2, hosts=["10.0.0.5", "10.0.0.6", "10.0.0.7"]))
    task = cluster_task(plan)
    assert task is not None and task.name == "modelarts-job-abc-worker-2"
    assert task.node_ip == "10.0.0.7" and (task.master_port, task.last_port) == (29500, 29515)
    assert hosts_text(task).splitlines()[2:] == [
        "10.0.0.5\tmodelarts-job-abc-worker-0", "10.0.0.6\tmodelarts-job-abc-worker-1",
        "10.0.0.7\tmodelarts-job-abc-worker-2"]
    assert cluster_task(RunPlan(job_id="abc")) is None


def test_inbound_forwarding_is_limited_to_the_node_address_and_the_port_range() -> None:
    """``pasta -t auto`` cannot be limited to an address (checked: "Invalid port specifier
    10.77.0.1/auto"), so the range is explicit."""
    inbound = jobnet.Inbound("10.77.0.2", 29500, 29515)
    assert inbound.pasta_options() == ["-a", "10.77.0.2", "-t", "10.77.0.2/29500-29515"]


def test_a_port_of_the_range_already_taken_on_the_node_is_refused() -> None:
    """pasta itself would silently skip it and the peers would reach its listener."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        # A range of that one port: its neighbours belong to whoever else runs here.
        inbound = jobnet.Inbound("127.0.0.1", port, port)
        with pytest.raises(StagingError, match=f"TCP port {port} on 127.0.0.1 is not free"):
            inbound.check_free()
    jobnet.Inbound("127.0.0.1", port, port).check_free()  # free again


def test_torch_launcher_variables_for_a_task() -> None:
    plan = RunPlan(job_id="abc", node_count=2, boot_file="train.py", code_dir="obs://b/c/",
                   cluster=ClusterPlan(task_index=1, hosts=NODE_IPS, master_port=29600))
    task = cluster_task(plan)
    assert task is not None
    layout = make_layout(JobFolder(Path("/nonexistent/job")), True, plan.contract)
    env = build_env(plan, layout, python="/usr/bin/python3", layer=None,
                    task=task.task_info(num_gpus=0), base_env={})
    assert {k: env[k] for k in ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "NNODES", "RANK",
                                "WORLD_SIZE", "MA_CURRENT_IP", "MA_VJ_NAME")} == {
        "MASTER_ADDR": "10.77.0.1", "MASTER_PORT": "29600", "NODE_RANK": "1", "NNODES": "2",
        "RANK": "1", "WORLD_SIZE": "2", "MA_CURRENT_IP": "10.77.0.2",
        "MA_VJ_NAME": "modelarts-job-abc"}
    assert env["VC_WORKER_HOSTS"] == "modelarts-job-abc-worker-0,modelarts-job-abc-worker-1"
