"""How real jobs end: failure, stop, auto_stop, hang; outputs uploaded in every case."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modelyard.settings import Settings
from modelyard.spec.plan import ChannelPlan, MountPlan

from .jobkit import make_plan, no_traceback, obs_path, output, processes_with, run, start, wait_for
from .test_contract import MODES, needs_bwrap

pytestmark = pytest.mark.slow

ARGS = r'''
import os, sys, time, signal, subprocess, pathlib
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
out = pathlib.Path(args["train_url"])
'''


def test_failing_job_is_failed_keeps_its_log_and_uploads_outputs(settings: Settings) -> None:
    plan = make_plan(settings, ARGS + r'''
(out / "partial.ckpt").write_text("epoch 1")
print("about to fail", flush=True)
sys.exit(3)
''', outputs=[out := output(settings)])
    job, state = run(settings, plan)
    assert (state.phase, state.exit_code, state.reason) == ("Failed", 3, "exit_code")
    assert state.message == "Process exited with code 3"
    assert "about to fail" in job.log
    assert (obs_path(settings, out.url) / "partial.ckpt").read_text() == "epoch 1"
    messages = [e.message for e in job.events]
    assert "Process exited with code 3" in messages
    assert any(m.startswith("Uploaded 1 file") for m in messages)


def test_a_crash_by_signal_says_so(settings: Settings) -> None:
    plan = make_plan(settings, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    job, state = run(settings, plan)
    assert (state.phase, state.exit_code, state.reason) == ("Failed", 137, "signal"), job.log
    assert "SIGKILL" in state.message


@pytest.mark.parametrize("sandbox", MODES)
def test_stopped_job_is_terminated_uploads_outputs_and_leaves_no_process(
        settings: Settings, sandbox: str) -> None:
    s = settings.model_copy(update={"sandbox": sandbox})
    marker = f"stray-{time.time_ns()}"
    plan = make_plan(s, ARGS + r'''
# A grandchild that leaves the process group and ignores SIGTERM: must still die.
subprocess.Popen([sys.executable, "-c",
    "import os, signal, time; os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "time.sleep(600)", "MARKER"])
def on_term(*_):
    (out / "checkpoint.txt").write_text("saved on SIGTERM")
    print("got SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
time.sleep(0.5)
print("READY", flush=True)
while True:
    time.sleep(0.1)
'''.replace("MARKER", marker), outputs=[out := output(s)])
    job = start(s, plan)
    job.wait_log("READY")
    assert processes_with(marker)
    assert job.poll().phase == "Running"  # type: ignore[union-attr]
    t0 = time.monotonic()
    job.stop()
    state = job.wait(30)
    assert (state.phase, state.reason, state.message) == ("Terminated", "stopped", "stopped")
    assert time.monotonic() - t0 < s.stop_grace_period + 5
    assert "got SIGTERM" in job.log
    assert (obs_path(s, out.url) / "checkpoint.txt").read_text() == "saved on SIGTERM"
    wait_for(lambda: not processes_with(marker), 5, "the stray grandchild to be gone")


def test_stop_escalates_to_sigkill_after_the_grace_period(settings: Settings) -> None:
    plan = make_plan(settings, r'''
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("READY", flush=True)
time.sleep(600)
''')
    job = start(settings, plan)
    job.wait_log("READY")
    t0 = time.monotonic()
    job.stop()
    state = job.wait(30)
    took = time.monotonic() - t0
    assert state.phase == "Terminated" and state.exit_code == 137
    assert settings.stop_grace_period - 0.5 <= took < settings.stop_grace_period + 5
    assert "Grace period over" in job.log


def test_auto_stop_terminates_a_job_that_runs_too_long(settings: Settings) -> None:
    plan = make_plan(settings, "import time\nprint('working', flush=True)\ntime.sleep(600)\n",
                     max_run_seconds=1)
    t0 = time.monotonic()
    _job, state = run(settings, plan)
    assert (state.phase, state.reason, state.message) == ("Terminated", "auto_stop", "auto_stop")
    assert time.monotonic() - t0 < 15


def test_a_silent_idle_job_is_failed_as_hung(settings: Settings) -> None:
    plan = make_plan(settings, "import time\nprint('start', flush=True)\ntime.sleep(600)\n",
                     hang_seconds=2)
    job, state = run(settings, plan)
    assert (state.phase, state.reason) == ("Failed", "hang"), job.log
    assert "no log output and no CPU progress for 2 s" in state.message


def test_outputs_are_uploaded_periodically_while_the_job_runs(settings: Settings) -> None:
    plan = make_plan(settings, ARGS + r'''
(out / "epoch1.ckpt").write_text("one")
print("WROTE", flush=True)
time.sleep(600)
''', outputs=[out := output(settings)])
    job = start(settings, plan)
    remote = obs_path(settings, out.url) / "epoch1.ckpt"
    wait_for(remote.exists, 15, "the periodic upload")
    assert job.poll().phase == "Running"  # type: ignore[union-attr]
    assert remote.read_text() == "one"
    job.stop()
    assert job.wait(30).phase == "Terminated"


def test_a_file_being_written_is_not_uploaded_half_written(settings: Settings) -> None:
    plan = make_plan(settings, ARGS + r'''
with open(out / "model.bin", "wb") as f:
    f.write(b"A" * 100000)
    f.flush()
    print("HALF", flush=True)
    time.sleep(3.5)  # several upload periods with the file open and unchanged
    f.write(b"B" * 100000)
print("CLOSED", flush=True)
time.sleep(600)
''', outputs=[out := output(settings)])
    job = start(settings, plan)
    remote = obs_path(settings, out.url) / "model.bin"
    job.wait_log("HALF")
    end = time.monotonic() + 20
    while not remote.exists():
        assert time.monotonic() < end, "model.bin was never uploaded"
        time.sleep(0.02)
    assert "CLOSED" in job.log
    assert remote.read_bytes() == b"A" * 100000 + b"B" * 100000
    job.stop()
    job.wait(30)


def test_prefetched_output_is_there_before_the_code_starts(settings: Settings) -> None:
    out = output(settings, prefetch_to_local=True)
    ckpt = obs_path(settings, out.url) / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_text("epoch 5")
    plan = make_plan(settings, ARGS + r'''
print("RESUME-FROM:" + (out / "last.ckpt").read_text(), flush=True)
(out / "last.ckpt").write_text("epoch 6")
''', outputs=[out])
    job, state = run(settings, plan)
    assert state.phase == "Completed", job.log
    assert "RESUME-FROM:epoch 5" in job.log
    assert ckpt.read_text() == "epoch 6"


def test_a_missing_input_fails_before_the_code_runs(settings: Settings) -> None:
    plan = make_plan(settings, "print('CODE-RAN')\n",
                     inputs=[ChannelPlan(name="data_url", url="obs://bkt/no/such/data/")])
    job, state = run(settings, plan)
    assert (state.phase, state.reason) == ("Failed", "staging")
    assert state.message == "Input data_url: there is nothing at obs://bkt/no/such/data/"
    assert "CODE-RAN" not in job.log and no_traceback(job.log)


def test_a_boot_file_missing_from_the_code_dir_fails_clearly(settings: Settings) -> None:
    plan = make_plan(settings, files={"other.py": "print('x')"}, boot_file="train.py")
    _job, state = run(settings, plan)
    assert state.phase == "Failed"
    assert "The boot file train.py is not in the code directory" in state.message


@needs_bwrap
def test_read_only_mounts_are_enforced_in_the_sandbox(settings: Settings, tmp_path: Path) -> None:
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    (ro / "data.txt").write_text("shared data")
    plan = make_plan(settings, r'''
print("READ:" + open("/mnt/ro/data.txt").read())
try:
    open("/mnt/ro/new.txt", "w").write("x")
    print("RO-WRITABLE")
except OSError as exc:
    print("RO-DENIED:" + exc.__class__.__name__)
open("/mnt/rw/new.txt", "w").write("written")
''', mounts=[MountPlan(source=str(ro), target="/mnt/ro", read_only=True),
             MountPlan(source=str(rw), target="/mnt/rw")])
    job, state = run(settings.model_copy(update={"sandbox": "bwrap"}), plan)
    assert state.phase == "Completed", job.log
    assert "READ:shared data" in job.log and "RO-DENIED:OSError" in job.log
    assert not (ro / "new.txt").exists()
    assert (rw / "new.txt").read_text() == "written"


def test_a_mount_whose_source_is_missing_fails(settings: Settings, tmp_path: Path) -> None:
    plan = make_plan(settings, "print('x')\n",
                     mounts=[MountPlan(source=str(tmp_path / "nope"), target="/mnt/x")])
    _job, state = run(settings, plan)
    assert state.phase == "Failed"
    assert "does not exist" in state.message or "need the sandbox" in state.message


def test_an_engine_python_that_does_not_exist_fails_clearly(settings: Settings) -> None:
    s = settings.model_copy(update={"python": "/nonexistent/bin/python"})
    _job, state = run(s, make_plan(s, "print('x')\n"))
    assert (state.phase, state.reason) == ("Failed", "staging")
    assert state.message.startswith("The engine's Python /nonexistent/bin/python does not exist")
