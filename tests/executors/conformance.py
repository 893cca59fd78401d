"""The executor conformance suite: what every Executor must do (submit, poll, stop, logs),
whatever it runs on. An executor's test module subclasses ``ExecutorConformance`` and
provides the ``executor`` fixture (built on the ``settings`` fixture); the LocalExecutor
and the RayExecutor (tests/executors/ray/inner/, on a two-node cluster) run it.

Jobs are real: code in the embedded store, a real runtime, a real process.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modelyard.executors.base import Executor
from modelyard.runtime.state import RuntimeState
from modelyard.settings import Settings
from modelyard.spec.plan import RunPlan
from runtime.jobkit import make_plan, obs_path, output

SLEEPER = r'''
import signal, sys, time
def on_term(*_):
    print("TERM received", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print("READY", flush=True)
time.sleep(600)
'''

WRITER = r'''
import argparse, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--train_url")
args, _ = parser.parse_known_args()
pathlib.Path(args.train_url, "model.txt").write_text("trained")
print("hello from the job")
'''


class ExecutorConformance:
    timeout = 60.0

    @pytest.fixture
    def executor(self, settings: Settings) -> Executor:  # pragma: no cover - overridden
        raise NotImplementedError

    # ------------------------------------------------------------- helpers
    def submit(self, executor: Executor, settings: Settings, plan: RunPlan) -> Path:
        job_dir = settings.jobs_root / plan.job_id
        t0 = time.monotonic()
        executor.submit(plan, job_dir)
        assert time.monotonic() - t0 < 5, "submit must return at once"
        return job_dir

    def wait(self, executor: Executor, job_dir: Path) -> RuntimeState:
        state = executor.wait(job_dir, self.timeout, interval=0.1)
        assert state is not None and state.phase.is_final, f"job did not finish: {state}"
        return state

    def wait_log(self, executor: Executor, job_dir: Path, job_id: str, needle: str) -> None:
        """Polls while it waits: an executor whose runtime runs elsewhere (Ray) brings the
        log into the job folder when polled, as the service's watcher does."""
        path = executor.log_path(job_dir, job_id)
        end = time.monotonic() + self.timeout
        while not (path.exists() and needle in path.read_text(errors="replace")):
            assert time.monotonic() < end, f"{needle!r} never appeared in {path}"
            executor.poll(job_dir)
            time.sleep(0.05)

    # --------------------------------------------------------------- tests
    def test_a_job_runs_to_completion_with_its_log(self, executor: Executor,
                                                   settings: Settings) -> None:
        plan = make_plan(settings, WRITER, outputs=[out := output(settings)])
        job_dir = self.submit(executor, settings, plan)
        assert executor.poll(job_dir) is not None
        state = self.wait(executor, job_dir)
        assert (state.phase, state.exit_code, state.reason) == ("Completed", 0, "completed")
        log = executor.log_path(job_dir, plan.job_id)
        assert log.name == f"modelarts-job-{plan.job_id}-worker-0.log"
        assert "hello from the job" in log.read_text()
        assert (obs_path(settings, out.url) / "model.txt").read_text() == "trained"

    def test_a_failing_job_reports_its_exit_code(self, executor: Executor,
                                                 settings: Settings) -> None:
        plan = make_plan(settings, "import sys\nsys.exit(7)\n")
        state = self.wait(executor, self.submit(executor, settings, plan))
        assert (state.phase, state.exit_code, state.reason) == ("Failed", 7, "exit_code")

    def test_stop_terminates_a_running_job(self, executor: Executor,
                                           settings: Settings) -> None:
        plan = make_plan(settings, SLEEPER)
        job_dir = self.submit(executor, settings, plan)
        self.wait_log(executor, job_dir, plan.job_id, "READY")
        executor.stop(job_dir, 5.0)
        state = self.wait(executor, job_dir)
        assert state.phase == "Terminated"
        assert "TERM received" in executor.log_path(job_dir, plan.job_id).read_text()

    def test_stop_before_the_code_runs_and_after_the_end_is_safe(
            self, executor: Executor, settings: Settings) -> None:
        plan = make_plan(settings, "print('done')\n")
        job_dir = self.submit(executor, settings, plan)
        executor.stop(job_dir, 5.0)
        state = self.wait(executor, job_dir)
        assert state.phase in ("Terminated", "Completed")
        executor.stop(job_dir, 5.0)  # already final: nothing happens
        assert executor.poll(job_dir) == state

    def test_poll_of_a_job_never_submitted_is_none(self, executor: Executor,
                                                   settings: Settings) -> None:
        assert executor.poll(settings.jobs_root / "never-submitted") is None
