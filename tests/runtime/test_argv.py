"""docs/contract.md argv/env as data (argv.py), without starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.runtime.argv import TaskInfo, build_launch, hp_env_name
from modelyard.runtime.layout import Layout, Tree, make_layout
from modelyard.runtime.state import JobFolder
from modelyard.spec.algorithm import Mode
from modelyard.spec.channels import AccessMethod
from modelyard.spec.plan import ChannelPlan, RunPlan

SANDBOX = Layout(Tree(Path("/jobs/j/home"), Path("/jobs/j/cache")),
                 Tree(Path("/home/ma-user"), Path("/cache")), sandboxed=True)
PY = "/opt/engine/bin/python"


def plan(**kw: object) -> RunPlan:
    base: dict[str, object] = {"job_id": "j1", "code_dir": "obs://b/x/demo-code/",
                               "boot_file": "train.py"}
    base.update(kw)
    return RunPlan.model_validate(base)


def test_boot_file_argv_order_and_channels() -> None:
    p = plan(hyperparameters=[("lr", "0.1"), ("flag", "True")],
             inputs=[ChannelPlan(name="data_url", url="obs://b/d/"),
                     ChannelPlan(name="aux", url="obs://b/a/", access_method=AccessMethod.ENV)],
             outputs=[ChannelPlan(name="train_url", url="obs://b/o/")])
    launch = build_launch(p, SANDBOX, python=PY, code_name="demo-code", base_env={})
    assert launch.argv == [
        PY, "/home/ma-user/modelarts/user-job-dir/demo-code/train.py", "--lr=0.1", "--flag=True",
        "--data_url=/home/ma-user/modelarts/inputs/data_url_0",
        "--train_url=/home/ma-user/modelarts/outputs/train_url_0",
    ]
    assert launch.cwd == "/home/ma-user" and not launch.shell
    assert launch.env["aux"] == "/home/ma-user/modelarts/inputs/aux_0"


def test_command_mode_passes_tokens_as_positional_parameters() -> None:
    p = plan(mode=Mode.CUSTOM_IMAGE, boot_file=None, command="cd x && python t.py",
             hyperparameters=[("a", "$(id)")])
    launch = build_launch(p, SANDBOX, python=PY, code_name="demo-code", base_env={})
    assert launch.argv == ["/bin/sh", "-c", 'cd x && python t.py "$@"', "sh", "--a=$(id)"]


def test_environment_is_the_contract_and_nothing_else_leaks() -> None:
    p = plan(environments={"PYTHONPATH": "/mine", "FOO": "bar"},
             hyperparameters=[("learning-rate", "0.1")])
    launch = build_launch(
        p, SANDBOX, python=PY, code_name="demo-code", layer=Path("/modelyard/envs/abc"),
        task=TaskInfo(current_ip="10.0.0.5", hosts=("10.0.0.5",), num_gpus=2),
        base_env={"AWS_SECRET_ACCESS_KEY": "s", "MODELYARD_HOME": "/x", "LANG": "en_US.UTF-8",
                  "https_proxy": "http://proxy:3128"})
    env = launch.env
    assert env["PYTHONPATH"] == "/home/ma-user/modelarts/user-job-dir:/modelyard/envs/abc:/mine"
    assert env["PATH"].split(":")[:2] == ["/modelyard/envs/abc/bin", "/opt/engine/bin"]
    assert env["MA_HP_LEARNING_RATE"] == "0.1"
    assert env["MA_NUM_GPUS"] == "2" and env["MA_CURRENT_IP"] == "10.0.0.5"
    assert env["LANG"] == "en_US.UTF-8" and env["https_proxy"] == "http://proxy:3128"
    assert "AWS_SECRET_ACCESS_KEY" not in env and "MODELYARD_HOME" not in env
    assert env["FOO"] == "bar"
    assert "MASTER_ADDR" not in env and "LD_LIBRARY_PATH" not in env


def test_preset_on_custom_image_gets_the_anaconda_paths() -> None:
    p = plan(mode=Mode.PRESET_CUSTOM_IMAGE)
    env = build_launch(p, SANDBOX, python=PY, code_name="demo-code", base_env={}).env
    assert env["PATH"].startswith("/home/ma-user/anaconda/bin:")
    assert env["LD_LIBRARY_PATH"] == "/home/ma-user/anaconda/lib"


def test_multi_node_variables() -> None:
    p = plan(node_count=2)
    env = build_launch(p, SANDBOX, python=PY, code_name="demo-code", base_env={},
                       task=TaskInfo(index=1, hosts=("10.0.0.1", "10.0.0.2"),
                                     current_ip="10.0.0.2")).env
    assert (env["MASTER_ADDR"], env["WORLD_SIZE"], env["RANK"]) == ("10.0.0.1", "2", "1")
    assert env["VC_WORKER_HOSTS"] == "10.0.0.1,10.0.0.2" and env["VC_TASK_INDEX"] == "1"
    assert env["MA_NUM_HOSTS"] == env["VC_WORKER_NUM"] == "2"


def test_without_sandbox_every_path_points_into_the_job_folder(tmp_path: Path) -> None:
    layout = make_layout(JobFolder(tmp_path / "j"), sandboxed=False)
    p = plan(working_dir="/home/ma-user/modelarts/user-job-dir/demo-code")
    launch = build_launch(p, layout, python=PY, code_name="demo-code", base_env={})
    home = str(tmp_path / "j" / "home")
    assert launch.env["MA_HOME"] == launch.env["HOME"] == home
    assert launch.env["MA_JOB_DIR"] == f"{home}/modelarts/user-job-dir"
    assert launch.cwd == f"{home}/modelarts/user-job-dir/demo-code"
    assert launch.argv[1] == f"{home}/modelarts/user-job-dir/demo-code/train.py"


@pytest.mark.parametrize(("name", "env"), [("lr", "MA_HP_LR"), ("batch-size", "MA_HP_BATCH_SIZE")])
def test_hp_env_names(name: str, env: str) -> None:
    assert hp_env_name(name) == env


def test_thread_counts_follow_the_flavor_unless_the_user_set_them() -> None:
    env = build_launch(plan(cpus=2, environments={"MKL_NUM_THREADS": "1"}), SANDBOX,
                       python=PY, code_name="demo-code", base_env={}).env
    assert env["OMP_NUM_THREADS"] == "2" and env["MKL_NUM_THREADS"] == "1"
    env = build_launch(plan(), SANDBOX, python=PY, code_name="demo-code", base_env={}).env
    assert "OMP_NUM_THREADS" not in env


IMAGE_ENV = ["PATH=/usr/local/bin:/usr/bin:/bin", "IMAGE_VAR=from-image",
             "MA_HOME=/wrong", "HOME=/root", "ANACONDA_DIR=/home/ma-user/anaconda",
             "BROKEN"]


def test_in_an_image_its_env_comes_first_then_the_platform_then_the_user() -> None:
    p = plan(mode=Mode.PRESET_CUSTOM_IMAGE, environments={"IMAGE_VAR": "from-user"})
    launch = build_launch(p, SANDBOX, python="python", code_name="demo-code", base_env={},
                          image_env=IMAGE_ENV)
    env = launch.env
    assert env["IMAGE_VAR"] == "from-user"  # the user's word is last
    assert env["MA_HOME"] == env["HOME"] == "/home/ma-user"  # the platform's over the image's
    # S2.4: the image's anaconda first, then the image's own PATH (no host interpreter)
    assert env["PATH"] == "/home/ma-user/anaconda/bin:/usr/local/bin:/usr/bin:/bin"
    assert launch.argv[0] == "python"
    assert "BROKEN" not in env


def test_conda_env_chosen_by_anaconda_dir_and_default_env_name() -> None:  # S2.6 (1)
    p = plan(mode=Mode.CUSTOM_IMAGE, boot_file=None, command="python t.py",
             environments={"DEFAULT_CONDA_ENV_NAME": "work"})
    env = build_launch(p, SANDBOX, python="python", code_name="demo-code", base_env={},
                       image_env=IMAGE_ENV).env
    assert env["PATH"].split(":")[0] == "/home/ma-user/anaconda/envs/work/bin"
    bad = plan(mode=Mode.CUSTOM_IMAGE, boot_file=None, command="python t.py",
               environments={"DEFAULT_CONDA_ENV_NAME": ".."})
    env = build_launch(bad, SANDBOX, python="python", code_name="demo-code", base_env={},
                       image_env=IMAGE_ENV).env
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
