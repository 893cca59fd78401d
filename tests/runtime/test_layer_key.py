"""The requirements layer's key and scope (runtime/deps.py, issue 13 item 6): a layer is
reused only by a job that would have installed the same thing, and what a job steers
never lands in a layer another project reuses. (The real attack, with a real poisoned
index: tests/security/test_requirements_cache.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelyard.runtime.deps import LayerPlan, Scope, engine_identity, pip_command, plan_layer


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "user-job-dir" / "demo-code"
    folder.mkdir(parents=True)
    (folder / "requirements.txt").write_text("numpy==1.26.4\n# a comment\n")
    return folder


def key(code: Path, **kw: Any) -> LayerPlan:
    args: dict[str, Any] = {
        "code_dir": code, "pip_env": {}, "installation": {}, "pip_conf": None,
        "engine": "python3.11|/usr/bin/python3.11|1|2|3", "job_vars": {}, "project": "p1",
        "job_id": "job-1"}
    args.update(kw)
    return plan_layer(code / "requirements.txt", **args)


def test_a_job_that_steers_nothing_shares_its_layer_across_projects(code: Path) -> None:
    a, b = key(code), key(code, project="p2", job_id="job-2")
    assert a.scope == Scope.SHARED and a == b


def test_the_file_the_engine_and_the_installations_pip_settings_are_in_the_key(
        code: Path, tmp_path: Path) -> None:
    base = key(code).key
    assert key(code, engine="python3.12|/usr/bin/python3.12|1|2|3").key != base
    assert key(code, installation={"PIP_INDEX_URL": "https://mirror/simple"}).key != base
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://mirror/simple\n")
    assert key(code, pip_conf=conf).key != base
    (code / "requirements.txt").write_text("numpy==2.0.0\n")
    assert key(code).key != base


@pytest.mark.parametrize("variable", ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "HTTPS_PROXY",
                                      "PIP_TRUSTED_HOST", "REQUESTS_CA_BUNDLE"])
def test_a_variable_the_job_sets_makes_the_layer_private_to_its_project(
        code: Path, variable: str) -> None:
    value = {variable: "http://127.0.0.1:9/simple"}
    mine = key(code, job_vars=value, pip_env=value)
    assert mine.scope == Scope.PROJECT and variable in mine.why
    assert mine.key != key(code).key  # never the shared layer
    assert mine.key != key(code, job_vars=value, pip_env=value, project="p2").key
    # Reused in the project by a job with the same settings (another job id)...
    assert mine.key == key(code, job_vars=value, pip_env=value, job_id="job-9").key
    # ...and not by one with other settings.
    other = {variable: "http://127.0.0.1:10/simple"}
    assert mine.key != key(code, job_vars=other, pip_env=other).key


def test_variable_references_in_the_file_count_as_the_job_steering(code: Path) -> None:
    (code / "requirements.txt").write_text("--index-url ${MA_HP_INDEX}\nnumpy\n")
    one = key(code, pip_env={"MA_HP_INDEX": "https://a/simple"})
    two = key(code, pip_env={"MA_HP_INDEX": "https://b/simple"})
    assert one.scope == Scope.PROJECT and one.key != two.key


def test_files_of_the_code_directory_the_requirements_refer_to_are_in_the_key(code: Path
                                                                             ) -> None:
    (code / "requirements.txt").write_text(
        "-r base.txt\n--find-links ./wheels\n-c constraints.txt\n")
    (code / "base.txt").write_text("-r more.txt\ntinypkg\n")
    (code / "more.txt").write_text("otherpkg\n")
    (code / "constraints.txt").write_text("tinypkg<2\n")
    (code / "wheels").mkdir()
    (code / "wheels" / "tinypkg-1.0-py3-none-any.whl").write_bytes(b"good")
    first = key(code)
    assert first.scope == Scope.SHARED
    for path, content in (("wheels/tinypkg-1.0-py3-none-any.whl", b"poisoned"),
                          ("more.txt", b"evilpkg\n"), ("constraints.txt", b"tinypkg<3\n")):
        before = key(code).key
        (code / path).write_bytes(content)
        assert key(code).key != before, path


@pytest.mark.parametrize("line", [
    "--find-links /data/wheels", "-f file:///srv/wheels", "-r https://example.com/r.txt",
    "-e ../../outside", "pkg @ file:///tmp/pkg.whl", "--find-links=~/wheels",
    "./../sibling-code"])
def test_references_outside_the_code_directory_make_the_layer_the_jobs_own(
        code: Path, line: str) -> None:
    (code / "requirements.txt").write_text(line + "\n")
    mine = key(code)
    assert mine.scope == Scope.JOB and "outside the code directory" in mine.why
    assert mine.key != key(code, job_id="job-2").key


def test_what_the_log_says_about_a_private_layer_carries_no_credentials(code: Path) -> None:
    (code / "requirements.txt").write_text("-r https://user:s3cr3t@example.com/r.txt\n")
    mine = key(code)
    assert mine.scope == Scope.JOB and "s3cr3t" not in mine.why and "***@example.com" in mine.why
    value = {"PIP_FIND_LINKS": "/home/ma-user/wheels", "PIP_INDEX_URL": "https://u:pw@x/s"}
    why = key(code, job_vars=value, pip_env=value).why
    assert "pw" not in why and "/home/ma-user/wheels" not in why


def test_a_pip_or_loader_setting_naming_a_path_makes_the_layer_the_jobs_own(code: Path
                                                                          ) -> None:
    # e.g. an ``env`` input channel named PIP_FIND_LINKS: its content is the job's own.
    for name, value in (("PIP_FIND_LINKS", "/home/ma-user/modelarts/inputs/PIP_FIND_LINKS_0"),
                        ("LD_PRELOAD", "/home/ma-user/evil.so")):
        assert key(code, job_vars={name: value}, pip_env={name: value}).scope == Scope.JOB


def test_engine_identity_names_the_executable(tmp_path: Path) -> None:
    exe = tmp_path / "python"
    exe.write_bytes(b"#!binary")
    first = engine_identity(str(exe))
    exe.write_bytes(b"#!another build")
    assert engine_identity(str(exe)) != first


def test_pip_runs_isolated_from_the_code_directory() -> None:
    argv = pip_command("/usr/bin/python3", Path("/t"), Path("/r.txt"))
    assert argv[:4] == ["/usr/bin/python3", "-I", "-m", "pip"]
