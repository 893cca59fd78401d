"""LocalExecutor: the conformance suite (with the launcher serving every job, and without a
launcher), plus what only a local process can show (the runtime outlives its caller; a dead
runtime is reported lost, never left Running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from modelyard.executors.base import Executor
from modelyard.executors.local import LOST_MESSAGE, LocalExecutor
from modelyard.runtime import procs
from modelyard.settings import Settings
from modelyard.spec.status import Phase
from runtime.jobkit import make_plan, processes_with, start, wait_for

from .conformance import ExecutorConformance
from .launcherkit import launcher_pid, running_launcher, served

pytestmark = pytest.mark.slow


class TestLocalExecutorConformance(ExecutorConformance):
    @pytest.fixture(params=["launcher", "no-launcher"])
    def executor(self, settings: Settings, request: pytest.FixtureRequest
                 ) -> Iterator[Executor]:
        if request.param == "no-launcher":
            yield LocalExecutor(settings, launcher=False)
            return
        # A launcher that is up before the first submit, so that every job of the suite
        # goes through it (not through the fallback that starts it).
        with running_launcher(settings) as pid:
            yield LocalExecutor(settings)
            assert launcher_pid(settings) == pid, "the same launcher all along"
            log = served(settings)
            for job_dir in settings.jobs_root.glob("*"):
                assert f"for {job_dir.resolve()}\n" in log, log


def test_the_runtime_outlives_the_process_that_submitted_it(settings: Settings) -> None:
    plan = make_plan(settings, "import time\ntime.sleep(1.5)\nprint('survived')\n")
    job_dir = settings.jobs_root / plan.job_id
    script = textwrap.dedent(f"""
        from pathlib import Path
        from modelyard.executors.local import LocalExecutor
        from modelyard.settings import Settings
        from modelyard.spec.plan import RunPlan
        plan = RunPlan.model_validate_json({plan.model_dump_json()!r})
        LocalExecutor(Settings()).submit(plan, Path({str(job_dir)!r}))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    state = LocalExecutor(settings).wait(job_dir, 60)  # a new executor: nothing in memory
    assert state is not None and state.phase == "Completed"
    assert "survived" in LocalExecutor(settings).log_path(job_dir, plan.job_id).read_text()


def test_a_runtime_killed_with_sigkill_is_reported_lost_and_its_job_dies(
        settings: Settings) -> None:
    marker = f"lost-job-{time.time_ns()}"
    plan = make_plan(settings, "import time\nprint('READY', flush=True)\ntime.sleep(600)\n",
                     hyperparameters=[("tag", marker)])
    job = start(settings, plan)
    job.wait_log("READY")
    state = job.poll()
    assert state is not None and state.phase == "Running" and state.runtime_pid
    os.kill(state.runtime_pid, signal.SIGKILL)
    wait_for(lambda: not procs.is_alive(state.runtime_pid or 0), 10, "the runtime to die")
    lost = job.poll()
    assert lost is not None
    assert (lost.phase, lost.reason, lost.message) == ("Failed", "lost", LOST_MESSAGE)
    assert job.poll() == lost  # recorded: stable on the next look
    assert any("exited unexpectedly" in e.message for e in job.events)
    assert processes_with(marker) == [] or wait_for(
        lambda: not processes_with(marker), 10, "the job's process to die") is None


def test_a_reused_pid_is_not_mistaken_for_the_runtime(settings: Settings) -> None:
    plan = make_plan(settings, "print('x')\n")
    job = start(settings, plan)
    job.wait()
    # Pretend the runtime is still running, with our own pid but another start time.
    state = job.folder.read_state()
    assert state is not None
    job.folder.write_state(state.model_copy(update={"phase": Phase.RUNNING}))
    (job.job_dir / "runtime.pid").write_text(
        f'{{"pid": {os.getpid()}, "start_time": {(procs.start_time(os.getpid()) or 0) + 1}}}')
    polled = job.poll()
    assert polled is not None and polled.reason == "lost"
