"""Limits from the flavor, enforced: processes, memory, ``/tmp`` and ``/dev/shm``, disk.

Processes and memory go into a control group per job where the machine lets the runtime
make one (cgroup v2 ``pids.max`` / ``memory.max``, or the v1 ``pids`` and ``memory``
hierarchies); otherwise into resource limits of the job's first process
(``RLIMIT_NPROC``, which then counts every process of the job user on the host, and
``RLIMIT_AS``, which limits address space rather than memory in use: the caveats are in
docs/runtime.md). ``/tmp`` and ``/dev/shm`` are size-limited tmpfs (see the sandbox), and
the disk used by the job's folders is measured by a watcher (``disk_usage``).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

_CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUPS_FILE = "cgroups"
"""In the job folder's private ``sandbox`` folder: the job's control groups, one per line,
so whoever finds the runtime dead can end every process in them (``kill_cgroups``)."""


@dataclass
class JobLimits:
    max_processes: int
    memory_bytes: int | None
    disk_bytes: int | None
    tmp_bytes: int
    shm_bytes: int
    cgroups: list[Path] = field(default_factory=list)
    """The job's control groups (one for v2; one per v1 hierarchy)."""
    pids_in_cgroup: bool = False
    memory_in_cgroup: bool = False

    # ------------------------------------------------------------- set-up
    def create_cgroups(self, name: str, record: Path) -> None:
        """Makes the job's control groups under the runtime's own (root only; silently
        nothing where cgroups are not writable) and lists them in ``record``."""
        if os.geteuid() != 0:
            return
        self._create_cgroups(name)
        if self.cgroups:
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text("".join(f"{p}\n" for p in self.cgroups))

    def _create_cgroups(self, name: str) -> None:
        unified = _own_cgroup("")
        if unified is not None and _v2_controllers(unified) >= {"pids", "memory"}:
            path = unified / name
            if self._make(path, {"pids.max": str(self.max_processes),
                                 "memory.max": _bytes(self.memory_bytes),
                                 "memory.swap.max": "0" if self.memory_bytes else None}):
                self.pids_in_cgroup = self.memory_in_cgroup = True
            return
        pids = _own_cgroup("pids")
        if pids is not None and self._make(pids / name, {"pids.max": str(self.max_processes)}):
            self.pids_in_cgroup = True
        memory = _own_cgroup("memory")
        if self.memory_bytes and memory is not None and self._make(
                memory / name, {"memory.limit_in_bytes": str(self.memory_bytes),
                                "memory.memsw.limit_in_bytes": str(self.memory_bytes)}):
            self.memory_in_cgroup = True

    def _make(self, path: Path, values: dict[str, str | None]) -> bool:
        try:
            path.mkdir(exist_ok=True)
        except OSError:
            return False
        self.cgroups.append(path)
        for key, value in values.items():
            if value is None:
                continue
            try:
                (path / key).write_text(value)
            except OSError:
                if key.startswith(("memory.swap", "memory.memsw")):
                    continue  # no swap accounting: the memory limit still holds
                return False
        return True

    def apply_in_child(self) -> None:
        """In the sandbox's first process, before exec: join the control groups, set the
        fallback resource limits (inherited by every process of the job)."""
        pid = str(os.getpid())
        for path in self.cgroups:
            with open(path / "cgroup.procs", "w") as fh:
                fh.write(pid)
        if not self.pids_in_cgroup:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.max_processes, self.max_processes))
        if self.memory_bytes and not self.memory_in_cgroup:
            resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))

    # --------------------------------------------------------- afterwards
    def oom_killed(self) -> bool:
        """True when the kernel's out-of-memory killer acted in the job's control group."""
        for path in self.cgroups:
            for name in ("memory.events", "memory.oom_control"):
                with contextlib.suppress(OSError, ValueError):
                    for line in (path / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
        return False

    def pids_exhausted(self) -> bool:
        """True when a fork of the job was refused by the process limit."""
        for path in self.cgroups:
            with contextlib.suppress(OSError, ValueError):
                for line in (path / "pids.events").read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "max" and int(value) > 0:
                        return True
        return False

    def remove_cgroups(self) -> None:
        for path in self.cgroups:
            with contextlib.suppress(OSError):
                path.rmdir()
        self.cgroups.clear()


def kill_cgroups(record: Path) -> None:
    """SIGKILL to every process in the control groups listed in ``record`` (those of a job
    whose runtime died), then removes them: nothing of the job runs unwatched, not even a
    process that left its process group."""
    try:
        paths = [Path(line) for line in record.read_text().splitlines() if line]
    except OSError:
        return
    for path in paths:
        if _CGROUP_ROOT not in path.parents:
            continue  # the record is the runtime's, but check what we are told to kill
        with contextlib.suppress(OSError, ValueError):
            for pid in (path / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)
    for path in paths:
        for _ in range(50):
            try:
                path.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)  # the killed processes are still exiting


def _bytes(value: int | None) -> str:
    return "max" if value is None else str(value)


def _own_cgroup(controller: str) -> Path | None:
    """The runtime's own control group in the hierarchy of ``controller`` ("" for v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") if controller else controllers == "":
            base = _CGROUP_ROOT / controller if controller else _v2_root()
            if base is None:
                return None
            full = base / path.lstrip("/")
            return full if full.is_dir() and os.access(full, os.W_OK) else None
    return None


def _v2_root() -> Path | None:
    for candidate in (_CGROUP_ROOT, _CGROUP_ROOT / "unified"):
        if (candidate / "cgroup.controllers").is_file():
            return candidate
    return None


def _v2_controllers(path: Path) -> set[str]:
    try:
        return set((path / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def disk_usage(*roots: Path, stop_at: int | None = None) -> int:
    """Bytes allocated under ``roots``, walked with ``lstat`` (no link followed, nothing
    opened); stops counting once past ``stop_at``."""
    total = 0
    seen: set[tuple[int, int]] = set()
    stack = [str(r) for r in roots]
    while stack:
        path = stack.pop()
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        total += st.st_blocks * 512
        if stop_at is not None and total > stop_at:
            return total
        if stat.S_ISDIR(st.st_mode):
            with contextlib.suppress(OSError), os.scandir(path) as entries:
                stack.extend(e.path for e in entries)
    return total
