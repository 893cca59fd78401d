"""A poisoned requirements layer (issue 13, item 6), played for real: job A points pip at its
own package source through its environment and installs a poisoned ``tinypkg``; job B, in
another project, with the very same ``requirements.txt``, must not get it from the cache.

The package source is a folder (``PIP_FIND_LINKS`` naming an input channel, with
``PIP_NO_INDEX``), not an HTTP index on loopback, so that the test stays valid when jobs lose
access to the host's loopback (issue 13, item 2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.settings import Settings
from modelyard.spec.plan import ChannelPlan
from runtime.jobkit import make_plan, put_files, run
from runtime.test_requirements import tiny_wheel

pytestmark = pytest.mark.slow

USES_IT = "import tinypkg\nprint('TINYPKG-VALUE', tinypkg.VALUE)\n"
REQUIREMENTS = "tinypkg==1.0\n"
WHEELS = "/home/ma-user/modelarts/inputs/wheels_0"


@pytest.fixture(autouse=True)
def no_installation_find_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """The installation's own ``PIP_*`` settings win over a job's; a machine that sets
    ``PIP_FIND_LINKS`` for itself would hide the jobs' sources."""
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)


def _job(settings: Settings, project: str, value: str, tag: str) -> tuple[str, Path]:
    """A job of ``project`` whose pip finds ``tinypkg`` (VALUE = ``value``) only in its own
    input; returns its log and its folder."""
    source = put_files(settings, f"wheels-{tag}",
                       {"tinypkg-1.0-py3-none-any.whl": tiny_wheel(value=value)})
    plan = make_plan(settings, USES_IT, files={"requirements.txt": REQUIREMENTS},
                     project_id=project, inputs=[ChannelPlan(name="wheels", url=source)],
                     environments={"PIP_FIND_LINKS": WHEELS, "PIP_NO_INDEX": "1"})
    job, state = run(settings, plan, timeout=180)
    assert state.phase == "Completed", job.log
    return job.log, job.job_dir


def test_a_layer_a_job_steered_is_never_reused_by_another_project(
        settings: Settings, sandboxed: None) -> None:
    log_a, dir_a = _job(settings, "attacker", "'POISONED'", "a")
    assert "TINYPKG-VALUE POISONED" in log_a

    log_b, _ = _job(settings, "victim", "42", "b")
    assert "TINYPKG-VALUE 42" in log_b and "POISONED" not in log_b
    assert "using the cached environment layer" not in log_b
    assert "private to this job" in log_a

    # Not even a job of the attacker's own project reuses it: the content came from A's
    # input, which is A's alone.
    log_c, _ = _job(settings, "attacker", "7", "c")
    assert "TINYPKG-VALUE 7" in log_c

    # The steered layers live in their jobs' folders, none in the shared cache.
    assert not [p for p in settings.envs_root.glob("*") if p.is_dir()]
    assert [p for p in (dir_a / "envs").iterdir() if p.is_dir()]


def test_the_same_settings_in_the_same_project_share_a_layer_and_no_other_project_does(
        settings: Settings, sandboxed: None) -> None:
    """Settings that name no path (an index URL, a pip option) make the layer the
    project's: reused there by a job with the same settings, by no other project."""
    wheel_dir = put_files(settings, "code-shared/demo-code/wheels",
                          {"tinypkg-1.0-py3-none-any.whl": tiny_wheel(value="'P1'")})
    assert wheel_dir
    code = settings.obs_root / "bkt" / "code-shared" / "demo-code"
    (code / "requirements.txt").write_text("--find-links ./wheels\ntinypkg==1.0\n")
    (code / "train.py").write_text(USES_IT)
    env = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    logs = []
    for project in ("p1", "p1", "p2"):
        plan = make_plan(settings, None, code_dir="obs://bkt/code-shared/demo-code/",
                         boot_file="train.py", project_id=project, environments=env)
        job, state = run(settings, plan, timeout=180)
        assert state.phase == "Completed", job.log
        logs.append(job.log)
    assert "private to project p1" in logs[0]
    assert "using the cached environment layer" in logs[1]
    assert "using the cached environment layer" not in logs[2]
    assert "private to project p2" in logs[2]
    assert len([p for p in settings.envs_root.iterdir() if p.is_dir()]) == 2
