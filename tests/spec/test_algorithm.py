"""Algorithms: modes (S1), boot file (S2.1), custom image command (S2.5), unique channel
names, environments, warnings (S3.9)."""

from __future__ import annotations

from typing import Any

import pytest

from modelyard.spec import Algorithm, Mode, parse_algorithm
from modelyard.spec.algorithm import resolve_boot_file
from spec.builders import algorithm_doc, expect_error, param

CUSTOM_IMAGE = {"image_url": "swr.example.com/team/trainer:1.0"}
PRESET_ON_IMAGE = {
    "engine_name": "PyTorch", "engine_version": "custom",
    "image_url": "swr.example.com/team/torch-custom:1.0",
}


# --- modes (S1) ------------------------------------------------------------------------


def test_preset_engine() -> None:
    a = parse_algorithm(algorithm_doc())
    assert a.job_config.mode is Mode.PRESET
    assert a.job_config.code_dir == "obs://bkt/code/"
    assert a.job_config.boot_file == "train.py"
    assert a.code_location is not None and a.code_location.name == "code"


def test_preset_engine_on_a_custom_image() -> None:  # S1.3 / S2.4
    a = parse_algorithm(algorithm_doc(engine=PRESET_ON_IMAGE))
    assert a.job_config.mode is Mode.PRESET_CUSTOM_IMAGE


def test_fully_custom_image() -> None:  # S1.4 / S2.5
    a = parse_algorithm(algorithm_doc(
        engine=CUSTOM_IMAGE, code_dir=None, boot_file=None,
        command="cd ${MA_JOB_DIR}/demo-code && python train.py; echo done",
    ))
    assert a.job_config.mode is Mode.CUSTOM_IMAGE
    assert a.job_config.code_dir is None
    assert a.code_location is None


def test_custom_image_with_code_dir() -> None:
    a = parse_algorithm(algorithm_doc(engine=CUSTOM_IMAGE, boot_file=None,
                                      command="bash ${MA_JOB_DIR}/code/main.sh"))
    assert a.job_config.code_dir == "obs://bkt/code/"


@pytest.mark.parametrize("command", [None, "", "   "])
def test_custom_image_needs_a_command(command: str | None) -> None:
    doc = algorithm_doc(engine=CUSTOM_IMAGE, boot_file=None)
    doc["job_config"]["command"] = command
    expect_error(lambda: parse_algorithm(doc), "job_config.command", command,
                 "boot command is required for a custom image", "(seed S2.5)")


def test_custom_image_boot_file_does_not_replace_the_command() -> None:
    doc = algorithm_doc(engine=CUSTOM_IMAGE)  # code_dir + boot_file, but no command
    expect_error(lambda: parse_algorithm(doc), "job_config.command", None, "(seed S2.5)")


@pytest.mark.parametrize("engine", [{}, {"engine_name": "PyTorch"}, {"engine_version": "2.1"}])
def test_incomplete_engine(engine: dict[str, Any]) -> None:
    expect_error(lambda: parse_algorithm(algorithm_doc(engine=engine)), "job_config.engine",
                 engine, "engine_id, or engine_name + engine_version, or an image_url")


def test_engine_id_alone_is_an_engine() -> None:  # ModelArts accepts it; the catalog resolves it
    a = parse_algorithm(algorithm_doc(engine={"engine_id": "python-3.11"}))
    assert a.job_config.mode is Mode.PRESET
    assert a.job_config.engine is not None and a.job_config.engine.engine_id == "python-3.11"


def test_a_malformed_image_url_names_the_field() -> None:
    doc = algorithm_doc(engine={"image_url": "swr.example.com/Team/Trainer:1"},
                        code_dir=None, boot_file=None, command="true")
    expect_error(lambda: parse_algorithm(doc), "job_config.engine.image_url",
                 "swr.example.com/Team/Trainer:1", "repository path is lower-case")


def test_preset_needs_a_code_dir() -> None:
    expect_error(lambda: parse_algorithm(algorithm_doc(code_dir=None, boot_file=None)),
                 "job_config.code_dir", None, "needs a code directory", "(seed S2.1)")


@pytest.mark.parametrize("engine", [None, PRESET_ON_IMAGE])
def test_preset_needs_a_boot_file(engine: dict[str, Any] | None) -> None:
    doc = algorithm_doc(boot_file=None, engine=engine)  # engine None: no engine at all
    expect_error(lambda: parse_algorithm(doc), "job_config.boot_file", None,
                 "needs a boot file", "(seed S2.1)")


def test_preset_may_use_a_command_instead() -> None:
    a = parse_algorithm(algorithm_doc(boot_file=None, command="python train.py"))
    assert a.job_config.boot_file is None
    assert a.job_config.mode is Mode.PRESET


def test_bad_code_dir() -> None:
    expect_error(lambda: parse_algorithm(algorithm_doc(code_dir="obs://bkt/../x")),
                 "job_config.code_dir", "obs://bkt/../x", "'..'")


def test_code_dir_forms_are_normalized_to_a_directory() -> None:
    for raw in ("/bkt/code", "obs://bkt/code", "obs://bkt/code/"):
        assert parse_algorithm(algorithm_doc(code_dir=raw)).job_config.code_dir == \
            "obs://bkt/code/"


# --- boot file (S2.1, docs/contract.md paths) -------------------------------------------------


@pytest.mark.parametrize(
    ("code_dir", "boot_file", "relative"),
    [
        ("obs://bkt/code", "train.py", "train.py"),
        ("obs://bkt/code", "sub/dir/train.py", "sub/dir/train.py"),
        ("obs://bkt/code", "./train.py", "train.py"),
        ("obs://bkt/code", "obs://bkt/code/train.py", "train.py"),
        ("obs://bkt/code/", "obs://bkt/code/sub/train.py", "sub/train.py"),
        ("obs://bkt/code", "/bkt/code/train.py", "train.py"),  # ModelArts short form
        ("/bkt/code", "obs://bkt/code/train.py", "train.py"),
        ("/bkt/code", "/bkt/code/train.py", "train.py"),
        ("s3://bkt/code", "s3://bkt/code/train.py", "train.py"),
        ("file:///opt/code", "file:///opt/code/train.py", "train.py"),
        ("file:///opt/code", "train.py", "train.py"),
        ("obs://bkt", "obs://bkt/train.py", "train.py"),  # the code directory is the bucket
        ("obs://bkt/training-test/demo-code", "/bkt/training-test/demo-code/train.py",
         "train.py"),
    ],
)
def test_boot_file_inside_code_dir(code_dir: str, boot_file: str, relative: str) -> None:
    a = parse_algorithm(algorithm_doc(code_dir=code_dir, boot_file=boot_file))
    assert a.job_config.boot_file == relative


@pytest.mark.parametrize(
    ("code_dir", "boot_file"),
    [
        ("obs://bkt/code", "../x.py"),
        ("obs://bkt/code", "../code/x.py"),
        ("obs://bkt/code", "sub/../../x.py"),
        ("obs://bkt/code", "sub/../x.py"),
        ("obs://bkt/code", "a//x.py"),
        ("obs://bkt/code", "./../x.py"),
        ("obs://bkt/code", "obs://bkt/other/x.py"),
        ("obs://bkt/code", "obs://bkt/codex/x.py"),  # shares the prefix, not the directory
        ("obs://bkt/code", "obs://bkt/x.py"),  # the parent
        ("obs://bkt/code", "obs://other-bkt/code/x.py"),  # another bucket
        ("obs://bkt/code", "s3://bkt/code/x.py"),  # another store
        ("obs://bkt/code", "/bkt/other/x.py"),
        ("obs://bkt/code", "/train.py"),
        ("obs://bkt/code", "file:///bkt/code/x.py"),
        ("/bkt/code", "/other/code/x.py"),
        ("s3://bkt/code", "obs://bkt/code/x.py"),
        ("file:///opt/code", "file:///opt/other/x.py"),
        ("file:///opt/code", "file:///opt/codex/x.py"),
        ("file:///opt/code", "obs://bkt/opt/code/x.py"),
    ],
)
def test_boot_file_outside_code_dir(code_dir: str, boot_file: str) -> None:
    doc = algorithm_doc(code_dir=code_dir, boot_file=boot_file)
    expect_error(lambda: parse_algorithm(doc), "job_config.boot_file", boot_file,
                 "must lie inside the code directory", "(seed S2.1)")


@pytest.mark.parametrize(
    "boot_file",
    ["obs://bkt/code/../x.py", "/bkt/code/../x.py", "s3://bkt/code/./x.py",
     "file:///opt/code/../x.py", "obs://bkt/code//x.py"],
)
def test_boot_file_escape_in_a_full_location(boot_file: str) -> None:
    code_dir = "file:///opt/code" if boot_file.startswith("file") else (
        "s3://bkt/code" if boot_file.startswith("s3") else "obs://bkt/code")
    expect_error(lambda: parse_algorithm(algorithm_doc(code_dir=code_dir, boot_file=boot_file)),
                 "job_config.boot_file", boot_file, "without empty, '.' or '..' components")


@pytest.mark.parametrize(
    "boot_file",
    ["train.sh", "train", "train.py.bak", "train.PY", "train.pyc", "obs://bkt/code/main.sh",
     "/bkt/code/train.ipynb", "sub/"],
)
def test_boot_file_ends_in_py(boot_file: str) -> None:
    expect_error(lambda: parse_algorithm(algorithm_doc(boot_file=boot_file)),
                 "job_config.boot_file", boot_file, "ends in .py", "(seed S2.1)")


def test_boot_file_needs_a_code_dir() -> None:
    doc = algorithm_doc(engine=CUSTOM_IMAGE, code_dir=None, command="python x.py")
    expect_error(lambda: parse_algorithm(doc), "job_config.boot_file", "train.py",
                 "needs a code directory", "(seed S2.1)")


def test_resolve_boot_file_directly() -> None:
    assert resolve_boot_file("obs://bkt/code/", "obs://bkt/code/a/b.py", "f") == "a/b.py"
    assert resolve_boot_file("obs://bkt/code/", None, "f") is None
    assert resolve_boot_file("obs://bkt/code/", "", "f") is None
    expect_error(lambda: resolve_boot_file("obs://bkt/code/", "../b.py", "boot"), "boot",
                 "../b.py", "inside the code directory obs://bkt/code/")


# --- names unique across hyperparameters, inputs and outputs ---------------------------


@pytest.mark.parametrize(
    ("parameters", "inputs", "outputs", "field", "other"),
    [
        (["data_url"], ["data_url"], [], "job_config.inputs[0].name", "parameters[0]"),
        (["lr"], [], ["lr"], "job_config.outputs[0].name", "parameters[0]"),
        ([], ["x", "train_url"], ["train_url"], "job_config.outputs[0].name", "inputs[1]"),
        (["lr", "lr"], [], [], "job_config.parameters[1].name", "parameters[0]"),
        ([], ["d", "d"], [], "job_config.inputs[1].name", "inputs[0]"),
        ([], [], ["o", "o"], "job_config.outputs[1].name", "outputs[0]"),
    ],
)
def test_names_are_unique_across_kinds(
    parameters: list[str], inputs: list[str], outputs: list[str], field: str, other: str
) -> None:
    doc = algorithm_doc(
        parameters=[param(n) for n in parameters],
        inputs=[{"name": n} for n in inputs],
        outputs=[{"name": n} for n in outputs],
    )
    expect_error(lambda: parse_algorithm(doc), field, _name_at(doc, field),
                 f"already used by {other}", "unique across hyperparameters, inputs and outputs")


def _name_at(doc: dict[str, Any], field: str) -> str:
    kind, index = field.split(".")[1].rstrip("]").split("[")
    return str(doc["job_config"][kind][int(index)]["name"])


def test_names_differing_in_case_are_distinct() -> None:
    doc = algorithm_doc(parameters=[param("lr")], inputs=[{"name": "LR"}])
    assert parse_algorithm(doc).job_config.inputs[0].name == "LR"


# --- environments ----------------------------------------------------------------------


def test_algorithm_environments() -> None:
    a = parse_algorithm(algorithm_doc(environments={"OMP_NUM_THREADS": 4, "DEBUG": True}))
    assert a.job_config.environments == {"OMP_NUM_THREADS": "4", "DEBUG": "True"}


def test_too_many_environments() -> None:
    envs = {f"V{i}": "1" for i in range(101)}
    expect_error(lambda: parse_algorithm(algorithm_doc(environments=envs)),
                 "job_config.environments", 101, "at most 100")


def test_environment_may_not_shadow_an_env_channel() -> None:
    doc = algorithm_doc(inputs=[{"name": "DATA", "access_method": "env"}],
                        environments={"DATA": "/x"})
    expect_error(lambda: parse_algorithm(doc), "job_config.environments.DATA", "/x",
                 "environment variable of channel 'DATA'", "(seed S4.2)")
    doc["job_config"]["inputs"][0]["access_method"] = "parameter"
    assert parse_algorithm(doc).job_config.environments == {"DATA": "/x"}


# --- warnings (S3.9) ------------------------------------------------------------------


def test_secret_looking_hyperparameters_warn() -> None:
    a = parse_algorithm(algorithm_doc(parameters=[
        param("lr", "0.1", "Float"), param("db_password"), param("task"), param("mask"),
        param("obs_ak"), param("api_token", None, "String", sensitive=True),
    ]))
    warnings = a.warnings()
    assert len(warnings) == 2
    assert warnings[0].startswith("job_config.parameters[1].name: 'db_password' looks like a")
    assert warnings[1].startswith("job_config.parameters[4].name: 'obs_ak'")
    assert all("(seed S3.9)" in w for w in warnings)


@pytest.mark.parametrize("name", ["password", "secret", "token", "ak", "sk"])
def test_each_secret_word_warns(name: str) -> None:
    assert len(parse_algorithm(algorithm_doc(parameters=[param(name)])).warnings()) == 1


def test_no_warnings_for_ordinary_algorithms() -> None:
    a = parse_algorithm(algorithm_doc(parameters=[param("task"), param("mask"),
                                                  param("max_tokens", "5", "Integer")]))
    assert a.warnings() == []


# --- storage round trip ----------------------------------------------------------------


def test_stored_form_round_trips() -> None:
    """The service stores ``model_dump(mode="json", exclude_none=True)`` and parses it again."""
    doc = algorithm_doc(
        code_dir="/bkt/code",
        boot_file="obs://bkt/code/sub/train.py",
        parameters=[
            param("lr", "0.1", "Float", valid_type="Range", valid_range=["0", "1"]),
            param("epochs", None, "Integer", required=True),
            param("opt", "adam", "String", valid_type="Enum", valid_range=["adam", "sgd"]),
            param("amp", "true", "Boolean", editable=False),
        ],
        inputs=[{"name": "data_url", "description": "训练数据。",
                 "remote_constraints": [{"data_type": "obs"}]}],
        outputs=[{"name": "train_url", "prefetch_to_local": True},
                 {"name": "LOGS", "access_method": "env"}],
        environments=[{"A": 1}],
        parameters_customization=True,
    )
    doc["metadata"]["description"] = "A demo, 演示。"
    a = parse_algorithm(doc)
    stored = a.model_dump(mode="json", exclude_none=True)
    again = parse_algorithm(stored)
    assert again == a
    assert isinstance(again, Algorithm)
    assert again.job_config.boot_file == "sub/train.py"
    assert again.job_config.parameters[0].constraint.valid_range == [0.0, 1.0]
