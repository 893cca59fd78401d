"""ExitWaiter: a runtime's exit wakes whoever waits on it (pidfds), not a timed poll."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.runtime import procs
from modelyard.runtime.state import RUNTIME_PID
from modelyard.service.exits import ENDED, EXITED, WOKEN, ExitWaiter, pidfd

LONG = 600.0  # a wait that would outlast the test run: returning means we were woken


@pytest.fixture
def waiter() -> Iterator[ExitWaiter]:
    w = ExitWaiter()
    yield w
    w.close()


def runtime(job_dir: Path, argv: list[str]) -> subprocess.Popen[bytes]:
    """A process recorded as the folder's runtime, as the local executor records one."""
    job_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
    (job_dir / RUNTIME_PID).write_text(json.dumps(
        {"pid": proc.pid, "start_time": procs.start_time(proc.pid)}))
    return proc


def test_a_runtimes_exit_ends_the_wait(waiter: ExitWaiter, tmp_path: Path) -> None:
    proc = runtime(tmp_path / "job", [sys.executable, "-c", "import sys; sys.stdin.read()"])
    waiter.watch([tmp_path / "job"])
    assert waiter.wait(0) is None  # still running
    assert proc.stdin is not None
    proc.stdin.close()  # the "runtime" ends
    assert waiter.wait(LONG) == EXITED
    proc.wait()
    waiter.watch([tmp_path / "job"])  # the same runtime is not waited on again
    assert waiter.wait(0) is None


def test_a_runtime_gone_before_the_watch_wakes_once(waiter: ExitWaiter, tmp_path: Path) -> None:
    proc = runtime(tmp_path / "job", ["true"])
    proc.wait()
    assert pidfd(proc.pid, procs.start_time(proc.pid)) == ENDED
    waiter.watch([tmp_path / "job"])
    assert waiter.wait(LONG) == EXITED  # looked at again right away
    waiter.watch([tmp_path / "job"])
    assert waiter.wait(0) is None  # and only once, not in a busy loop


def test_a_reused_pid_is_not_the_runtime(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        start = procs.start_time(proc.pid)
        assert start is not None
        assert pidfd(proc.pid, start + 1) == ENDED  # recorded start differs: another process
    finally:
        proc.kill()
        proc.wait()


def test_folders_without_a_runtime_and_wake(waiter: ExitWaiter, tmp_path: Path) -> None:
    (tmp_path / "queued").mkdir()
    waiter.watch([tmp_path / "queued"])  # no runtime.pid yet: nothing to wait on
    assert waiter.wait(0) is None
    waiter.wake()
    assert waiter.wait(LONG) == WOKEN
    assert waiter.wait(0) is None  # the wake-up was consumed


QUICK = 'print("done", flush=True)\n'


@pytest.mark.slow
def test_watcher_starts_the_next_queued_job_when_a_runtime_exits(
        home, code) -> None:  # type: ignore[no-untyped-def]
    """One core, three quick jobs queued, a watcher whose timed pass is ten minutes away:
    each runtime's exit starts the next job, so all three complete long before that."""
    from fixtures.jobs import algorithm_for, final, job_for, wait_for
    from modelyard.service import Service
    from modelyard.service.watcher import Watcher
    from modelyard.settings import Settings

    service = Service(Settings(home=home, node_cpus=1, node_memory_gb=8))
    watcher = Watcher(service, interval=LONG)
    try:
        service.algorithms.create("p", algorithm_for(code("quick", QUICK), "quick",
                                                     outputs=[]))
        watcher.start()
        ids = []
        for i in range(3):
            data = job_for("quick", "unused", name=f"q{i}")
            data["algorithm"]["outputs"] = []
            ids.append(service.jobs.create("p", data)["metadata"]["id"])
        for job_id in ids:
            record = wait_for(service, job_id, final, timeout=120)
            assert record["status"]["phase"] == "Completed", record["status"]
    finally:
        watcher.stop()
        service.close()
