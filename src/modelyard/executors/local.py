"""Runs each job's runtime as a local process, detached from whoever started it.

``submit`` has the home's launcher (``executors/launcher/``) fork a runtime from a warm
interpreter, or, when there is no usable launcher, starts ``python -m modelyard.runtime
<job folder>`` itself (as the launcher's ``run`` command, which also starts a launcher for
the next jobs). Either way the runtime runs in its own session, with its output in
``runtime.out``, so the job keeps running when the CLI process, the server or the launcher
exits. Nothing is kept in memory that a restarted server would need: the runtime's pid and
start time are in the job folder, and ``poll`` compares them with /proc to tell a live
runtime from a dead one (and from an unrelated process that reused the pid).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from modelyard.executors import launcher as _launcher
from modelyard.executors.base import Executor
from modelyard.runtime import procs
from modelyard.runtime.jobnet import PASTA_PID, stop_pasta
from modelyard.runtime.limits import CGROUPS_FILE, kill_cgroups
from modelyard.runtime.report import Reason
from modelyard.runtime.state import (
    RUNTIME_OUT,
    RUNTIME_PID,
    SANDBOX_DIR,
    STOP_FILE,
    JobFolder,
    RuntimeEvent,
    RuntimeState,
    StopRequest,
)
from modelyard.settings import Settings
from modelyard.spec.plan import RunPlan
from modelyard.spec.status import EventLevel, EventSource, Phase

LOST_MESSAGE = "runtime exited unexpectedly (lost)"
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
LAUNCHER_BACKOFF = 30.0
"""After a launcher failed to answer in time, jobs skip it for this long (a wedged
launcher must not add its timeout to every submit)."""


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, settings: Settings, *, launcher: bool = True,
                 launcher_idle: float = _launcher.DEFAULT_IDLE_SECONDS) -> None:
        """``launcher=False`` starts every runtime as a new interpreter (the slow path that
        the launcher falls back to anyway; for comparison and for tests)."""
        self.settings = settings
        self.use_launcher = launcher
        self.launcher_idle = launcher_idle
        self._children: dict[Path, subprocess.Popen[bytes]] = {}
        self._skip_launcher_until = 0.0

    # ---------------------------------------------------------------- submit
    def submit(self, plan: RunPlan, job_dir: Path) -> None:
        job_dir = Path(job_dir).resolve()
        folder = JobFolder(job_dir)
        # Without fsync: plan.json is written again from the database at every (re)start
        # and read only by a runtime, and none survives a power loss; the fresh state is
        # superseded by the runtime's. An fsync here (a journal commit) would delay the
        # job's start and stall the runtime's first directory creations.
        folder.write_plan(plan, durable=False)
        (job_dir / RUNTIME_PID).unlink(missing_ok=True)
        (job_dir / STOP_FILE).unlink(missing_ok=True)
        # A fresh state, so that nobody mistakes a previous attempt's last word for this one's.
        folder.write_state(RuntimeState(attempt=plan.attempt), durable=False)
        env = self._runtime_env()
        started = self._launch(job_dir, env)
        if started is None:
            started = self._popen(job_dir, env)
        pid, start = started
        tmp = job_dir / f".{RUNTIME_PID}.tmp"
        tmp.write_text(json.dumps({"pid": pid, "start_time": start}))
        os.replace(tmp, job_dir / RUNTIME_PID)

    def _launch(self, job_dir: Path, env: dict[str, str]) -> tuple[int, int | None] | None:
        """The runtime forked by the home's launcher, or None (then we start it ourselves)."""
        if not self.use_launcher or time.monotonic() < self._skip_launcher_until:
            return None
        t0 = time.monotonic()
        started = _launcher.spawn(self.settings.home, job_dir, env)
        if started is None and time.monotonic() - t0 >= _launcher.client.REPLY_TIMEOUT * 0.9:
            self._skip_launcher_until = time.monotonic() + LAUNCHER_BACKOFF
        return started

    def _popen(self, job_dir: Path, env: dict[str, str]) -> tuple[int, int | None]:
        """Starts the runtime as a new interpreter. With the launcher in use, this runtime
        also starts the home's launcher (from its own warm interpreter) if none runs."""
        if self.use_launcher:
            # The job folder is the working directory, not an argument: the launcher and
            # the runtimes it forks inherit this command line, which must name no job.
            cmd = [sys.executable, "-m", "modelyard.executors.launcher", "run",
                   "--serve", str(self.settings.home.resolve()),
                   "--idle", f"{self.launcher_idle:g}"]
        else:
            cmd = [sys.executable, "-m", "modelyard.runtime", str(job_dir)]
        # The runtime starts with SIGTERM blocked (the mask survives exec) and unblocks it
        # once its handler is in place: a stop that comes right after submit is then a clean
        # stop, not a runtime killed before it could record anything.
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            with open(job_dir / RUNTIME_OUT, "ab") as out:
                child = subprocess.Popen(
                    cmd, cwd=job_dir, env=env, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=out, start_new_session=True, close_fds=True)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        self._children[job_dir] = child
        return child.pid, procs.start_time(child.pid)

    def _runtime_env(self) -> dict[str, str]:
        """The caller's environment plus this executor's settings as ``MODELYARD_*``
        variables, so the runtime (which reads only the environment) sees the same
        installation even when the settings were built in code."""
        env = dict(os.environ)
        for name, value in self.settings.model_dump().items():
            if isinstance(value, str | int | float | bool | Path):
                env[f"MODELYARD_{name.upper()}"] = str(value)
        return env

    # ------------------------------------------------------------------ poll
    def poll(self, job_dir: Path) -> RuntimeState | None:
        job_dir = Path(job_dir).resolve()
        self._reap(job_dir)
        folder = JobFolder(job_dir)
        state = folder.read_state()
        if state is not None and state.phase.is_final:
            return state
        pid, start = self._runtime_id(job_dir, state)
        if pid is None:
            return state
        if procs.is_alive(pid, start):
            return state or RuntimeState(runtime_pid=pid, runtime_start_time=start)
        # Dead. It may have written its final state between our two reads.
        state = folder.read_state()
        if state is not None and state.phase.is_final:
            return state
        return self._mark_lost(folder, state, pid, start)

    def _runtime_id(self, job_dir: Path, state: RuntimeState | None
                    ) -> tuple[int | None, int | None]:
        try:
            info = json.loads((job_dir / RUNTIME_PID).read_text())
            return int(info["pid"]), info.get("start_time")
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            pass
        if state is not None and state.runtime_pid is not None:
            return state.runtime_pid, state.runtime_start_time
        return None, None

    def _mark_lost(self, folder: JobFolder, state: RuntimeState | None, pid: int,
                   start: int | None) -> RuntimeState:
        """Records that the runtime died without a final word, and kills what is left of
        the job (its process group), so that nothing runs unwatched."""
        lost = (state or RuntimeState()).model_copy(update={
            "phase": Phase.FAILED, "reason": Reason.LOST, "message": LOST_MESSAGE,
            "ended_at": time.time(), "runtime_pid": pid, "runtime_start_time": start,
        })
        if lost.user_pgid:
            procs.kill_group(lost.user_pgid, signal.SIGKILL)
        private = folder.root / SANDBOX_DIR
        kill_cgroups(private / CGROUPS_FILE)
        stop_pasta(private / PASTA_PID)
        folder.write_state(lost)
        folder.append_event(RuntimeEvent(
            message=f"The runtime (pid {pid}) exited unexpectedly; the job is lost",
            level=EventLevel.ERROR, source=EventSource.PLATFORM))
        return lost

    def _reap(self, job_dir: Path) -> None:
        """Collects the exit status of runtimes this process started (no zombies)."""
        child = self._children.get(job_dir)
        if child is not None and child.poll() is not None:
            del self._children[job_dir]

    # ------------------------------------------------------------------ stop
    def stop(self, job_dir: Path, grace_seconds: float) -> None:
        job_dir = Path(job_dir).resolve()
        folder = JobFolder(job_dir)
        state = folder.read_state()
        if state is not None and state.phase.is_final:
            return
        folder.write_stop_request(StopRequest(grace_seconds=grace_seconds))
        pid, start = self._runtime_id(job_dir, state)
        if pid is not None and procs.is_alive(pid, start):
            procs.signal_all([pid], signal.SIGTERM)
            return
        # No runtime to forward the stop: end what is left of the job ourselves.
        if state is not None and state.user_pgid:
            procs.kill_group(state.user_pgid, signal.SIGTERM)
            time.sleep(min(grace_seconds, 1.0))
            procs.kill_group(state.user_pgid, signal.SIGKILL)
        self.poll(job_dir)
