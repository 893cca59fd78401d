"""Starting, watching and stopping one process of a job (pip, or the user's code).

Each process gets its own session and process group. In the sandbox the host sees
``bwrap`` (monitor) -> ``bwrap`` (PID 1 of the namespace) -> the job's processes (under a
root service, an outer ``bwrap`` and ``setpriv`` come first; see ``sandbox``). Signals
for a graceful stop go to the job's processes only: bubblewrap does not forward SIGTERM, it
dies of it and takes the namespace down with SIGKILL, which would rob the code of its
chance to save a checkpoint. After the grace period everything is SIGKILLed; killing the
monitor also kills the namespace's PID 1, and with it every process inside, including those
that left the process group.

Without the sandbox a stop reaches the process group and every descendant still attached
to the tree; a process that both leaves the group and is orphaned escapes (use the
sandbox). The child also gets PR_SET_PDEATHSIG so that it dies with the runtime.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from modelyard.runtime import jobnet, procs
from modelyard.runtime.limits import JobLimits
from modelyard.runtime.sandbox import SandboxSpec, build_command

_PR_SET_PDEATHSIG = 1
try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux
    _LIBC = None


def _die_with_parent() -> None:
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass(frozen=True)
class Confinement:
    """What the job's first process takes on besides the sandbox itself: the job's network
    namespace, its control groups and (where there are none) resource limits.

    Not through ``preexec_fn``, which makes ``subprocess`` fork the whole runtime (tens of
    milliseconds for a runtime forked from the warm launcher) instead of vfork: the runtime's
    spawning thread steps into the job's network namespace and control groups around the
    spawn (``entered``), and the child inherits both."""

    net_fd: int | None = None
    limits: JobLimits | None = None

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            if self.net_fd is not None:
                stack.enter_context(jobnet.entered(self.net_fd))
            if self.limits is not None:
                stack.enter_context(self.limits.entered())
            yield

    def preexec(self, die_with_parent: bool) -> Callable[[], None] | None:
        """What must still run in the child: the parent-death signal, and resource limits
        where no control group holds the job."""
        rlimits = self.limits is not None and self.limits.needs_rlimits
        if not (die_with_parent or rlimits):
            return None

        def enter() -> None:
            if rlimits:
                assert self.limits is not None
                self.limits.apply_rlimits()
            if die_with_parent:
                _die_with_parent()

        return enter


class JobProcess:
    def __init__(self, argv: list[str], env: dict[str, str], cwd: str, log_fd: int,
                 bwrap: str | None = None, spec: SandboxSpec | None = None,
                 hold: bool = False, confine: Confinement | None = None) -> None:
        """``hold`` (sandbox only): bubblewrap builds the sandbox now and starts ``argv``
        only at ``release()``, so the sandbox's set-up can overlap with staging. Should the
        runtime die meanwhile, bubblewrap dies with it (``--die-with-parent``)."""
        self.sandboxed = bwrap is not None
        self._hold_fd: int | None = None
        block_fd: int | None = None
        confine = confine or Confinement()
        if bwrap is not None:
            assert spec is not None
            if hold:
                block_fd, self._hold_fd = os.pipe2(os.O_CLOEXEC)
            cmd = build_command(bwrap, spec, argv, block_fd)
            preexec = confine.preexec(die_with_parent=False)
            popen_cwd: str | None = "/"
        else:
            cmd, preexec, popen_cwd = argv, confine.preexec(die_with_parent=True), cwd
        try:
            with confine.entered():
                self.popen = subprocess.Popen(
                    cmd, env=env, cwd=popen_cwd, stdin=subprocess.DEVNULL, stdout=log_fd,
                    stderr=log_fd, start_new_session=True, preexec_fn=preexec,
                    close_fds=True, pass_fds=() if block_fd is None else (block_fd,))
        except BaseException:
            self._close_hold()
            raise
        finally:
            if block_fd is not None:
                os.close(block_fd)
        self.pid = self.popen.pid
        self.pgid = self.popen.pid
        self._pidfd: int | None = None
        with contextlib.suppress(OSError, AttributeError):  # Linux >= 5.3
            self._pidfd = os.pidfd_open(self.pid)
        self._seen: dict[int, int] = {}
        """Every process of the job ever listed, with its start time: killed at the end
        even if it left the group and the tree (without the sandbox)."""

    @property
    def held(self) -> bool:
        return self._hold_fd is not None

    def release(self) -> None:
        """Lets a held sandbox start the job's command."""
        fd, self._hold_fd = self._hold_fd, None
        if fd is not None:
            try:
                os.write(fd, b"g")
            finally:
                os.close(fd)

    def discard(self) -> None:
        """Ends a held sandbox that will not be used (killed before its descriptor closes:
        a closed descriptor alone would let bubblewrap go on)."""
        self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        self._close_hold()
        self._close_pidfd()

    def _close_hold(self) -> None:
        fd, self._hold_fd = self._hold_fd, None
        if fd is not None:
            os.close(fd)

    def wait_exit(self, timeout: float) -> None:
        """Sleeps up to ``timeout``, waking at once when the main process exits (its pidfd
        becomes readable): a job's end is seen without a polling delay."""
        if self._pidfd is None:
            time.sleep(timeout)
            return
        select.select([self._pidfd], [], [], timeout)

    def _close_pidfd(self) -> None:
        fd, self._pidfd = self._pidfd, None
        if fd is not None:
            os.close(fd)

    def poll(self) -> int | None:
        """The exit code once the process has ended: shell convention, 128+N for death by
        signal N (bubblewrap reports it that way too)."""
        rc = self.popen.poll()
        if rc is None:
            return None
        return 128 - rc if rc < 0 else rc

    @property
    def signaled(self) -> bool:
        """True if the job's main process died of a signal (bubblewrap reports that as
        128+N, indistinguishable from ``exit(128+N)``, which means the same by convention)."""
        rc = self.popen.returncode
        return rc is not None and (rc < 0 or (self.sandboxed and 128 < rc <= 128 + 64))

    def job_pids(self) -> list[int]:
        """The job's own processes (without bubblewrap's and setpriv's): those in the job's
        PID namespace other than its PID 1."""
        stats = procs.all_stats()
        if self.sandboxed:
            out = [pid for pid in procs.descendants(self.pid, stats) if procs.in_child_pidns(pid)]
        else:
            tree = [self.pid, *procs.descendants(self.pid, stats)]
            out = list(dict.fromkeys(tree + procs.group_members(self.pgid, stats)))
        starts = {s.pid: s.start_time for s in stats}
        for pid in out:
            self._seen.setdefault(pid, starts[pid])
        return out

    def terminate(self) -> int:
        """SIGTERM to the job's processes; how many there were (0 while the sandbox is
        still starting them: try again)."""
        return procs.signal_all(self.job_pids(), signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to everything: the job's processes, the group, and bubblewrap."""
        pids = self.job_pids()
        if self.sandboxed:
            pids += procs.descendants(self.pid)
        procs.signal_all(pids, signal.SIGKILL)
        procs.kill_group(self.pgid, signal.SIGKILL)
        procs.signal_all([self.pid], signal.SIGKILL)

    def reap(self) -> None:
        """After the main process ended: nothing of the job may outlive it (as when a
        container stops)."""
        procs.kill_group(self.pgid, signal.SIGKILL)
        procs.signal_all([pid for pid, start in self._seen.items()
                          if procs.is_alive(pid, start)], signal.SIGKILL)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
        finally:
            self._close_pidfd()
