"""The per-task agent: a detached, named Ray actor that holds its bundle's resources and
runs one task's runtime on its node.

It reuses the local executor unchanged: the runtime writes its node-local task folder
(``<home>/ray-tasks/<job>-a<attempt>-t<task>``: state.json, events.jsonl, logs/) exactly as
it does on a single machine, so that folder stays the node's durable truth. The server asks
``sync`` for what changed since the offsets it already holds; the agent answers with the
state, the new complete event lines and the new log bytes, read as regular files without
following links (a job cannot make the agent read another file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.executors.local import LocalExecutor
from modelyard.runtime.state import EVENTS_FILE, JobFolder, read_log
from modelyard.settings import Settings
from modelyard.spec.plan import RunPlan

TASKS_DIR = "ray-tasks"
MAX_LOG_CHUNK = 4 << 20
"""Log bytes per task per sync: a chatty job catches up over a few passes instead of one
huge message."""
MAX_EVENTS_CHUNK = 1 << 20


class TaskAgent:
    """Wrapped by ``ray.remote`` in executor.py (this module does not import Ray)."""

    def __init__(self, settings_fields: dict[str, Any], task_dir_name: str,
                 task_index: int, plan_json: str) -> None:
        """Starts the runtime on this node at once (like every submit, it returns before
        the job runs). Starting in the constructor makes creation and start one step: an
        agent that could not start is a dead actor, which the server's next sync sees."""
        self.settings = Settings(**settings_fields)
        self.task_dir = self.settings.home / TASKS_DIR / task_dir_name
        self.task_index = task_index
        self.local = LocalExecutor(self.settings)
        self.task_dir.parent.mkdir(parents=True, exist_ok=True)
        if JobFolder(self.task_dir).read_state() is None:  # not after a restart of the actor
            self.local.submit(RunPlan.model_validate_json(plan_json), self.task_dir)

    def node_ip(self) -> str:
        import ray

        return str(ray.util.get_node_ip_address())

    def sync(self, events_offset: int, log_offset: int) -> dict[str, Any]:
        """What changed since the server's offsets. The state is read first: every event
        and log line written before a final state is then in this same answer."""
        state = self.local.poll(self.task_dir)
        data, _ = read_log(self.task_dir / EVENTS_FILE, events_offset, MAX_EVENTS_CHUNK)
        complete = data[:data.rfind(b"\n") + 1]
        log, _ = read_log(self._log_path(), log_offset, MAX_LOG_CHUNK)
        return {
            "state": state.model_dump_json() if state is not None else None,
            "events": complete, "events_end": events_offset + len(complete),
            "log": log, "log_end": log_offset + len(log),
        }

    def stop(self, grace_seconds: float) -> None:
        """stop.json + SIGTERM to the runtime; the runtime ends the user's processes after
        the grace period and still uploads the outputs."""
        self.local.stop(self.task_dir, grace_seconds)

    def _log_path(self) -> Path:
        folder = JobFolder(self.task_dir)
        try:
            job_id = folder.read_plan().job_id
        except (FileNotFoundError, ValueError):
            return folder.log_dir / "missing.log"
        own = folder.log_file(job_id, self.task_index)
        # A runtime that names every log worker-0 (before multi-node support) still syncs.
        return own if own.exists() else folder.log_file(job_id, 0)
