"""Input and output channels (seed S4): names, access methods, remotes."""

from __future__ import annotations

from typing import Any

import pytest

from modelyard.spec import AccessMethod, InputSpec, OutputSpec, parse_algorithm, parse_job
from modelyard.spec.channels import InputBinding, OutputBinding, Remote
from spec.builders import algorithm_doc, binding, expect_error, inline_job_doc


def _with_channels(inputs: list[dict[str, Any]] | None = None,
                   outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return algorithm_doc(inputs=inputs or [], outputs=outputs or [])


def test_channel_defaults() -> None:
    a = parse_algorithm(_with_channels([{"name": "data_url"}], [{"name": "train_url"}]))
    (i,), (o,) = a.job_config.inputs, a.job_config.outputs
    assert i.access_method is AccessMethod.PARAMETER  # S4.2: as a hyperparameter by default
    assert o.access_method is AccessMethod.PARAMETER
    assert o.prefetch_to_local is False
    assert i.remote_constraints == []


def test_several_inputs_and_outputs() -> None:
    a = parse_algorithm(_with_channels(
        [{"name": "data_url"}, {"name": "eval-data"}],
        [{"name": "train_url"}, {"name": "LOG_DIR", "access_method": "env"}],
    ))
    assert [c.name for c in a.job_config.inputs] == ["data_url", "eval-data"]
    assert a.job_config.outputs[1].access_method is AccessMethod.ENV


@pytest.mark.parametrize("kind", ["inputs", "outputs"])
@pytest.mark.parametrize("name", ["data url", "data/url", "x" * 65, "", "数据"])
def test_channel_names_follow_s3_3(kind: str, name: str) -> None:
    doc = _with_channels(**{kind: [{"name": name}]})
    expect_error(lambda: parse_algorithm(doc), f"job_config.{kind}[0].name", name, "(seed S3.3)")


@pytest.mark.parametrize("kind", ["inputs", "outputs"])
@pytest.mark.parametrize("name", ["DATA_URL", "data_url", "_x", "X1"])
def test_env_access_with_variable_names(kind: str, name: str) -> None:
    doc = _with_channels(**{kind: [{"name": name, "access_method": "env"}]})
    channel = getattr(parse_algorithm(doc).job_config, kind)[0]
    assert channel.access_method is AccessMethod.ENV


@pytest.mark.parametrize("kind", ["inputs", "outputs"])
@pytest.mark.parametrize("name", ["data-url", "1data", "MA_DATA", "ma_data"])
def test_env_access_needs_a_variable_name(kind: str, name: str) -> None:
    doc = _with_channels(**{kind: [{"name": name, "access_method": "env"}]})
    expect_error(lambda: parse_algorithm(doc), f"job_config.{kind}[0].name", name,
                 "environment variable", "[A-Za-z_][A-Za-z0-9_]*", "MA_", "(seed S4.2)")


def test_parameter_access_allows_dashes() -> None:
    doc = _with_channels([{"name": "data-url", "access_method": "parameter"}])
    assert parse_algorithm(doc).job_config.inputs[0].name == "data-url"


def test_unknown_access_method() -> None:
    doc = _with_channels([{"name": "data_url", "access_method": "mount"}])
    expect_error(lambda: parse_algorithm(doc), "job_config.inputs[0].access_method", "mount")


def test_local_dir_is_chosen_by_the_platform() -> None:
    doc = _with_channels([{"name": "data_url", "local_dir": "/tmp/data"}])
    expect_error(lambda: parse_algorithm(doc), "job_config.inputs[0].local_dir", "/tmp/data",
                 "chosen by the platform")


def test_unknown_channel_field() -> None:
    doc = _with_channels([{"name": "data_url", "url": "obs://bkt/x"}])
    expect_error(lambda: parse_algorithm(doc), "job_config.inputs[0].url", "obs://bkt/x",
                 "unknown field")


@pytest.mark.parametrize("data_type", ["obs", "dataset", "modelarts_dataset"])
def test_remote_constraints(data_type: str) -> None:
    doc = _with_channels([{"name": "data_url", "remote_constraints": [{"data_type": data_type}]}])
    assert parse_algorithm(doc).job_config.inputs[0].remote_constraints[0].data_type == data_type


def test_remote_constraint_kind() -> None:
    doc = _with_channels([{"name": "data_url", "remote_constraints": [{"data_type": "ftp"}]}])
    expect_error(lambda: parse_algorithm(doc),
                 "job_config.inputs[0].remote_constraints[0].data_type", "ftp", "(seed S4.2)")


def test_models_directly() -> None:
    assert InputSpec(name="data_url").name == "data_url"
    assert OutputSpec(name="train_url", prefetch_to_local=True).prefetch_to_local


# --- a job's bindings: remote.obs.obs_url ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("obs://bkt/data/", "obs://bkt/data/"),
        ("/bkt/data", "obs://bkt/data"),
        ("s3://bkt/data/x.csv", "s3://bkt/data/x.csv"),
        ("file:///srv/data", "file:///srv/data"),
    ],
)
def test_binding_urls_are_normalized(url: str, normalized: str) -> None:
    b = InputBinding.model_validate(binding("data_url", url))
    assert b.remote.url == normalized


@pytest.mark.parametrize("url", ["obs://bkt/../x", "bkt/data", "http://x/y", "obs://b/x"])
def test_bad_binding_urls(url: str) -> None:
    doc = inline_job_doc(inputs=[binding("data_url", url)])
    expect_error(lambda: parse_job(doc), "algorithm.inputs[0].remote.obs.obs_url", url)


def test_binding_needs_a_remote() -> None:
    expect_error(lambda: parse_job(inline_job_doc(outputs=[{"name": "train_url"}])),
                 "algorithm.outputs[0].remote", None, "required")
    expect_error(
        lambda: parse_job(inline_job_doc(inputs=[{"name": "d", "remote": {}}])),
        "algorithm.inputs[0].remote.obs", None, "obs.obs_url",
    )


def test_dataset_remotes_name_a_version() -> None:
    """Issue 18: ``remote.dataset`` is {id, version_id}; the service resolves it."""
    doc = inline_job_doc(inputs=[{"name": "d", "remote": {"dataset": {"id": "ds"}}}])
    expect_error(lambda: parse_job(doc), "algorithm.inputs[0].remote.dataset.version_id",
                 None, "required")
    both = {"obs": {"obs_url": "/bkt/x"}, "dataset": {"id": "ds", "version_id": "v"}}
    expect_error(lambda: parse_job(inline_job_doc(inputs=[{"name": "d", "remote": both}])),
                 "algorithm.inputs[0].remote.dataset", "ds", "not both")
    remote = Remote.model_validate({"dataset": {"id": "ds", "version_id": "v1"}})
    assert remote.dataset is not None and remote.dataset.version_id == "v1"
    assert Remote.model_validate({"obs": {"obs_url": "/bkt/x"}}).url == "obs://bkt/x"


@pytest.mark.parametrize("name", ["data url", "", "x" * 65])
def test_binding_names(name: str) -> None:
    doc = inline_job_doc(inputs=[binding(name)])
    expect_error(lambda: parse_job(doc), "algorithm.inputs[0].name", name, "(seed S3.3)")


def test_output_binding_prefetch() -> None:
    b = OutputBinding.model_validate(binding("train_url", prefetch_to_local=True))
    assert b.prefetch_to_local is True
    assert OutputBinding.model_validate(binding("train_url")).prefetch_to_local is None
