"""A job tries to take more than its flavor and the installation give it: processes,
memory, /tmp and /dev/shm, disk. Each limit holds and, where it ends the job, an event
names it."""

from __future__ import annotations

import pytest

from modelyard.settings import Settings

from .hostile import as_root_in_sandbox, hostile_run, report

pytestmark = [pytest.mark.slow, as_root_in_sandbox]

FORK_BOMB = r'''
import subprocess
procs, refused = [], None
for i in range(200):
    try:
        procs.append(subprocess.Popen(["sleep", "30"]))
    except OSError as exc:
        refused = type(exc).__name__
        break
print("STARTED", len(procs), "REFUSED", refused, flush=True)
for p in procs:
    p.kill()
'''


def test_a_fork_bomb_stops_at_the_process_limit(settings: Settings) -> None:
    job, state = hostile_run(settings.model_copy(update={"job_max_processes": 40}), FORK_BOMB)
    assert state.phase == "Completed", job.log
    line = next(x for x in job.log.splitlines() if x.startswith("STARTED"))
    started = int(line.split()[1])
    assert started < 40 and "REFUSED None" not in line, line


MEMORY_HOG = r'''
import time
hog = []
for i in range(64):  # 64 x 32 MiB = 2 GiB, every page touched
    hog.append(bytearray(32 * 2**20))
    time.sleep(0.01)
print("HELD 2 GiB", flush=True)
'''


def test_memory_beyond_the_flavor_ends_the_job_naming_the_limit(settings: Settings) -> None:
    """The flavor's memory (here 0.25 GB) is a hard limit, not a warning."""
    job, state = hostile_run(settings, MEMORY_HOG, memory_gb=0.25)
    assert state.phase == "Failed", job.log
    assert "HELD 2 GiB" not in job.log
    if state.reason == "limit":  # a memory control group: the kernel's OOM killer acted
        assert "memory limit" in state.message and "0.25 GB" in state.message
        assert any("memory limit" in e.message for e in job.events)
    else:  # RLIMIT_AS where no control group can be made: the allocation fails
        assert "MemoryError" in job.log, job.log


FILL_TMPFS = r'''
import os
for target in ("/tmp/big", "/dev/shm/big"):
    try:
        with open(target, "wb") as fh:
            for _ in range(64):
                fh.write(b"\0" * 2**20)
        print(f"ATTACK fill-{target}: SUCCEEDED", flush=True)
    except OSError as exc:
        print(f"ATTACK fill-{target}: failed {exc.strerror}", flush=True)
    finally:
        if os.path.exists(target):
            os.unlink(target)
'''


def test_tmp_and_shm_are_size_limited(settings: Settings) -> None:
    small = settings.model_copy(update={"job_tmp_mb": 16, "job_shm_mb": 16})
    job, state = hostile_run(small, FILL_TMPFS)
    assert state.phase == "Completed", job.log
    got = report(job)
    assert got == {"fill-/tmp/big": "failed No space left on device",
                   "fill-/dev/shm/big": "failed No space left on device"}, job.log


FILL_DISK = r'''
import os, time
with open(os.path.join(os.environ["MA_HOME"], "filler.bin"), "wb") as fh:
    for _ in range(48):
        fh.write(os.urandom(2**20))
        fh.flush()
print("WROTE 48 MiB", flush=True)
time.sleep(60)
print("STILL RUNNING", flush=True)
'''


def test_a_job_past_its_disk_limit_is_stopped_with_an_event(settings: Settings) -> None:
    tight = settings.model_copy(update={"job_disk_gb": 0.02})  # ~20 MiB
    job, state = hostile_run(tight, FILL_DISK, timeout=90)
    assert state.phase == "Failed" and state.reason == "limit", job.log
    assert "disk limit" in state.message and "job_disk_gb" in state.message
    assert any("disk limit" in e.message for e in job.events)
    assert "STILL RUNNING" not in job.log
