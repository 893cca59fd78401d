"""Loading algorithms and jobs from YAML and JSON files (same field names as the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelyard.spec as spec
from modelyard.spec import (
    Algorithm,
    TrainingJob,
    load_algorithm,
    load_job,
    parse_algorithm,
    parse_job,
    resolve_job,
)
from modelyard.spec.loader import read_document
from spec.builders import algorithm_doc, binding, expect_error, param

ALGORITHM_YAML = """\
metadata:
  name: mnist-demo
  description: 手写数字识别，PyTorch 示例。
job_config:
  code_dir: /bkt/training-test/demo-code
  boot_file: /bkt/training-test/demo-code/train.py
  engine:
    engine_name: PyTorch
    engine_version: pytorch_2.1.0-cuda_12.1-py_3.10
  parameters:
    - name: lr
      value: 0.01
      description: Learning rate.
      constraint:
        type: Float
        valid_type: Range
        valid_range: [0.0001, 1]
    - name: epochs
      value: "5"
      constraint: {type: Integer, required: true}
    - name: amp
      value: false
      constraint: {type: Boolean}
  inputs:
    - name: data_url
      access_method: parameter
  outputs:
    - name: train_url
      prefetch_to_local: true
  environments:
    - OMP_NUM_THREADS: 2
"""

JOB_YAML = """\
kind: job
metadata:
  name: mnist-run-1
algorithm:
  id: mnist-demo
  parameters:
    - {name: lr, value: "0.1"}
    - {name: amp, value: True}
  inputs:
    - name: data_url
      remote: {obs: {obs_url: "obs://bkt/mnist/"}}
  outputs:
    - name: train_url
      remote: {obs: {obs_url: /bkt/runs/1}}
spec:
  resource: {flavor_id: cpu-2, node_count: 1}
"""


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_yaml_and_json_give_the_same_algorithm(tmp_path: Path) -> None:
    as_dict = yaml.safe_load(ALGORITHM_YAML)
    from_yaml = load_algorithm(_write(tmp_path, "algo.yaml", ALGORITHM_YAML))
    from_yml = load_algorithm(_write(tmp_path, "algo.yml", ALGORITHM_YAML))
    from_json = load_algorithm(_write(tmp_path, "algo.json", json.dumps(as_dict)))
    assert isinstance(from_yaml, Algorithm)
    assert from_yaml == from_yml == from_json == parse_algorithm(as_dict)
    config = from_yaml.job_config
    assert config.boot_file == "train.py"
    assert config.code_dir == "obs://bkt/training-test/demo-code/"
    assert [p.value for p in config.parameters] == [0.01, 5, False]
    assert config.environments == {"OMP_NUM_THREADS": "2"}
    assert from_yaml.warnings() == []


def test_yaml_and_json_give_the_same_job(tmp_path: Path) -> None:
    as_dict = yaml.safe_load(JOB_YAML)
    from_yaml = load_job(_write(tmp_path, "job.yaml", JOB_YAML))
    from_json = load_job(_write(tmp_path, "job.json", json.dumps(as_dict, indent=2)))
    assert isinstance(from_yaml, TrainingJob)
    assert from_yaml == from_json == parse_job(as_dict)
    plan = resolve_job(from_yaml, load_algorithm(_write(tmp_path, "a.yaml", ALGORITHM_YAML)))
    assert plan.hyperparameters == [("lr", "0.1"), ("epochs", "5"), ("amp", "True")]
    assert plan.outputs[0].url == "obs://bkt/runs/1/"


def test_json_is_also_read_as_yaml(tmp_path: Path) -> None:
    """Any file not named .json is YAML, and JSON is YAML."""
    doc = algorithm_doc()
    assert load_algorithm(_write(tmp_path, "algo.txt", json.dumps(doc))) == parse_algorithm(doc)


@pytest.mark.parametrize(
    ("name", "text", "phrase"),
    [
        ("bad.yaml", "metadata:\n  name: [unclosed\n", "is not valid yaml"),
        ("bad.yml", "a: b\n c: d\n", "is not valid yml"),
        ("bad.yaml", "metadata: {name: x\n", "is not valid yaml"),
        ("bad.yaml", "\tmetadata: x\n", "is not valid yaml"),
        ("bad.json", '{"metadata": {"name": "x"},}', "is not valid json"),
        ("bad.json", "metadata: {name: x}", "is not valid json"),
    ],
)
def test_syntax_errors(tmp_path: Path, name: str, text: str, phrase: str) -> None:
    path = _write(tmp_path, name, text)
    err = expect_error(lambda: load_algorithm(path), "file", str(path), phrase)
    assert "line" in err.rule  # the parser's position helps the user find it


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n", "42\n", "null\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, "algo.yaml", text)
    expect_error(lambda: load_algorithm(path), "file", str(path), "mapping at the top level")


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    expect_error(lambda: load_job(missing), "file", str(missing), "cannot be read")
    expect_error(lambda: read_document(tmp_path), "file", str(tmp_path), "cannot be read")
    binary = _write(tmp_path, "algo.yaml", b"metadata:\n  name: \xff\xfe\n")
    expect_error(lambda: load_algorithm(binary), "file", str(binary), "UTF-8")


def test_rule_errors_in_a_file_name_the_field(tmp_path: Path) -> None:
    text = ALGORITHM_YAML.replace("- name: epochs", "- name: num epochs")
    path = _write(tmp_path, "algo.yaml", text)
    expect_error(lambda: load_algorithm(path), "job_config.parameters[1].name", "num epochs",
                 "(seed S3.3)")
    text = ALGORITHM_YAML.replace("boot_file: /bkt/training-test/demo-code/train.py",
                                  "boot_file: ../train.py")
    path = _write(tmp_path, "algo.yaml", text)
    expect_error(lambda: load_algorithm(path), "job_config.boot_file", "../train.py",
                 "(seed S2.1)")


def test_missing_sections() -> None:
    expect_error(lambda: parse_algorithm({"metadata": {"name": "a"}}), "job_config", None,
                 "required")
    expect_error(lambda: parse_job({"metadata": {"name": "j"}}), "algorithm", None, "required")
    expect_error(lambda: parse_algorithm([1, 2]), "input", [1, 2])


def test_unknown_top_level_fields_are_ignored() -> None:
    """ModelArts responses carry more than a create request; they load as well."""
    doc: dict[str, Any] = algorithm_doc(parameters=[param("lr", "0.1", "Float")])
    doc["status"] = {"phase": "Available"}
    doc["job_config"]["parameters_customization"] = False
    doc["metadata"]["create_time"] = 1700000000000
    assert parse_algorithm(doc).metadata.create_time == 1700000000000


def test_job_bindings_accept_the_short_form() -> None:
    job = parse_job({"metadata": {"name": "j"},
                     "algorithm": {"id": "a", "inputs": [binding("data_url", "/bkt/d")]}})
    assert job.algorithm.inputs[0].remote.url == "obs://bkt/d"


def test_public_api_names() -> None:
    for name in spec.__all__:
        assert getattr(spec, name) is not None, name
    assert {"SpecError", "RunPlan", "resolve_job", "parse_algorithm", "load_job",
            "parse_location"} <= set(spec.__all__)
