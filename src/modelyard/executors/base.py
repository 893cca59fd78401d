"""Where a runtime runs. One small interface so the control plane does not care whether a
job is a local process or a Ray task."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from pathlib import Path

from modelyard.runtime.state import RuntimeState
from modelyard.spec.plan import RunPlan


class Executor(ABC):
    """Starts, observes and stops runtimes. Implementations keep no state in memory that a
    restarted server would need: everything is in the job folder."""

    name: str = ""

    @abstractmethod
    def submit(self, plan: RunPlan, job_dir: Path) -> None:
        """Writes the plan into ``job_dir`` and starts a runtime for it; returns at once."""

    @abstractmethod
    def poll(self, job_dir: Path) -> RuntimeState | None:
        """The runtime's current state. A runtime that died without writing a final state is
        reported as Failed with a message saying so (never left Running)."""

    @abstractmethod
    def stop(self, job_dir: Path, grace_seconds: float) -> None:
        """Asks the runtime to stop: SIGTERM to the user process group, SIGKILL after
        ``grace_seconds``; outputs are still uploaded and the phase becomes Terminated."""

    def wait(self, job_dir: Path, timeout: float | None = None,
             interval: float = 0.2) -> RuntimeState | None:
        """Polls until the phase is final or ``timeout`` passes; returns the last state
        (for the CLI's ``--wait`` and for tests)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self.poll(job_dir)
            if state is not None and state.phase.is_final:
                return state
            if end is not None and time.monotonic() >= end:
                return state
            time.sleep(interval)

    def log_path(self, job_dir: Path, job_id: str, task_index: int = 0) -> Path:
        from modelyard.runtime.state import JobFolder

        return JobFolder(job_dir).log_file(job_id, task_index)
