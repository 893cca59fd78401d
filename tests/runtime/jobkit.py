"""Helpers to run real jobs in tests: code put into the embedded store (which is just
folders under ``settings.obs_root``), a plan, a real runtime process, and what it left."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.executors.local import LocalExecutor
from modelyard.runtime.state import JobFolder, RuntimeEvent, RuntimeState
from modelyard.settings import Settings
from modelyard.spec.plan import ChannelPlan, RunPlan

BUCKET = "bkt"


def put_files(settings: Settings, prefix: str, files: dict[str, str | bytes]) -> str:
    """Writes ``files`` (relative path -> content) under ``obs://bkt/<prefix>/``."""
    root = settings.obs_root / BUCKET / prefix
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return f"obs://{BUCKET}/{prefix}/"


def obs_path(settings: Settings, url: str) -> Path:
    """The folder behind an ``obs://bkt/...`` url in the embedded store."""
    assert url.startswith(f"obs://{BUCKET}/")
    return settings.obs_root / BUCKET / url[len(f"obs://{BUCKET}/"):]


def make_plan(settings: Settings, script: str | None = None, *,
              files: dict[str, str | bytes] | None = None, code_name: str = "demo-code",
              **kw: Any) -> RunPlan:
    """A plan whose code directory holds ``train.py`` = ``script`` (plus ``files``)."""
    job_id = kw.pop("job_id", None) or uuid.uuid4().hex[:12]
    all_files: dict[str, str | bytes] = dict(files or {})
    if script is not None:
        all_files["train.py"] = script
    if all_files:
        kw.setdefault("code_dir", put_files(settings, f"code-{job_id}/{code_name}", all_files))
        if script is not None and "command" not in kw:
            kw.setdefault("boot_file", "train.py")
    kw.setdefault("upload_period", settings.upload_period)
    return RunPlan(job_id=job_id, job_name=f"test-{job_id}", **kw)


def output(settings: Settings, name: str = "train_url", **kw: Any) -> ChannelPlan:
    return ChannelPlan(name=name, url=f"obs://{BUCKET}/out-{uuid.uuid4().hex[:8]}/", **kw)


@dataclass
class Job:
    settings: Settings
    plan: RunPlan
    job_dir: Path
    executor: LocalExecutor

    @property
    def folder(self) -> JobFolder:
        return JobFolder(self.job_dir)

    def poll(self) -> RuntimeState | None:
        return self.executor.poll(self.job_dir)

    def wait(self, timeout: float = 60) -> RuntimeState:
        state = self.executor.wait(self.job_dir, timeout)
        assert state is not None and state.phase.is_final, f"not finished: {state}\n{self.log}"
        return state

    def stop(self) -> None:
        self.executor.stop(self.job_dir, self.settings.stop_grace_period)

    @property
    def log(self) -> str:
        path = self.folder.log_file(self.plan.job_id)
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def events(self) -> list[RuntimeEvent]:
        return self.folder.read_events()[0]

    def wait_log(self, needle: str, timeout: float = 30) -> None:
        wait_for(lambda: needle in self.log, timeout, f"{needle!r} in the log:\n{self.log}")

    def printed_json(self, marker: str = "CONTRACT-JSON:") -> Any:
        for line in self.log.splitlines():
            if line.startswith(marker):
                return json.loads(line[len(marker):])
        raise AssertionError(f"no {marker} line in the log:\n{self.log}")


def start(settings: Settings, plan: RunPlan) -> Job:
    executor = LocalExecutor(settings)
    job_dir = settings.jobs_root / plan.job_id
    executor.submit(plan, job_dir)
    return Job(settings, plan, job_dir, executor)


def run(settings: Settings, plan: RunPlan, timeout: float = 60) -> tuple[Job, RuntimeState]:
    job = start(settings, plan)
    return job, job.wait(timeout)


def wait_for(pred: Callable[[], object], timeout: float = 30, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z" and int(name) != os.getpid():
            found.append(int(name))
    return found


def no_traceback(text: str) -> bool:
    return re.search(r"^Traceback \(most recent call last\)", text, re.M) is None


PRINT_CONTRACT = r'''
import json, os, sys
print("CONTRACT-JSON:" + json.dumps({
    "argv": sys.argv, "executable": sys.executable, "cwd": os.getcwd(),
    "env": dict(os.environ), "path0": sys.path[0],
}))
'''
