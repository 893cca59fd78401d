"""The files a runtime leaves in its job folder: how the control plane learns what happened.

A runtime never talks to the database. It writes ``state.json`` (atomically, by rename) and
appends to ``events.jsonl``; the service reads both whenever it looks at a job, which is why
a job survives a restart of the server and is never started twice.

Job folder layout (``$MODELYARD_HOME/jobs/<job id>/``)::

    plan.json       the RunPlan (written before the runtime starts)
    state.json      RuntimeState (written by the runtime)
    events.jsonl    one RuntimeEvent per line (appended by the runtime)
    runtime.out     the runtime's own stdout/stderr (diagnostics only)
    runtime.pid     {"pid", "start_time"} of the runtime, written by the executor that started it
    stop.json       a StopRequest, written by whoever asks the runtime to stop (then SIGTERM)
    logs/           the task logs (``modelarts-job-<id>-worker-<i>.log``), written by the
                    runtime; outside every folder bound into the job, so a job cannot swap
                    its log for a symlink or a FIFO (issue 13)
    envs/           the job's private requirements layers (see runtime/deps.py)
    home/           becomes /home/ma-user (code, inputs, outputs, MA_LOG_DIR)
    cache/          becomes /cache
    opt-ml/         becomes /opt/ml (contract 'sagemaker' only)

Everything below ``home/`` and ``cache/`` is the job's to change; host-side code reads and
writes there only through ``modelyard.storage.nofollow``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pydantic import BaseModel, Field

from modelyard.spec.plan import RunPlan
from modelyard.spec.status import EventLevel, EventSource, Phase
from modelyard.storage.nofollow import UnsafePath, open_regular

PLAN_FILE = "plan.json"
STATE_FILE = "state.json"
EVENTS_FILE = "events.jsonl"
RUNTIME_OUT = "runtime.out"
RUNTIME_PID = "runtime.pid"
STOP_FILE = "stop.json"
LOGS_DIR = "logs"
ENVS_DIR = "envs"


SANDBOX_DIR = "sandbox"
"""The job folder's private folder for the sandbox's own files (generated /etc/passwd, the
pasta pid, the control groups): never bound into the job."""

class RuntimeState(BaseModel):
    phase: Phase = Phase.PENDING
    runtime_pid: int | None = None
    runtime_start_time: int | None = None
    """Start time of ``runtime_pid`` in clock ticks after boot (/proc/<pid>/stat field 22):
    tells a live runtime from another process that reuses its pid."""
    user_pgid: int | None = None
    sandbox: str | None = None
    """How the user's process runs: 'bwrap' or 'none' (None before it is decided)."""
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    message: str = ""
    reason: str | None = None
    """Why a final phase was reached: completed, exit_code, signal, staging,
    staging_transient, hang, stopped, auto_stop, or lost (set by the executor when the
    runtime vanished). The service's retry policy decides on it."""
    attempt: int = 0
    peak_memory_bytes: int | None = None
    """Largest resident memory of the job's processes together, sampled every second."""
    updated_at: float = Field(default_factory=time.time)


class RuntimeEvent(BaseModel):
    time: float = Field(default_factory=time.time)
    level: EventLevel = EventLevel.INFO
    source: EventSource = EventSource.PLATFORM
    message: str


class StopRequest(BaseModel):
    """Why a job is being stopped and how long its processes get to exit after SIGTERM."""

    reason: str = "stopped"
    grace_seconds: float | None = None
    time: float = Field(default_factory=time.time)


def log_name(job_id: str, task_index: int = 0) -> str:
    """docs/contract.md: one log per task, ``modelarts-job-<job id>-worker-<i>.log``."""
    return f"modelarts-job-{job_id}-worker-{task_index}.log"


class JobFolder:
    """Paths and file I/O of one job folder, shared by the runtime and the control plane."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def opt_ml(self) -> Path:
        return self.root / "opt-ml"

    @property
    def log_dir(self) -> Path:
        """The platform's copy of the task logs: next to state.json, not in ``home``
        (where ``MA_LOG_DIR`` is, for the job's own files)."""
        return self.root / LOGS_DIR

    @property
    def envs(self) -> Path:
        return self.root / ENVS_DIR

    def log_file(self, job_id: str, task_index: int = 0) -> Path:
        return self.log_dir / log_name(job_id, task_index)

    def write_plan(self, plan: RunPlan, durable: bool = True) -> None:
        """``durable=False`` skips the fsync: the write is still atomic for every reader on
        this machine."""
        self.root.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.root / PLAN_FILE, plan.model_dump_json(indent=2), durable)

    def read_plan(self) -> RunPlan:
        return RunPlan.model_validate_json((self.root / PLAN_FILE).read_text())

    def write_state(self, state: RuntimeState, durable: bool = True) -> None:
        """Atomic (by rename) for every reader; ``durable`` adds an fsync so that the state
        also survives a power loss. An fsync costs tens of milliseconds on a busy disk (and
        a journal commit that stalls other writers), so the writes on the way to the job's
        first line skip it: after a power loss no runtime is left to have been starting."""
        state.updated_at = time.time()
        _atomic_write(self.root / STATE_FILE, state.model_dump_json(), durable)

    def read_state(self) -> RuntimeState | None:
        try:
            return RuntimeState.model_validate_json((self.root / STATE_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def write_stop_request(self, request: StopRequest) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.root / STOP_FILE, request.model_dump_json())

    def read_stop_request(self) -> StopRequest | None:
        try:
            return StopRequest.model_validate_json((self.root / STOP_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def append_event(self, event: RuntimeEvent) -> None:
        line = event.model_dump_json() + "\n"
        fd = os.open(self.root / EVENTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def read_events(self, offset: int = 0) -> tuple[list[RuntimeEvent], int]:
        """Events from byte ``offset`` on, and the offset after the last complete line."""
        path = self.root / EVENTS_FILE
        try:
            with path.open("rb") as fh:
                fh.seek(offset)
                data = fh.read()
        except FileNotFoundError:
            return [], offset
        events = []
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if line.strip():
                events.append(RuntimeEvent.model_validate_json(line))
        return events, offset + end


def read_log(path: Path, start: int | None = None, limit: int = 1 << 20) -> tuple[bytes, int]:
    """(up to ``limit`` bytes of the log from ``start``, the log's size); ``start=None``
    gives the last ``limit`` bytes. A missing log reads as empty. So does anything that is
    not a regular file, or a symlink: the log is opened ``O_NOFOLLOW|O_NONBLOCK`` and
    checked with ``fstat`` first, so it can neither lead to another file nor block the
    reader (a FIFO once hung the whole API)."""
    try:
        fd = open_regular(path)
    except (FileNotFoundError, NotADirectoryError, UnsafePath):
        return b"", 0
    try:
        size = os.fstat(fd).st_size
        begin = max(0, size - limit) if start is None else start
        if begin >= size:
            return b"", size
        return os.pread(fd, min(limit, size - begin), begin), size
    finally:
        os.close(fd)


def _atomic_write(path: Path, text: str, durable: bool = True) -> None:
    # Unique per thread too: the service's watcher and a request may write one job's state
    # at the same moment, and a shared temporary name made one rename fail.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("w") as fh:
        fh.write(text)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
