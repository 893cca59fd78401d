"""The launcher (fork server): jobs reuse it, it outlives nothing it should not, and the
executor never depends on it (stale socket, wedged launcher, killed launcher, new code,
an environment it cannot honour: the job still runs, exactly once)."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelyard.executors import launcher
from modelyard.executors.local import LocalExecutor
from modelyard.runtime import procs
from modelyard.settings import Settings
from runtime.jobkit import Job, make_plan, output, processes_with

from .launcherkit import (
    launcher_pid,
    parent_of,
    running_launcher,
    served,
    wait_until,
    zombies_of,
)

QUICK = "print('hello from the job')\n"
HOLD = "import time\nprint('READY', flush=True)\ntime.sleep({seconds})\nprint('DONE', flush=True)\n"


def submit(executor: LocalExecutor, settings: Settings, script: str, **kw: object) -> Job:
    plan = make_plan(settings, script, **kw)  # type: ignore[arg-type]
    job_dir = settings.jobs_root / plan.job_id
    executor.submit(plan, job_dir)
    return Job(settings, plan, job_dir, executor)


def runtime_pid(job: Job) -> int:
    info = (job.job_dir / "runtime.pid").read_text()
    return int(info.split('"pid": ')[1].split(",")[0])


# --------------------------------------------------------------------------- unit level
def test_the_code_version_changes_with_any_python_file(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 1\n")
    (pkg / "notes.txt").write_text("not code")
    v0 = launcher.code_version(pkg)
    assert launcher.code_version(pkg) == v0
    (pkg / "notes.txt").write_text("still not code")
    assert launcher.code_version(pkg) == v0
    (pkg / "sub" / "b.py").write_text("y = 22\n")
    v1 = launcher.code_version(pkg)
    assert v1 != v0
    (pkg / "sub" / "c.py").write_text("")
    assert launcher.code_version(pkg) not in (v0, v1)


def test_the_address_is_in_the_home_or_a_private_folder_never_abstract(tmp_path: Path) -> None:
    """An abstract socket is reachable from any process in the network namespace; a
    filesystem socket only by those who see its folder (jobs see neither)."""
    assert launcher.address(tmp_path) == str(tmp_path.resolve() / "run" / "launcher.sock")
    deep = tmp_path / ("x" * 120)
    name = launcher.address(deep)
    assert not name.startswith("\0") and name == launcher.address(deep)
    assert Path(name).name == "launcher.sock" and len(name.encode()) <= 107
    assert launcher.address(tmp_path / ("y" * 120)) != name


def test_a_request_without_the_installations_token_is_refused(settings: Settings) -> None:
    """Knowing the socket is not enough: a spawn must carry run/launcher.token."""
    with running_launcher(settings):
        token_file = settings.home / "run" / "launcher.token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(launcher.address(settings.home))
            sock.sendall(json.dumps({"op": "spawn", "protocol": launcher.PROTOCOL,
                                     "version": launcher.current_version(),
                                     "job_dir": str(settings.jobs_root / "forged"),
                                     "env": {"MODELYARD_SANDBOX": "none"}, "umask": 18,
                                     "token": "0" * 64}).encode() + b"\n")
            answer = json.loads(sock.recv(4096))
        assert answer == {"error": "token"}
        assert not (settings.jobs_root / "forged").exists()
        assert launcher.ping(settings.home) is not None  # still serving the real executor


def test_no_launcher_means_none_quickly(settings: Settings) -> None:
    t0 = time.monotonic()
    assert launcher.spawn(settings.home, settings.jobs_root / "x", {}) is None
    assert launcher.ping(settings.home) is None
    assert time.monotonic() - t0 < 1


# ----------------------------------------------------------------------------- real jobs
@pytest.mark.slow
def test_the_first_job_starts_the_launcher_and_later_jobs_reuse_it(settings: Settings) -> None:
    executor = LocalExecutor(settings)
    first = submit(executor, settings, QUICK)
    assert first.wait().phase == "Completed"
    # The first runtime was started as a new interpreter and forked the launcher off.
    wait_until(lambda: launcher_pid(settings) is not None, 60, "the launcher to start")
    pid = launcher_pid(settings)
    assert pid is not None and pid != runtime_pid(first)
    held = []
    for _ in range(3):
        job = submit(executor, settings, HOLD.format(seconds=1), outputs=[output(settings)])
        job.wait_log("READY")
        assert parent_of(runtime_pid(job)) == pid, "forked by the launcher"
        held.append(job)
    for job in held:
        state = job.wait()
        assert (state.phase, state.exit_code) == ("Completed", 0), job.log
        assert "DONE" in job.log
    assert launcher_pid(settings) == pid
    assert len(re.findall(r"(forked|spare) runtime \d+ for ", served(settings))) == 3
    # Reaped: no zombies, and the launcher knows its runtimes are gone.
    wait_until(lambda: not launcher.ping(settings.home)["children"], 10,  # type: ignore[index]
               "the launcher to reap its runtimes")
    assert zombies_of(pid) == []


@pytest.mark.slow
def test_only_one_launcher_starts_for_a_home(settings: Settings) -> None:
    executor = LocalExecutor(settings)
    jobs = [submit(executor, settings, QUICK) for _ in range(3)]  # all before any launcher
    for job in jobs:
        assert job.wait().phase == "Completed"
    wait_until(lambda: launcher_pid(settings) is not None, 60, "the launcher to start")
    assert served(settings).count("serving ") == 1
    for job in jobs:  # no command line names a job: the launcher inherits one of them
        assert processes_with(job.plan.job_id) == []


@pytest.mark.slow
def test_a_stale_socket_means_the_old_way_and_a_new_launcher(settings: Settings) -> None:
    address = launcher.address(settings.home)
    assert not address.startswith("\0"), "this test needs a socket file"
    Path(address).parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(address)
    stale.close()  # the file stays; nobody listens: like a launcher that was killed
    executor = LocalExecutor(settings)
    t0 = time.monotonic()
    job = submit(executor, settings, QUICK)
    assert time.monotonic() - t0 < 5
    assert job.wait().phase == "Completed"
    wait_until(lambda: launcher_pid(settings) is not None, 60, "a new launcher")
    assert "hello from the job" in job.log


@pytest.mark.slow
def test_a_launcher_that_does_not_answer_is_skipped_and_the_job_runs_once(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher.client, "REPLY_TIMEOUT", 0.5)
    address = launcher.address(settings.home)
    Path(address).parent.mkdir(parents=True, exist_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wedged:
        wedged.bind(address)
        wedged.listen(8)  # accepts connections, never answers
        # It also holds the lock, as a live launcher would: no second launcher starts.
        lock = launcher.try_lock(settings.home)
        assert lock is not None
        try:
            executor = LocalExecutor(settings)
            job = submit(executor, settings, QUICK)
            assert job.wait().phase == "Completed"
            assert job.log.count("hello from the job") == 1
            t0 = time.monotonic()
            again = submit(executor, settings, QUICK)  # skipped at once now (back-off)
            assert time.monotonic() - t0 < 0.5 + 2
            assert again.wait().phase == "Completed"
        finally:
            os.close(lock)


@pytest.mark.slow
def test_runtimes_outlive_a_launcher_killed_with_sigkill(settings: Settings) -> None:
    executor = LocalExecutor(settings)
    with running_launcher(settings) as pid:
        job = submit(executor, settings, HOLD.format(seconds=2))
        job.wait_log("READY")
        runtime = runtime_pid(job)
        assert parent_of(runtime) == pid
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not procs.is_alive(pid), 10, "the launcher to die")
        assert procs.is_alive(runtime)
        state = job.wait()
        assert (state.phase, state.exit_code) == ("Completed", 0), job.log
        assert "DONE" in job.log
        # The next job does not notice: it runs the old way, which starts a new launcher.
        after = submit(executor, settings, QUICK)
        assert after.wait().phase == "Completed"
        wait_until(lambda: launcher_pid(settings) not in (None, pid), 60, "a new launcher")


@pytest.mark.slow
def test_new_code_replaces_the_launcher(settings: Settings,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    executor = LocalExecutor(settings)
    with running_launcher(settings) as old:
        # As if the package's files changed after the launcher imported them.
        monkeypatch.setattr(launcher.client, "current_version", lambda: "new-code")
        job = submit(executor, settings, QUICK)
        assert parent_of(runtime_pid(job)) != old
        assert job.wait().phase == "Completed"
        wait_until(lambda: not procs.is_alive(old), 10, "the old launcher to exit")
        assert "code version changed (new-code)" in served(settings)
        # The job's runtime (a new interpreter) started a launcher of the code on disk.
        monkeypatch.undo()
        a_new_launcher_takes_the_next_job(executor, settings, old)


def a_new_launcher_takes_the_next_job(executor: LocalExecutor, settings: Settings,
                                      old: int | None) -> None:
    wait_until(lambda: launcher_pid(settings) not in (None, old), 60, "a new launcher")
    new = launcher_pid(settings)
    job = submit(executor, settings, HOLD.format(seconds=0.5))
    job.wait_log("READY")
    assert parent_of(runtime_pid(job)) == new
    assert job.wait().phase == "Completed"


@pytest.mark.slow
def test_an_executor_of_another_context_gets_a_launcher_of_its_own(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    executor = LocalExecutor(settings)
    with running_launcher(settings) as old:
        monkeypatch.setenv("PYTHONOPTIMIZE", "1")  # read at interpreter start
        job = submit(executor, settings, HOLD.format(seconds=0.5))
        job.wait_log("READY")
        assert parent_of(runtime_pid(job)) != old  # started the old way
        assert job.wait().phase == "Completed"
        wait_until(lambda: not procs.is_alive(old), 10, "the old launcher to exit")
        assert "asked from another context (env)" in served(settings)
        a_new_launcher_takes_the_next_job(executor, settings, old)


def test_the_context_follows_limits_and_interpreter_variables() -> None:
    base = launcher.context({"PATH": "/bin"})
    assert launcher.context({"PATH": "/usr/bin", "LANG": "C"}) == base
    assert launcher.context({"PYTHONPATH": "/x"}) != base
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft - 1, hard))
    try:
        assert launcher.context({"PATH": "/bin"}) != base
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))



def test_warming_imports_both_store_backends_but_not_boto3() -> None:
    """Forked runtimes inherit the launcher's modules: a job with s3:// channels must not
    import the S3 backend again, and no job should pay for boto3 it may never use."""
    code = ("import sys; from modelyard.executors import launcher; launcher.warm(); "
            "print(sorted(m for m in ('modelyard.storage.s3', 'modelyard.storage.local', "
            "'boto3', 'botocore') if m in sys.modules))")
    env = {**os.environ, "MODELYARD_SANDBOX": "none"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "['modelyard.storage.local', 'modelyard.storage.s3']"

@pytest.mark.slow
def test_the_forked_runtime_uses_the_executors_settings(settings: Settings,
                                                         tmp_path: Path) -> None:
    marker = tmp_path / "wrapped"
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f"#!/bin/sh\ntouch {marker}\nexec {sys.executable} \"$@\"\n")
    wrapper.chmod(0o755)
    with running_launcher(settings) as pid:
        # Settings made in code reach the runtime through its environment, fresh per job.
        ours = settings.model_copy(update={"python": str(wrapper), "sandbox": "none"})
        job = submit(LocalExecutor(ours), ours, HOLD.format(seconds=0.5))
        job.wait_log("READY")
        assert parent_of(runtime_pid(job)) == pid
        assert job.wait().phase == "Completed"
        assert marker.exists()
        assert job.folder.read_state().sandbox == "none"  # type: ignore[union-attr]
        plain = submit(LocalExecutor(settings), settings, QUICK)
        assert plain.wait().phase == "Completed"
        assert str(wrapper) not in plain.log


@pytest.mark.slow
def test_an_idle_launcher_exits_and_its_home_can_start_another(settings: Settings) -> None:
    with running_launcher(settings, idle=1) as pid:
        wait_until(lambda: not procs.is_alive(pid), 30, "the idle launcher to exit")
        assert "idle for 1 s" in served(settings)
        assert launcher.ping(settings.home) is None
    lock = launcher.try_lock(settings.home)
    assert lock is not None, "the lock went with it"
    os.close(lock)


@pytest.mark.slow
def test_a_second_launcher_for_the_same_home_refuses_to_start(settings: Settings) -> None:
    with running_launcher(settings):
        res = subprocess.run([sys.executable, "-m", "modelyard.executors.launcher", "serve",
                              str(settings.home)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 1 and "already runs" in res.stderr


@pytest.mark.slow
def test_the_forked_runtime_has_the_executors_umask(settings: Settings) -> None:
    with running_launcher(settings) as pid:  # started with the usual umask (022)
        old = os.umask(0o077)
        try:
            job = submit(LocalExecutor(settings), settings, HOLD.format(seconds=0.5))
        finally:
            os.umask(old)
        job.wait_log("READY")
        assert parent_of(runtime_pid(job)) == pid
        assert job.wait().phase == "Completed"
        outputs = job.job_dir / "home" / "modelarts" / "outputs"  # made by the runtime
        assert outputs.stat().st_mode & 0o777 == 0o700


def spare_of(settings: Settings) -> int | None:
    info = launcher.ping(settings.home)
    return int(info["spare"]) if info and info.get("spare") else None


@pytest.mark.slow
def test_a_spare_child_takes_the_next_job_and_a_dead_spare_is_no_problem(
        settings: Settings) -> None:
    executor = LocalExecutor(settings)
    with running_launcher(settings) as pid:
        # The first job teaches the launcher this executor's settings; the spare forked
        # after it knows them.
        assert submit(executor, settings, QUICK).wait().phase == "Completed"
        wait_until(lambda: spare_of(settings) is not None, 30, "a spare")
        spare = spare_of(settings)
        assert spare is not None and parent_of(spare) == pid
        job = submit(executor, settings, HOLD.format(seconds=0.5))
        job.wait_log("READY")
        assert runtime_pid(job) == spare, "the spare became the job's runtime"
        assert job.wait().phase == "Completed"
        assert f"spare runtime {spare} for" in served(settings)
        # A spare that died is reaped and replaced; a job meanwhile is forked as usual.
        wait_until(lambda: spare_of(settings) not in (None, spare), 30, "the next spare")
        second = spare_of(settings)
        assert second is not None
        os.kill(second, signal.SIGKILL)
        job = submit(executor, settings, QUICK)
        assert job.wait().phase == "Completed"
        assert runtime_pid(job) != second
        wait_until(lambda: spare_of(settings) not in (None, second), 30, "a new spare")
        assert zombies_of(pid) == []
    # The launcher is gone: so is its spare (it exits when the launcher lets go of it).
    wait_until(lambda: not procs.is_alive(second) and processes_with(str(pid)) == [], 10,
               "the spare to exit with the launcher")
