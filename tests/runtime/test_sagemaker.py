"""The SageMaker contract as data (issue 16): arguments, ``SM_*`` variables, config files,
``/opt/ml/output/failure`` and the sandbox's ``/opt/ml``; no process is started here."""

from __future__ import annotations

import json
import os
from pathlib import Path

from modelyard.runtime import sagemaker
from modelyard.runtime.argv import Extras, build_launch
from modelyard.runtime.layout import Layout as LayoutT
from modelyard.runtime.layout import Tree
from modelyard.runtime.sandbox import SandboxSpec, build_command, with_opt_ml
from modelyard.spec.contract import Contract
from modelyard.spec.plan import ChannelPlan, RunPlan

OPT = Path("/opt/ml")


def sm_plan(**kw: object) -> RunPlan:
    base: dict[str, object] = {
        "job_id": "j1", "job_name": "sm-job", "contract": Contract.SAGEMAKER,
        "code_dir": "obs://bkt/code/", "boot_file": "train.py",
        "hyperparameters": [("lr", "0.1"), ("epochs", "10"), ("optimizer", "adam"),
                            ("amp", "True"), ("b", "2")],
        "inputs": [ChannelPlan(name="train", url="obs://bkt/data/"),
                   ChannelPlan(name="test", url="obs://bkt/t.csv")],
        "outputs": [ChannelPlan(name="model", url="obs://bkt/out/")],
    }
    base.update(kw)
    return RunPlan.model_validate(base)


def layout(tmp: Path) -> LayoutT:
    host = Tree(tmp / "home", tmp / "cache", tmp / "opt-ml")
    return LayoutT(host=host, job=Tree(Path("/home/ma-user"), Path("/cache"), OPT),
                   sandboxed=True)


def test_hyperparameters_are_passed_as_the_toolkit_passes_them() -> None:
    """``--name value`` sorted by name, JSON-decoded values, ``-x`` for one letter."""
    assert sagemaker.user_args(sm_plan()) == [
        "--amp", "True", "-b", "2", "--epochs", "10", "--lr", "0.1", "--optimizer", "adam"]
    assert sagemaker.decode("10") == 10 and sagemaker.decode("true") is True
    assert sagemaker.decode("adam") == "adam" and sagemaker.decode('{"a": 1}') == {"a": 1}


def test_the_script_starts_in_opt_ml_code_with_the_toolkit_arguments(tmp_path: Path) -> None:
    launch = build_launch(sm_plan(), layout(tmp_path), python="/usr/bin/python3",
                          code_name="code", base_env={}, extras=Extras(pylib=Path("/lib")))
    assert launch.argv[:2] == ["/usr/bin/python3", "/opt/ml/code/train.py"]
    assert launch.argv[2:] == sagemaker.user_args(sm_plan())
    assert launch.cwd == "/opt/ml/code"
    assert launch.env["PYTHONPATH"].split(":")[0] == "/opt/ml/code"
    assert launch.env["PYTHONPATH"].split(":")[-1] == "/lib"


def test_a_container_program_gets_no_arguments(tmp_path: Path) -> None:
    """SageMaker runs ``docker run IMAGE train``: hyperparameters come from the JSON file."""
    plan = sm_plan(boot_file=None, command="train")
    launch = build_launch(plan, layout(tmp_path), python="/usr/bin/python3", code_name="code",
                          base_env={})
    assert launch.argv == ["/bin/sh", "-c", "train"]


def test_sm_variables_follow_the_toolkit(tmp_path: Path) -> None:
    env = build_launch(sm_plan(cpus=2), layout(tmp_path), python="/usr/bin/python3",
                       code_name="code", base_env={}).env
    assert env["SM_MODEL_DIR"] == "/opt/ml/model"
    assert env["SM_OUTPUT_DATA_DIR"] == "/opt/ml/output/data"
    assert env["SM_OUTPUT_DIR"] == "/opt/ml/output"
    assert env["SM_INPUT_DIR"] == "/opt/ml/input"
    assert env["SM_INPUT_CONFIG_DIR"] == "/opt/ml/input/config"
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert env["SM_CHANNEL_TEST"] == "/opt/ml/input/data/test"  # a folder, as on SageMaker
    assert json.loads(env["SM_CHANNELS"]) == ["test", "train"]
    assert json.loads(env["SM_HPS"]) == {"amp": "True", "b": 2, "epochs": 10, "lr": 0.1,
                                         "optimizer": "adam"}
    assert env["SM_HP_EPOCHS"] == "10" and env["SM_HP_OPTIMIZER"] == "adam"
    assert env["SM_HP_LR"] == "0.1"
    assert json.loads(env["SM_USER_ARGS"]) == sagemaker.user_args(sm_plan())
    assert env["SM_NUM_CPUS"] == "2" and env["SM_NUM_GPUS"] == "0"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"] and env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_MODULE_DIR"] == "/opt/ml/code" and env["SM_MODULE_NAME"] == "train"
    assert env["SM_USER_ENTRY_POINT"] == "train.py" and env["SAGEMAKER_PROGRAM"] == "train.py"
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["channel_input_dirs"]["train"] == "/opt/ml/input/data/train"
    assert training_env["hyperparameters"]["epochs"] == 10
    assert training_env["job_name"] == "sm-job"
    assert env["SAGEMAKER_BASE_DIR"] == "/opt/ml"
    # No ModelArts channel variables or arguments under this contract.
    assert "train" not in env and "model" not in env


def test_config_files_hold_strings_channels_and_one_host(tmp_path: Path) -> None:
    opt = tmp_path / "opt-ml"
    sagemaker.create_tree(opt)
    sagemaker.write_config(sm_plan(flavor_id="modelarts.vm.cpu.2u"), opt)
    config = opt / "input" / "config"
    hps = json.loads((config / "hyperparameters.json").read_text())
    assert hps == {"lr": "0.1", "epochs": "10", "optimizer": "adam", "amp": "True", "b": "2"}
    assert set(json.loads((config / "inputdataconfig.json").read_text())) == {"train", "test"}
    resources = json.loads((config / "resourceconfig.json").read_text())
    assert resources["current_host"] == "algo-1" and resources["hosts"] == ["algo-1"]
    assert resources["current_instance_type"] == "modelarts.vm.cpu.2u"
    for sub in ("model", "output/data", "code", "input/data"):
        assert (opt / sub).is_dir()


def test_config_files_replace_what_an_earlier_attempt_left(tmp_path: Path) -> None:
    """A restarted job finds its last attempt's tree: a symlink there is replaced, never
    written through."""
    opt = tmp_path / "opt-ml"
    sagemaker.create_tree(opt)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (opt / "input" / "config" / "hyperparameters.json").symlink_to(victim)
    sagemaker.write_config(sm_plan(), opt)
    assert victim.read_text() == "keep"
    assert not (opt / "input" / "config" / "hyperparameters.json").is_symlink()

    (opt / "model").rmdir()
    (opt / "model").symlink_to(victim.parent)
    sagemaker.create_tree(opt)
    assert (opt / "model").is_dir() and not (opt / "model").is_symlink()

    outside = tmp_path / "outside"
    outside.mkdir()
    (opt / "input" / "config").rename(tmp_path / "old-config")
    (opt / "input" / "config").symlink_to(outside)
    sagemaker.write_config(sm_plan(), opt)
    assert list(outside.iterdir()) == []
    assert (opt / "input" / "config" / "resourceconfig.json").is_file()


def test_the_failure_file_is_written_unless_the_code_wrote_its_own(tmp_path: Path) -> None:
    opt = tmp_path / "opt-ml"
    sagemaker.create_tree(opt)
    assert sagemaker.record_failure(opt, "Process exited with code 1", "ValueError: x") == ""
    text = (opt / "output" / "failure").read_text()
    assert text.startswith("Process exited with code 1") and "ValueError: x" in text

    (opt / "output" / "failure").write_text("bad learning rate " + "x" * 5000)
    own = sagemaker.record_failure(opt, "Process exited with code 1", "")
    assert own.startswith("bad learning rate") and len(own) == sagemaker.FAILURE_LIMIT


def test_a_failure_fifo_or_symlink_is_not_followed(tmp_path: Path) -> None:
    opt = tmp_path / "opt-ml"
    sagemaker.create_tree(opt)
    secret = tmp_path / "secret"
    secret.write_text("host secret")
    (opt / "output" / "failure").symlink_to(secret)
    assert sagemaker.record_failure(opt, "failed", "") == ""
    assert secret.read_text() == "host secret"
    (opt / "output" / "failure").unlink()
    os.mkfifo(opt / "output" / "failure")
    assert sagemaker.record_failure(opt, "failed", "") == ""  # does not block on the FIFO
    assert (opt / "output" / "failure").read_text().startswith("failed")


def test_the_sandbox_shows_opt_ml_and_the_rest_of_opt(tmp_path: Path) -> None:
    system = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/opt", "/opt", "--ro-bind", "/etc",
              "/etc"]
    args = with_opt_ml(system, tmp_path)
    assert args[:3] == ["--ro-bind", "/usr", "/usr"]
    assert args[3:5] == ["--tmpfs", "/opt"]
    assert args[-3:] == ["--bind", str(tmp_path), "/opt/ml"]
    for name in os.listdir("/opt"):
        if name != "ml" and not (Path("/opt") / name).is_symlink():
            assert f"/opt/{name}" in args
    spec = SandboxSpec(home=tmp_path / "h", cache=tmp_path / "c", opt_ml=tmp_path)
    cmd = build_command("bwrap", spec, ["true"])
    assert cmd[cmd.index("/opt/ml") - 2:cmd.index("/opt/ml") + 1] == [
        "--bind", str(tmp_path), "/opt/ml"]
    plain = build_command("bwrap", SandboxSpec(home=tmp_path / "h", cache=tmp_path / "c"),
                          ["true"])
    assert "/opt/ml" not in plain
