"""Shared pieces of the hostile-job suite: run a real job, in the real sandbox, under a
service running as root (as on these machines and in CI), and read what it reported."""

from __future__ import annotations

import os
from typing import Any

import pytest

from modelyard.runtime.state import RuntimeState
from modelyard.settings import Settings
from runtime.jobkit import Job, make_plan, run
from runtime.test_contract import HAVE_BWRAP

as_root_in_sandbox = pytest.mark.skipif(
    not HAVE_BWRAP or os.geteuid() != 0,
    reason="the attacks are played against a service running as root with bubblewrap")


def hostile_run(settings: Settings, script: str, timeout: float = 120,
                **plan: Any) -> tuple[Job, RuntimeState]:
    """Runs ``script`` as a job's boot file in the sandbox (required, never skipped)."""
    strict = settings.model_copy(update={"sandbox": "bwrap"})
    return run(strict, make_plan(strict, script, **plan), timeout)


def report(job: Job, marker: str = "ATTACK ") -> dict[str, str]:
    """The job's ``ATTACK name: result`` lines."""
    out: dict[str, str] = {}
    for line in job.log.splitlines():
        if line.startswith(marker):
            name, _, result = line[len(marker):].partition(": ")
            out[name] = result
    return out
