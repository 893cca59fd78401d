"""The state a job's run shares across its parts, and small helpers of the runtime."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from modelyard.runtime import images, jobnet, procs
from modelyard.runtime.argv import worker_name
from modelyard.runtime.cluster import ClusterTask
from modelyard.runtime.identity import HostIdentity
from modelyard.runtime.layout import Layout
from modelyard.runtime.limits import JobLimits
from modelyard.runtime.outputs import OutputUploader
from modelyard.runtime.process import JobProcess
from modelyard.runtime.report import (
    Reporter,
    Stopped,
)
from modelyard.runtime.state import JobFolder, RuntimeState, StopRequest
from modelyard.settings import Settings
from modelyard.spec.plan import RunPlan
from modelyard.storage import TransferEngine, TransientError

TICK = 0.1
"""Seconds between two looks at a host command of the platform's."""


class RunnerCore:
    """What every part of a job's run shares: the job folder, the settings, the state on
    its way to ``state.json``, the stop request, the reporter. The parts (sandboxing,
    supervision, staging, requirements) are mixins over it; ``Runner`` puts them in order."""

    def __init__(self, job_dir: Path, settings: Settings) -> None:
        self.folder = JobFolder(job_dir)
        self.settings = settings
        pid = os.getpid()
        self.state = RuntimeState(runtime_pid=pid, runtime_start_time=procs.start_time(pid))
        self.engine = TransferEngine(settings)
        self._stop: StopRequest | None = None
        self._kill_now = False
        self._hang_message = ""
        self._plan: RunPlan | None = None
        self._reporter: Reporter | None = None
        self.uploader: OutputUploader | None = None
        self.bwrap: str | None = None
        self.proc: JobProcess | None = None
        self._early: tuple[JobProcess, tuple[object, ...]] | None = None
        """A sandbox started ahead of staging, held, with what it was started with."""
        self.identity: HostIdentity | None = None
        self.net: jobnet.JobNetwork | None = None
        self.limits: JobLimits | None = None
        self._files: dict[str, Path] = {}
        self._limit_message = ""
        self._layout: Layout | None = None
        self._input_files: dict[str, str] = {}
        """Inputs bound to one object: channel -> file name (see ``Extras``)."""
        self.python = settings.python
        """The interpreter of the job's engine as the job sees it (``python`` in an image)."""
        self.image: images.JobImage | None = None
        self._private_mounts = False
        self._holds = contextlib.ExitStack()
        """What the job holds until it ends (its image, against ``image prune``)."""
        self._cluster: ClusterTask | None = None
        """Which task of a multi-node job this runtime runs (None: a one-node job)."""

    # ------------------------------------------------------------------ stop
    def request_stop(self, request: StopRequest | None = None) -> None:
        """Called from the SIGTERM handler: only records the wish (the main loop acts on
        it). A second request skips what is left of the grace period."""
        if self._stop is None:
            self._stop = request or self.folder.read_stop_request() or StopRequest()
        else:
            self._kill_now = True

    def _save(self) -> None:
        """A state on the way: atomic, without fsync (see ``JobFolder.write_state``). Before
        the job's process starts every millisecond counts, and an fsync forces a journal
        commit that also stalls the directory creations of staging; later ones (Terminating,
        memory peaks) are superseded by the final state, which is durable."""
        self.folder.write_state(self.state, durable=False)

    def _check(self) -> None:
        if self._stop is not None:
            raise Stopped(self._stop.reason)

    def _progress(self, _n: int) -> None:
        self._check()

    @property
    def reporter(self) -> Reporter:
        assert self._reporter is not None
        return self._reporter

    def _hostname(self) -> str:
        """The sandbox's hostname: ``modelarts-job-<id>-worker-<i>``, as ModelArts names
        a job's nodes."""
        if self._cluster is not None:
            return self._cluster.name
        plan = self._plan
        return worker_name(plan.job_id if plan and plan.job_id else "local", 0)

    # ------------------------------------------------------------ host commands
    def _run_logged(self, argv: list[str]) -> int:
        """A host command of the platform's (building an engine), its output in the job's
        log; a stop request ends it."""
        self.reporter.line("Command: " + shlex.join(argv))
        proc = subprocess.Popen(argv, stdout=self.reporter.log_fd, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        while (code := proc.poll()) is None:
            if self._stop is not None:
                proc.kill()
                proc.wait()
                self._check()
            time.sleep(TICK)
        return code

    def _limit_exceeded(self, message: str) -> str:
        self._limit_message = message
        self.reporter.error(message)
        return message

    def _plan_memory(self) -> str:
        return f"{self._plan.memory_gb:g} GB" if self._plan and self._plan.memory_gb else "memory"


def remove_tree(path: Path) -> None:
    """``rm -rf`` that never follows a symlink (``shutil.rmtree`` works through descriptors
    on Linux; a symlink given as ``path`` is removed, not followed) and gets past folders a
    job made unwritable."""
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return

    def unlock(fn: Callable[..., object], name: str, _exc: object) -> None:
        parent = os.path.dirname(name)
        if not os.path.islink(parent):
            os.chmod(parent, 0o700)
        fn(name)

    shutil.rmtree(path, onerror=unlock)


def is_transient(exc: BaseException) -> bool:
    """Worth a retry: the store could not be reached, as opposed to a mistake in the job."""
    if getattr(exc, "transient", False):  # storage's TransferError knows
        return True
    if isinstance(exc, TransientError | ConnectionError | TimeoutError):
        return True
    name = type(exc).__name__
    return any(word in name for word in ("Connection", "Timeout", "Throttl"))


def current_ip() -> str:
    """The address other nodes would reach this one at (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def num_gpus() -> int:
    """``/dev/nvidia<N>`` devices (a listing, not ``glob``, which compiles a pattern in
    every freshly forked runtime)."""
    try:
        names = os.listdir("/dev")
    except OSError:
        return 0
    return sum(1 for n in names if n.startswith("nvidia") and n[6:7].isdigit())


def signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return str(num)


def log_tail(log_file: Path, lines: int = 20) -> str:
    """The last lines of the job's log (where a traceback ends up)."""
    try:
        with open(log_file, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 8192))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

