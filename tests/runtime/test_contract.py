"""A real job prints what it sees; it must be exactly docs/contract.md, in the sandbox and
without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.runtime.jobside import PYLIB
from modelyard.runtime.sandbox import find_bwrap, probe
from modelyard.settings import Settings
from modelyard.spec.channels import AccessMethod
from modelyard.spec.plan import ChannelPlan

from .jobkit import PRINT_CONTRACT, make_plan, obs_path, output, put_files, run

pytestmark = pytest.mark.slow

HAVE_BWRAP = (bw := find_bwrap()) is not None and probe(bw) is None
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason="bubblewrap does not work here")
MODES = [pytest.param("bwrap", marks=needs_bwrap), "none"]

NASTY = "; rm -rf / && $(echo pwned) `x` 'q' \"d\" \n\ttail $HOME * ~"

CHECK_FILES = PRINT_CONTRACT + r'''
import pathlib
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
print("INPUT:" + pathlib.Path(args["data_url"], "d.csv").read_text().strip())
print("ENV-INPUT:" + sorted(os.listdir(os.environ["extra"]))[0])
pathlib.Path(args["train_url"], "model.txt").write_text("weights")
pathlib.Path(os.environ["eval_url"], "eval.txt").write_text("0.97")
open("/cache/scratch", "w").write("x") if os.path.isdir("/cache") else None
for target in ("/etc/modelyard-probe", "/usr/modelyard-probe"):
    try:
        open(target, "w").write("x")
        print("HOST-WRITABLE:" + target)
    except OSError:
        print("HOST-READONLY:" + target)
'''


@pytest.fixture(params=MODES)
def sandbox_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    return settings.model_copy(update={"sandbox": request.param})


def test_boot_file_mode_sees_the_contract(sandbox_settings: Settings) -> None:
    s = sandbox_settings
    data = put_files(s, "data/train", {"d.csv": "1,2,3\n"})
    extra = put_files(s, "data/extra", {"e.txt": "e"})
    out, ev = output(s), output(s, "eval_url", access_method=AccessMethod.ENV)
    plan = make_plan(
        s, CHECK_FILES,
        hyperparameters=[("lr", "0.01"), ("use-gpu", "False"), ("note", NASTY)],
        inputs=[ChannelPlan(name="data_url", url=data),
                ChannelPlan(name="extra", url=extra, access_method=AccessMethod.ENV)],
        outputs=[out, ev], environments={"MY_VAR": "hello", "PYTHONPATH": "/opt/extra"},
    )
    job, state = run(s, plan)
    assert state.phase == "Completed", job.log
    assert state.exit_code == 0 and state.reason == "completed"
    seen = job.printed_json()
    sandboxed = s.sandbox == "bwrap"
    assert state.sandbox == ("bwrap" if sandboxed else "none")
    home = "/home/ma-user" if sandboxed else str((job.job_dir / "home").resolve())
    mount = f"{home}/modelarts"
    job_dir = f"{mount}/user-job-dir"

    # Arguments: boot file, hyperparameters in order, then inputs, then outputs (parameter
    # access only), one --name=value token each, byte for byte.
    assert seen["argv"] == [
        f"{job_dir}/demo-code/train.py",
        "--lr=0.01", "--use-gpu=False", f"--note={NASTY}",
        f"--data_url={mount}/inputs/data_url_0",
        f"--train_url={mount}/outputs/train_url_0",
    ]
    assert seen["path0"] == f"{job_dir}/demo-code"
    assert seen["cwd"] == home
    assert Path(seen["executable"]).parent == Path(s.python).parent

    env = seen["env"]
    expected = {
        "MA_HOME": home, "HOME": home, "MA_JOB_DIR": job_dir, "MA_MOUNT_PATH": mount,
        "MA_LOG_DIR": f"{mount}/log", "MA_NUM_GPUS": "0", "MA_NUM_HOSTS": "1",
        "MA_TASK_NAME": "worker", "VC_TASK_INDEX": "0", "VC_WORKER_NUM": "1",
        "MA_CURRENT_INSTANCE_NAME": f"modelarts-job-{plan.job_id}-worker-0",
        "PYTHONUNBUFFERED": "1", "MY_VAR": "hello",
        "MA_HP_LR": "0.01", "MA_HP_USE_GPU": "False", "MA_HP_NOTE": NASTY,
        "extra": f"{mount}/inputs/extra_0", "eval_url": f"{mount}/outputs/eval_url_0",
    }
    assert {k: env.get(k) for k in expected} == expected
    assert env["PYTHONPATH"].split(":")[0] == job_dir
    # The user's PYTHONPATH, then the folder holding ModelYard's moxing (issue 16).
    assert env["PYTHONPATH"].split(":")[-2] == "/opt/extra"
    pylib = env["PYTHONPATH"].split(":")[-1]
    assert pylib == ("/home/ma-user/.modelyard/python" if sandboxed else str(PYLIB))
    assert env["MA_CURRENT_IP"] and env["VC_WORKER_HOSTS"] == env["MA_CURRENT_IP"]
    assert not [k for k in env if k.startswith(("MODELYARD_", "AWS_"))]
    assert "data_url" not in env and "train_url" not in env

    # Channels: inputs downloaded, outputs uploaded.
    assert "INPUT:1,2,3" in job.log and "ENV-INPUT:e.txt" in job.log
    assert (obs_path(s, out.url) / "model.txt").read_text() == "weights"
    assert (obs_path(s, ev.url) / "eval.txt").read_text() == "0.97"
    log = job.folder.log_file(plan.job_id)
    assert log.name == f"modelarts-job-{plan.job_id}-worker-0.log"
    # The platform's log is outside everything bound into the job (issue 13);
    # MA_LOG_DIR stays, for the job's own files.
    assert log.parent == job.job_dir / "logs"
    assert (job.job_dir / "home" / "modelarts" / "log").is_dir()

    if sandboxed:
        assert "HOST-READONLY:/etc/modelyard-probe" in job.log
        assert "HOST-READONLY:/usr/modelyard-probe" in job.log
        assert (job.job_dir / "cache" / "scratch").read_text() == "x"
        assert "without a sandbox" not in job.log
    else:
        warnings = [ln for ln in job.log.splitlines() if "Running without a sandbox" in ln]
        assert len(warnings) == 1
        assert next(e for e in job.events if "without a sandbox" in e.message).level == "Warning"


def test_command_mode_chains_and_keeps_arguments_out_of_the_string(
        sandbox_settings: Settings) -> None:
    s = sandbox_settings
    plan = make_plan(
        s, files={"show.py": PRINT_CONTRACT, "main.sh": "echo main.sh ran with $# args\n"},
        command=("echo first; cd ${MA_JOB_DIR}/demo-code && sh main.sh a b && "
                 "python ${MA_JOB_DIR}/demo-code/show.py"),
        hyperparameters=[("epochs", "3"), ("evil", NASTY)],
        outputs=[output(s)],
    )
    job, state = run(s, plan)
    assert state.phase == "Completed", job.log
    assert "\nfirst\n" in job.log and "main.sh ran with 2 args" in job.log
    seen = job.printed_json()
    mount = seen["env"]["MA_MOUNT_PATH"]
    # The tokens reach the last command as "$@", never interpolated into the string.
    assert seen["argv"][1:] == ["--epochs=3", f"--evil={NASTY}",
                                f"--train_url={mount}/outputs/train_url_0"]
    assert seen["env"]["MA_HP_EVIL"] == NASTY


def test_command_mode_runs_in_home_or_working_dir(settings: Settings) -> None:
    plan = make_plan(settings, files={"x.txt": "x"}, command="pwd; ls",
                     working_dir="/home/ma-user/modelarts/user-job-dir/demo-code")
    job, state = run(settings, plan)
    assert state.phase == "Completed", job.log
    cwd = "/home/ma-user" if state.sandbox == "bwrap" else str(job.job_dir.resolve() / "home")
    assert f"{cwd}/modelarts/user-job-dir/demo-code\n" in job.log
    assert "\nx.txt\n" in job.log


def test_an_image_that_cannot_be_pulled_fails_at_staging_naming_it(settings: Settings
                                                                    ) -> None:
    """A registry that cannot be reached is a platform fault: transient, so the
    fault-tolerance rules retry it (tests/runtime/test_images.py has the real registry)."""
    from modelyard.spec.algorithm import Engine
    plan = make_plan(settings, files={"a.txt": "a"}, command="echo should-not-run",
                     engine=Engine(image_url="registry.invalid/team/train:1"),
                     mode="custom_image")
    job, state = run(settings, plan)
    assert state.phase == "Failed", job.log
    if state.sandbox != "bwrap":
        assert "needs the sandbox" in state.message
        return
    assert state.reason == "staging_transient"
    assert "registry.invalid/team/train:1" in state.message
    assert "\nshould-not-run\n" not in job.log
