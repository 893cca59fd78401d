"""What the path from submit to the job's first line caches, and that each cache follows
what it depends on: the bubblewrap probe (per home, keyed by the binary and the kernel),
a runtime's settings in the launcher (keyed by every input pydantic-settings reads)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.executors import launcher
from modelyard.runtime import procs, sandbox
from modelyard.runtime.process import JobProcess
from modelyard.runtime.runner import num_gpus
from modelyard.settings import Settings
from runtime.jobkit import make_plan, processes_with, run

from .launcherkit import wait_until


@pytest.fixture
def fresh_process() -> Iterator[None]:
    """As in a new runtime process: nothing cached in memory."""
    sandbox.clear_caches()
    yield
    sandbox.clear_caches()


def fake_bwrap(tmp_path: Path, exit_code: int) -> tuple[str, Path]:
    calls = tmp_path / "calls"
    tool = tmp_path / "bwrap"
    tool.write_text(f"#!/bin/sh\necho run >> {calls}\necho 'no user namespaces' >&2\n"
                    f"exit {exit_code}\n")
    tool.chmod(0o755)
    return str(tool), calls


def runs(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_the_probe_runs_once_per_home_not_once_per_runtime(
        tmp_path: Path, fresh_process: None) -> None:
    tool, calls = fake_bwrap(tmp_path, 0)
    cache = tmp_path / "home" / "run"
    assert sandbox.probe_cached(tool, cache) is None
    assert runs(calls) == 1 and (cache / sandbox.PROBE_CACHE).exists()
    sandbox.clear_caches()  # the next runtime process
    assert sandbox.probe_cached(tool, cache) is None
    assert runs(calls) == 1
    assert sandbox.probe_cached(tool, None) is None  # no home given: probe (in memory once)
    assert runs(calls) == 2


def test_a_failed_probe_is_remembered_with_its_reason_and_a_new_binary_probes_again(
        tmp_path: Path, fresh_process: None) -> None:
    tool, calls = fake_bwrap(tmp_path, 1)
    cache = tmp_path / "run"
    assert sandbox.probe_cached(tool, cache) == "no user namespaces"
    sandbox.clear_caches()
    assert sandbox.probe_cached(tool, cache) == "no user namespaces"
    assert runs(calls) == 1
    # bubblewrap replaced (an upgrade, a fix): the recorded answer no longer applies.
    Path(tool).write_text(Path(tool).read_text().replace("exit 1", "exit 0"))
    os.utime(tool, ns=(time.time_ns(), time.time_ns() + 10**9))
    sandbox.clear_caches()
    assert sandbox.probe_cached(tool, cache) is None
    assert runs(calls) == 2


def test_an_old_or_broken_probe_record_is_ignored(tmp_path: Path, fresh_process: None) -> None:
    tool, calls = fake_bwrap(tmp_path, 0)
    cache = tmp_path / "run"
    cache.mkdir()
    (cache / sandbox.PROBE_CACHE).write_text("{not json")
    assert sandbox.probe_cached(tool, cache) is None
    assert runs(calls) == 1
    record = json.loads((cache / sandbox.PROBE_CACHE).read_text())
    record["time"] -= sandbox.PROBE_CACHE_SECONDS + 1  # too old to trust
    (cache / sandbox.PROBE_CACHE).write_text(json.dumps(record))
    sandbox.clear_caches()
    assert sandbox.probe_cached(tool, cache) is None
    assert runs(calls) == 2


def test_choose_uses_the_home_cache(tmp_path: Path, fresh_process: None,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    tool, calls = fake_bwrap(tmp_path, 0)
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: tool)
    assert sandbox.choose("auto", tmp_path / "run") == (tool, None)
    sandbox.clear_caches()
    assert sandbox.choose("bwrap", tmp_path / "run") == (tool, None)
    assert runs(calls) == 1
    assert sandbox.choose("none", tmp_path / "run")[0] is None


def test_settings_inputs_follow_every_input_of_the_settings(tmp_path: Path) -> None:
    env = {"MODELYARD_HOME": str(tmp_path), "HOME": "/root", "PATH": "/bin", "LANG": "C"}
    base = launcher.settings_inputs(env)
    assert launcher.settings_inputs({**env, "PATH": "/usr/bin", "TERM": "x"}) == base
    assert launcher.settings_inputs({**env, "MODELYARD_SANDBOX": "none"}) != base
    assert launcher.settings_inputs({**env, "modelyard_sandbox": "none"}) != base
    assert launcher.settings_inputs({**env, "AWS_REGION": "eu"}) != base
    (tmp_path / "modelyard.toml").write_text('sandbox = "none"\n')
    with_toml = launcher.settings_inputs(env)
    assert with_toml != base
    os.utime(tmp_path / "modelyard.toml", ns=(time.time_ns(), time.time_ns() + 10**9))
    assert launcher.settings_inputs(env) != with_toml


def test_gpus_are_counted_from_dev() -> None:
    expected = len([n for n in os.listdir("/dev") if n.startswith("nvidia")
                    and n[6:7].isdigit()])
    assert num_gpus() == expected


def test_settings_are_built_from_the_environment_they_are_keyed_by(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.settings import Settings

    monkeypatch.setenv("MODELYARD_HOME", str(tmp_path))
    with launcher._environ(os.environ):  # the launcher's own environment, as at its start
        assert Settings().home == tmp_path
    assert os.environ["MODELYARD_HOME"] == str(tmp_path)
    with launcher._environ({"MODELYARD_HOME": str(tmp_path / "other"), "HOME": "/x"}):
        assert Settings().home == tmp_path / "other"
    assert os.environ["MODELYARD_HOME"] == str(tmp_path)


# ------------------------------------------------- the sandbox built while staging runs
needs_bwrap = pytest.mark.skipif(
    (bw := sandbox.find_bwrap()) is None or sandbox.probe(bw) is not None,
    reason="bubblewrap does not work here")


def held(tmp_path: Path, script: str) -> JobProcess:
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir(exist_ok=True)
    cache.mkdir(exist_ok=True)
    python = sys.executable
    spec = sandbox.SandboxSpec(home=home, cache=cache, binds=[
        sandbox.Bind(p, p) for p in sandbox.python_roots(python)])
    log = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        return JobProcess([python, "-c", script], {"PATH": "/usr/bin:/bin"}, "/home/ma-user",
                          log, sandbox.find_bwrap(), spec, hold=True)
    finally:
        os.close(log)


@pytest.mark.slow
@needs_bwrap
def test_a_held_sandbox_runs_nothing_until_released(tmp_path: Path) -> None:
    proc = held(tmp_path, "open('/home/ma-user/ran', 'w').write('yes')")
    time.sleep(0.5)  # the sandbox is built by now; the command waits
    assert proc.held and proc.poll() is None
    assert not (tmp_path / "home" / "ran").exists()
    proc.release()
    assert proc.popen.wait(timeout=30) == 0
    assert (tmp_path / "home" / "ran").read_text() == "yes"


@pytest.mark.slow
@needs_bwrap
def test_a_discarded_sandbox_never_runs_its_command(tmp_path: Path) -> None:
    proc = held(tmp_path, "open('/home/ma-user/ran', 'w').write('yes')")
    time.sleep(0.3)
    inside = procs.descendants(proc.pid)
    proc.discard()
    assert proc.poll() is not None and not proc.held
    time.sleep(0.3)
    assert not (tmp_path / "home" / "ran").exists()
    assert not any(procs.is_alive(pid) for pid in [proc.pid, *inside])


@pytest.mark.slow
@needs_bwrap
def test_jobs_that_cannot_use_the_early_sandbox_still_run_and_leave_nothing(
        settings: Settings) -> None:
    s = settings.model_copy(update={"sandbox": "bwrap"})
    # Staging fails after the early sandbox was started: it must go with the job.
    plan = make_plan(s, "print('never')\n", boot_file="missing.py")
    job, state = run(s, plan)
    assert (state.phase, state.reason) == ("Failed", "staging"), job.log
    assert "never" not in job.log
    wait_until(lambda: processes_with(plan.job_id) == [], 10, "no process of the job")
    # A working folder inside the code (not there before staging): no early sandbox.
    plan = make_plan(s, "import os\nprint('CWD=' + os.getcwd())\n",
                     command="python train.py",
                     working_dir="/home/ma-user/modelarts/user-job-dir/demo-code")
    job, state = run(s, plan)
    assert state.phase == "Completed", job.log
    assert "CWD=/home/ma-user/modelarts/user-job-dir/demo-code" in job.log
