"""The node agent: one detached, named Ray actor per node (and installation), warm, that
runs the runtimes of every task placed on its node.

Why one per node and not one per task: a new actor is a new Ray worker process importing
ModelYard (0.6–1.5 s measured), which a job would pay on every start; a warm agent starts a
task in the time the local executor does. The task's resources are held by its bundle of
the job's placement group, not by the agent (which asks for none).

It reuses the local executor unchanged: the runtime writes its node-local task folder
(``<home>/ray-tasks/<job>-a<attempt>-t<task>``: state.json, events.jsonl, logs/) exactly as
it does on a single machine, so that folder stays the node's durable truth, and an agent
that is replaced (it crashed, the node did not) finds every task where the old one left it.
The server asks ``sync`` for what changed since the offsets it already holds; the agent
answers with the state, the new complete event lines and the new log bytes, read as regular
files without following links (a job cannot make the agent read another file).
"""

from __future__ import annotations

import re
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
TASK_NAME = re.compile(r"^[A-Za-z0-9_.-]+-a\d+-t\d+$")


class NodeAgent:
    """Wrapped by ``ray.remote`` in executor.py (this module does not import Ray)."""

    def __init__(self, settings_fields: dict[str, Any]) -> None:
        self.settings = Settings(**settings_fields)
        self.root = self.settings.home / TASKS_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self.local = LocalExecutor(self.settings)

    def node_ip(self) -> str:
        import ray

        return str(ray.util.get_node_ip_address())

    def start(self, task: str, plan_json: str) -> None:
        """Starts the task's runtime (returns before the job runs); a task that already has
        a folder with a state was started before and is left alone."""
        task_dir = self._dir(task)
        task_dir.mkdir(exist_ok=True)
        if JobFolder(task_dir).read_state() is None:
            self.local.submit(RunPlan.model_validate_json(plan_json), task_dir)

    def sync(self, task: str, task_index: int, events_offset: int,
             log_offset: int) -> dict[str, Any]:
        """What changed since the server's offsets. The state is read first: every event
        and log line written before a final state is then in this same answer."""
        task_dir = self._dir(task)
        state = self.local.poll(task_dir)
        data, _ = read_log(task_dir / EVENTS_FILE, events_offset, MAX_EVENTS_CHUNK)
        complete = data[:data.rfind(b"\n") + 1]
        log, _ = read_log(self._log_path(task_dir, task_index), log_offset, MAX_LOG_CHUNK)
        return {
            "state": state.model_dump_json() if state is not None else None,
            "events": complete, "events_end": events_offset + len(complete),
            "log": log, "log_end": log_offset + len(log),
        }

    def stop(self, task: str, grace_seconds: float) -> None:
        """stop.json + SIGTERM to the runtime; the runtime ends the user's processes after
        the grace period and still uploads the outputs."""
        self.local.stop(self._dir(task), grace_seconds)

    def _dir(self, task: str) -> Path:
        if not TASK_NAME.match(task):
            raise ValueError(f"not a task name: {task!r}")
        return self.root / task

    @staticmethod
    def _log_path(task_dir: Path, task_index: int) -> Path:
        folder = JobFolder(task_dir)
        try:
            job_id = folder.read_plan().job_id
        except (FileNotFoundError, ValueError):
            return folder.log_dir / "missing.log"
        return folder.log_file(job_id, task_index)
