"""The Ray executor's pure parts, without a cluster: one job state from its tasks' states,
the create-time fit check, and the names a restarted server finds its Ray objects by."""

from __future__ import annotations

import pytest

pytest.importorskip("ray")

from modelyard.executors.base import Need
from modelyard.executors.ray.combine import combine
from modelyard.executors.ray.placement import NodeInfo, bundle, never_fits
from modelyard.executors.ray.record import RayRecord, read_record, write_record
from modelyard.runtime.state import RuntimeState
from modelyard.spec.status import Phase


def task(phase: Phase, **kw: object) -> RuntimeState:
    return RuntimeState(phase=phase, **kw)  # type: ignore[arg-type]


def test_running_only_when_every_task_runs() -> None:
    assert combine([task(Phase.RUNNING), None], 0).phase == Phase.PENDING
    assert combine([task(Phase.RUNNING), task(Phase.PENDING)], 0).phase == Phase.PENDING
    both = combine([task(Phase.RUNNING, started_at=5.0), task(Phase.RUNNING, started_at=3.0)], 2)
    assert (both.phase, both.started_at, both.attempt) == (Phase.RUNNING, 3.0, 2)


def test_one_failed_task_fails_the_job_at_once_and_names_the_worker() -> None:
    state = combine([task(Phase.RUNNING),
                     task(Phase.FAILED, reason="exit_code", exit_code=3, message="boom")], 0)
    assert (state.phase, state.reason, state.exit_code) == (Phase.FAILED, "exit_code", 3)
    assert state.message == "worker-1: boom"
    single = combine([task(Phase.FAILED, reason="exit_code", exit_code=3, message="boom")], 0)
    assert single.message == "boom"


def test_completed_when_all_complete_terminated_after_a_stop() -> None:
    done = combine([task(Phase.COMPLETED, ended_at=4.0), task(Phase.COMPLETED, ended_at=9.0)],
                   0)
    assert (done.phase, done.reason, done.exit_code, done.ended_at) == (
        Phase.COMPLETED, "completed", 0, 9.0)
    # A task that ended well while another still runs: the job runs on.
    assert combine([task(Phase.COMPLETED), task(Phase.RUNNING)], 0).phase == Phase.RUNNING
    stopped = combine([task(Phase.TERMINATED, reason="stopped"), task(Phase.COMPLETED)], 0)
    assert (stopped.phase, stopped.reason) == (Phase.TERMINATED, "stopped")


def test_a_job_never_fits_with_fewer_big_enough_nodes_than_it_asks_for() -> None:
    nodes = [NodeInfo("a", "10.0.0.1", 2, 2.0, 0), NodeInfo("b", "10.0.0.2", 4, 8.0, 1)]
    assert never_fits(Need("f", 2, 2, 2.0, 0), nodes) is None
    why = never_fits(Need("f", 2, 4, 4.0, 0), nodes)
    assert why is not None and "only 1 of the Ray cluster's 2 alive nodes" in why
    assert never_fits(Need("g", 1, 1, 1.0, 2), nodes) is not None  # no node has 2 GPUs
    assert bundle(Need("f", 1, 2, 1.5, 1)) == {"CPU": 2.0, "memory": float(int(1.5 * 2**30)),
                                                "GPU": 1.0}


def test_names_come_from_the_job_and_the_attempt(tmp_path: object) -> None:
    from pathlib import Path

    record = RayRecord.new("job1", 2, 3)
    assert record.placement_group == "modelyard-job1-a2"
    assert record.tasks == [f"job1-a2-t{i}" for i in range(3)]
    assert isinstance(tmp_path, Path)
    write_record(tmp_path, record)
    assert read_record(tmp_path) == record
    assert read_record(tmp_path / "nothing") is None


def test_agents_never_get_the_control_planes_secrets(tmp_path: object) -> None:
    from pathlib import Path

    from modelyard.executors.ray import RayExecutor
    from modelyard.settings import Settings

    assert isinstance(tmp_path, Path)
    settings = Settings(home=tmp_path, api_keys="AK1:SK-secret", secret_key="SK-client",
                        access_key="AK-client", db_url="postgresql://u:pw@db/m",
                        executor="ray", ray_address="10.0.0.1:6379")
    shared = RayExecutor(settings).agent_settings()  # no cluster needed: nothing connects
    assert shared["home"] == str(tmp_path)
    assert not {"api_keys", "secret_key", "access_key", "db_url", "executor"} & set(shared)
    assert "secret" not in repr(shared) and "pw@" not in repr(shared)


def test_master_ports_stay_clear_of_rays_worker_ports_and_the_ephemeral_range() -> None:
    from modelyard.executors.ray.executor import master_port

    ports = {master_port(f"job-{i}") for i in range(5000)}
    assert min(ports) >= 20000 and max(ports) + 15 <= 32767  # Ray: 10002-19999 by default
    assert all((p - 20000) % 16 == 0 for p in ports)
    assert len(ports) > 700  # spread over the slots, so jobs on one node rarely collide
