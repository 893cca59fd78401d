"""Where a runtime runs. One small interface so the control plane does not care whether a
job is a local process or a Ray task."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from modelyard.runtime.state import RuntimeState
from modelyard.spec.errors import SpecError
from modelyard.spec.plan import RunPlan

CLUSTER_HINT = ("needs a cluster: set MODELYARD_EXECUTOR=ray and MODELYARD_RAY_ADDRESS "
                "(docs/deploy.md)")


@dataclass(frozen=True)
class Capacity:
    """What an executor can run at once, for the scheduler: totals over its nodes."""

    cpus: float
    memory_gb: float
    gpus: int
    pin_cores: bool = False
    """True only when the cores are this machine's (then jobs get cores of their own)."""


@dataclass(frozen=True)
class Need:
    """What one job asks for: ``node_count`` nodes of one flavor."""

    flavor_id: str
    node_count: int
    cpus: float
    memory_gb: float
    gpus: int


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

    def capacity(self) -> Capacity | None:
        """The executor's totals for the scheduler; None = this machine, as the settings
        describe it (``node_cpus``...)."""
        return None

    def check_fits(self, need: Need) -> None:
        """Raises SpecError (a 400 at create) for a job that could never start here, so it
        is refused instead of queued forever. One machine runs single-node jobs only."""
        if need.node_count > 1:
            raise SpecError("spec.resource.node_count", need.node_count,
                            f"a job of {need.node_count} nodes {CLUSTER_HINT}; this server "
                            "runs jobs on its own machine (executor 'local')")

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
