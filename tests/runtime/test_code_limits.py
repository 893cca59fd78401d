"""Seed S2.3: code-directory limits are checked by listing, before anything is downloaded
or run, and a violation fails the job with one clear line. (The check itself lives in the
transfer engine and has its own tests there; these prove the runtime applies it in time.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.runtime.runner import Runner
from modelyard.runtime.state import JobFolder
from modelyard.settings import Settings
from modelyard.spec import code_dir as code_dir_rule

from .jobkit import make_plan, no_traceback, run

MARKER = "print('CODE-RAN')\n"


def _check_failed_before_running(job_log: str, message: str, job_dir: Path) -> None:
    assert "CODE-RAN" not in job_log
    assert no_traceback(job_log)
    assert message in job_log
    assert not (job_dir / "home/modelarts/user-job-dir/demo-code").exists()


@pytest.mark.slow
def test_more_than_1000_files_and_folders_fail_the_job(settings: Settings) -> None:
    files: dict[str, str | bytes] = {f"pkg{i // 100}/f{i}.py": "" for i in range(992)}
    plan = make_plan(settings, MARKER, files=files)  # 992 + train.py + 10 folders = 1003
    job, state = run(settings, plan)
    assert (state.phase, state.reason) == ("Failed", "staging")
    assert "more than 1000 files and folders (seed S2.3)" in state.message
    assert state.message.startswith("code_dir: 'obs://bkt/")
    _check_failed_before_running(job.log, state.message, job.job_dir)


@pytest.mark.slow
def test_a_code_dir_deeper_than_32_levels_fails_the_job(settings: Settings) -> None:
    deep = "/".join(f"d{i}" for i in range(32)) + "/deep.py"  # 33 components
    plan = make_plan(settings, MARKER, files={deep: ""})
    job, state = run(settings, plan)
    assert state.phase == "Failed"
    assert "33 levels deep" in state.message and "at most 32" in state.message
    assert "(seed S2.3)" in state.message
    _check_failed_before_running(job.log, state.message, job.job_dir)


@pytest.mark.slow
def test_32_levels_and_1000_entries_are_allowed(settings: Settings) -> None:
    ok = "/".join(f"d{i}" for i in range(31)) + "/ok.py"  # 32 components, 31 folders
    files: dict[str, str | bytes] = {ok: ""}
    files.update({f"f{i}.py": "" for i in range(1000 - 31 - 2)})
    _job, state = run(settings, make_plan(settings, "print('CODE-RAN')\n", files=files))
    assert state.phase == "Completed"  # 968 + ok.py + train.py + 31 folders = 1000


def test_the_size_limit_fails_the_job_before_download(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_dir_rule, "CODE_DIR_MAX_BYTES", 1000)
    plan = make_plan(settings, MARKER, files={"weights.bin": b"\0" * 2000})
    job_dir = settings.jobs_root / plan.job_id
    JobFolder(job_dir).write_plan(plan)
    state = Runner(job_dir, settings).run()  # in this process, to see the lowered limit
    assert (state.phase, state.reason) == ("Failed", "staging")
    assert "is not allowed: the code directory holds more than" in state.message
    assert "(seed S2.3)" in state.message
    log = JobFolder(job_dir).log_file(plan.job_id).read_text()
    _check_failed_before_running(log, state.message, job_dir)


def test_an_empty_code_dir_fails_the_job(settings: Settings) -> None:
    plan = make_plan(settings, code_dir="obs://bkt/nothing/here/", command="echo hi")
    job_dir = settings.jobs_root / plan.job_id
    JobFolder(job_dir).write_plan(plan)
    state = Runner(job_dir, settings).run()
    assert (state.phase, state.reason) == ("Failed", "staging")
    assert state.message == "The code directory obs://bkt/nothing/here/ is empty or does not exist"


def test_data_like_bulk_in_the_code_dir_is_a_warning_event(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_dir_rule, "LARGE_FILE_BYTES", 100)
    plan = make_plan(settings, "print('CODE-RAN')\n", files={"big.npy": b"\0" * 200})
    job_dir = settings.jobs_root / plan.job_id
    JobFolder(job_dir).write_plan(plan)
    state = Runner(job_dir, settings).run()
    assert state.phase == "Completed"
    warnings = [e for e in JobFolder(job_dir).read_events()[0] if e.level == "Warning"]
    assert any("big.npy" in e.message and "(seed S2.3)" in e.message for e in warnings)
