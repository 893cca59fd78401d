"""``ma-cli ma-job submit`` job files as ``modelyard job submit`` reads them (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from modelyard.spec import parse_job, resolve_job
from modelyard.spec.algorithm import Mode
from modelyard.spec.errors import SpecError
from modelyard.spec.macli import from_ma_cli, is_ma_cli_document
from spec.builders import expect_error

PRESET = yaml.safe_load("""
name: mnist-train
description: train mnist
code-dir: obs://your-bucket/mnist/code/
boot-file: main.py
framework-type: PyTorch
framework-version: pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64
working-dir: /home/ma-user/modelarts/user-job-dir/code
data-url: obs://your-bucket/mnist/dataset/MNIST/
log-url: obs://your-bucket/mnist/logs/
train-instance-type: modelarts.vm.cpu.8u
train-instance-count: 1
pool-id: pool-abc
output:
  - name: output_dir
    path: obs://your-bucket/mnist/output1/
input:
  - name: extra_url
    path: obs://your-bucket/mnist/extra/
parameters:
  - epoch: 10
  - learning_rate: 0.01
  - pretrained:
env-variables:
  - USER_ENV_VAR: customize environment variable
""")


def test_a_preset_engine_job_file_becomes_a_v2_job() -> None:
    assert is_ma_cli_document(PRESET)
    body, notes = from_ma_cli(PRESET)
    job = parse_job(body)
    plan = resolve_job(job, None)
    assert job.metadata.name == "mnist-train" and job.metadata.description == "train mnist"
    assert plan.mode is Mode.PRESET and plan.boot_file == "main.py"
    assert plan.code_dir == "obs://your-bucket/mnist/code/"
    assert plan.engine is not None and plan.engine.engine_name == "PyTorch"
    assert plan.working_dir == "/home/ma-user/modelarts/user-job-dir/code"
    assert plan.hyperparameters == [("epoch", "10"), ("learning_rate", "0.01")]
    assert [(c.name, c.url) for c in plan.inputs] == [
        ("data_url", "obs://your-bucket/mnist/dataset/MNIST/"),
        ("extra_url", "obs://your-bucket/mnist/extra/")]
    assert [(c.name, c.url) for c in plan.outputs] == [
        ("output_dir", "obs://your-bucket/mnist/output1/")]
    assert plan.environments == {"USER_ENV_VAR": "customize environment variable"}
    assert plan.flavor_id == "modelarts.vm.cpu.8u" and plan.node_count == 1
    assert any(n.startswith("pool-id: ignored") for n in notes)
    assert any(n.startswith("log-url:") for n in notes)


def test_a_custom_image_job_file_with_the_other_spellings() -> None:
    doc: dict[str, Any] = {
        "image-url": "swr.example/atelier/pytorch:1.8", "code-dir": "obs://bkt/code/",
        "user-command": "python ${MA_JOB_DIR}/code/main.py", "uid": 1000,
        "hyperparameters": {"lr": 0.1}, "envs": {"A": 1},
        "train-instance-count": "2",
    }
    plan = resolve_job(parse_job(from_ma_cli(doc)[0]), None)
    assert plan.mode is Mode.CUSTOM_IMAGE and plan.command == doc["user-command"]
    assert plan.hyperparameters == [("lr", "0.1")] and plan.environments == {"A": "1"}
    assert plan.node_count == 2
    cmdline = {"code-dir": "obs://bkt/code/", "boot-file": "t.py",
               "parameters": "--epochs=3 --lr 0.5 --name 'a b'"}
    assert resolve_job(parse_job(from_ma_cli(cmdline)[0]), None).hyperparameters == [
        ("epochs", "3"), ("lr", "0.5"), ("name", "a b")]


def test_a_v2_job_file_is_not_mistaken_for_one() -> None:
    assert not is_ma_cli_document({"metadata": {"name": "x"}, "algorithm": {}})


@pytest.mark.parametrize(("changes", "field", "phrase"), [
    ({"code_dir": "obs://bkt/c/"}, "code_dir", "not an option of ma-cli ma-job submit"),
    ({"uid": 0}, "uid", "uid 1000"),
    ({"local-code-dir": "./code"}, "local-code-dir", "modelyard storage cp -r"),
    ({"train-instance-count": "two"}, "train-instance-count", "whole number"),
    ({"input": [{"name": "x"}]}, "input[0]", "name and path"),
    ({"parameters": ["epochs"]}, "parameters[0]", "one 'name: value' entry"),
    ({"parameters": "epochs=3"}, "parameters", "only keyword parameters"),
    ({"input": [{"name": "data_url", "path": "obs://bkt/d/"}]}, "data-url", "give it once"),
    ({"envs": {"A": "1"}, "env-variables": {"B": "2"}}, "envs", "not both"),
    ({"boot-file": ["a.py"]}, "boot-file", "single value"),
])
def test_bad_job_files_are_refused_naming_the_key(changes: dict[str, Any], field: str,
                                                   phrase: str) -> None:
    doc = {**PRESET, **changes}
    with pytest.raises(SpecError) as info:
        from_ma_cli(doc)
    assert info.value.field == field and phrase in info.value.rule, info.value.message


def test_rules_of_the_job_still_apply() -> None:
    """The converted body meets every job rule: a boot file must end in .py (S2.1)."""
    body, _ = from_ma_cli({**PRESET, "boot-file": "main.sh"})
    expect_error(lambda: resolve_job(parse_job(body), None), "algorithm.boot_file",
                 "main.sh", "ends in .py")
