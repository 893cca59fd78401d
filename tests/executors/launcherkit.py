"""Helpers for tests of the launcher: start one for a home and wait until it answers, find
which process started a runtime, list zombies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modelyard.executors import launcher
from modelyard.runtime import procs
from modelyard.settings import Settings


def log_path(settings: Settings) -> Path:
    return launcher.run_dir(settings.home) / launcher.LOG_NAME


def served(settings: Settings) -> str:
    """The launcher log of the home (which runtimes it forked, why it exited)."""
    path = log_path(settings)
    return path.read_text(errors="replace") if path.exists() else ""


def wait_until(pred: object, timeout: float = 60, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def launcher_pid(settings: Settings) -> int | None:
    info = launcher.ping(settings.home)
    return int(info["pid"]) if info else None


@contextmanager
def running_launcher(settings: Settings, idle: float = 120) -> Iterator[int]:
    """A launcher for ``settings.home`` started in the foreground mode (``serve``) and
    answering; shut down afterwards. Yields its pid."""
    folder = launcher.run_dir(settings.home)
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MODELYARD_HOME": str(settings.home)}
    with log_path(settings).open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelyard.executors.launcher", "serve",
             str(settings.home), "--idle", str(idle)],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)
    try:
        wait_until(lambda: launcher_pid(settings) == proc.pid or proc.poll() is not None,
                   90, "the launcher to answer")
        assert proc.poll() is None, f"the launcher exited:\n{served(settings)}"
        yield proc.pid
    finally:
        launcher.shutdown(settings.home)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def parent_of(pid: int) -> int | None:
    st = procs.stat(pid)
    return st.ppid if st else None


def zombies_of(parent: int) -> list[int]:
    return [st.pid for st in procs.all_stats() if st.ppid == parent and st.state == "Z"]
