"""What /proc says about processes: liveness without pid-reuse mistakes, process trees, and
which files a job still has open for writing.

Linux only, like the sandbox. Everything here reads /proc directly instead of keeping
handles, so the executor (another process, maybe started after a server restart) and the
runtime reach the same answers.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    ppid: int
    pgrp: int
    start_time: int
    """Clock ticks since boot: with the pid, identifies a process across pid reuse."""


def stat(pid: int) -> ProcStat | None:
    """The process's stat line, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rfind(")") + 2:].split()
    try:
        return ProcStat(pid, rest[0], int(rest[1]), int(rest[2]), int(rest[19]))
    except (IndexError, ValueError):
        return None


def in_child_pidns(pid: int) -> bool:
    """True for a process of a nested PID namespace that is not that namespace's PID 1
    (bubblewrap's reaper): a sandboxed job's own process."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"NSpid:"):
                    ids = line.split()[1:]
                    return len(ids) > _OWN_PIDNS_DEPTH and ids[-1] != b"1"
    except OSError:
        pass
    return False


def _pidns_depth() -> int:
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"NSpid:"):
                    return len(line.split()) - 1
    except OSError:
        pass
    return 1


_OWN_PIDNS_DEPTH = _pidns_depth()


def cpu_ticks(pids: Iterable[int]) -> int:
    """User + system CPU time of ``pids`` and their reaped children, in clock ticks."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                data = fh.read().decode("ascii", "replace")
            rest = data[data.rfind(")") + 2:].split()
            total += sum(int(x) for x in rest[11:15])
        except (OSError, ValueError, IndexError):
            continue
    return total


def start_time(pid: int) -> int | None:
    st = stat(pid)
    return st.start_time if st else None


def is_alive(pid: int, expected_start: int | None = None) -> bool:
    """True if ``pid`` runs (not a zombie) and, when given, started at ``expected_start``
    (otherwise the pid was reused by some other process)."""
    st = stat(pid)
    if st is None or st.state in ("Z", "X"):
        return False
    return expected_start is None or st.start_time == expected_start


def all_stats() -> list[ProcStat]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = stat(int(name))
            if st is not None:
                out.append(st)
    return out


def descendants(root: int, stats: list[ProcStat] | None = None) -> list[int]:
    """Every live descendant of ``root`` (not ``root`` itself), parents before children."""
    stats = all_stats() if stats is None else stats
    children: dict[int, list[int]] = {}
    for st in stats:
        if st.state not in ("Z", "X"):
            children.setdefault(st.ppid, []).append(st.pid)
    out: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def group_members(pgid: int, stats: list[ProcStat] | None = None) -> list[int]:
    stats = all_stats() if stats is None else stats
    return [st.pid for st in stats if st.pgrp == pgid and st.state not in ("Z", "X")]


def signal_all(pids: Iterable[int], sig: int) -> int:
    """Sends ``sig`` to each pid that still exists; returns how many were signalled."""
    sent = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            sent += 1
        except (ProcessLookupError, PermissionError):
            pass
    return sent


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def open_for_writing(pids: Iterable[int]) -> set[tuple[int, int]]:
    """(device, inode) of every file that one of ``pids`` holds open for writing.

    Uses stat() through /proc/<pid>/fd/<n>, which resolves to the file itself even when the
    process lives in another mount namespace (the sandbox), so paths never need mapping.
    """
    found: set[tuple[int, int]] = set()
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as fh:
                    flags = next((ln.split()[1] for ln in fh if ln.startswith("flags:")), "0")
                if int(flags, 8) & (os.O_WRONLY | os.O_RDWR) == 0:
                    continue
                st = os.stat(f"{fd_dir}/{fd}")
            except (OSError, ValueError, IndexError):
                continue
            found.add((st.st_dev, st.st_ino))
    return found


_PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes(pids: Iterable[int]) -> int:
    """Resident memory of these processes together (from /proc/<pid>/statm)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * _PAGE
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
            continue
    return total
