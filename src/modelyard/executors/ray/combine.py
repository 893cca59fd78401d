"""One job state from its tasks' states: Running while all run, Failed as soon as one task
fails, Completed when all complete, Terminated when a stop ended them."""

from __future__ import annotations

import time

from modelyard.runtime.report import Reason
from modelyard.runtime.state import RuntimeState
from modelyard.spec.status import Phase


def combine(tasks: list[RuntimeState | None], attempt: int) -> RuntimeState:
    """``None`` stands for a task whose runtime has not written a state yet."""
    known = [t for t in tasks if t is not None]
    started = [t.started_at for t in known if t.started_at]
    base = RuntimeState(attempt=attempt, started_at=min(started) if started else None)
    for index, task in enumerate(tasks):
        if task is not None and task.phase == Phase.FAILED:
            return base.model_copy(update={
                "phase": Phase.FAILED, "reason": task.reason, "exit_code": task.exit_code,
                "message": _worker(index, len(tasks), task.message),
                "ended_at": task.ended_at or time.time()})
    if known and len(known) == len(tasks) and all(t.phase.is_final for t in known):
        ended = max(t.ended_at or 0.0 for t in known) or time.time()
        if all(t.phase == Phase.COMPLETED for t in known):
            return base.model_copy(update={"phase": Phase.COMPLETED, "exit_code": 0,
                                           "reason": Reason.COMPLETED, "ended_at": ended,
                                           "message": known[0].message})
        stopped = next(t for t in known if t.phase != Phase.COMPLETED)
        return base.model_copy(update={"phase": stopped.phase, "reason": stopped.reason,
                                       "exit_code": stopped.exit_code, "ended_at": ended,
                                       "message": stopped.message})
    if known and all(t.phase != Phase.PENDING for t in known) and len(known) == len(tasks):
        peaks = [t.peak_memory_bytes for t in known if t.peak_memory_bytes]
        return base.model_copy(update={"phase": Phase.RUNNING,
                                       "peak_memory_bytes": max(peaks) if peaks else None})
    return base.model_copy(update={"phase": Phase.PENDING,
                                   "message": "Starting the runtime on every node"})


def _worker(index: int, count: int, message: str) -> str:
    return message if count == 1 else f"worker-{index}: {message}"
