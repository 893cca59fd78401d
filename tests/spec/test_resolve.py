"""Resolving a job against its algorithm into a RunPlan: S3.5-S3.7, custom hyperparameters,
channel bindings (S4), environments."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.spec import (
    AccessMethod,
    Algorithm,
    Mode,
    RunPlan,
    SpecError,
    parse_algorithm,
    parse_job,
    resolve_job,
)
from spec.builders import (
    algorithm_doc,
    binding,
    expect_error,
    inline_job_doc,
    job_doc,
    param,
    quick,
)


def make_algorithm(**job_config: Any) -> Algorithm:
    """lr, epochs (required), opt, amp, seed (no default); data_url in; train_url out."""
    defaults: dict[str, Any] = {
        "parameters": [
            param("lr", "0.1", "Float", valid_type="Range", valid_range=[0, 1]),
            param("epochs", 10, "Integer", required=True),
            param("opt", "adam", "String", valid_type="Enum", valid_range=["adam", "sgd"]),
            param("amp", "false", "Boolean"),
            param("seed", None, "Integer"),
        ],
        "inputs": [{"name": "data_url"}],
        "outputs": [{"name": "train_url", "prefetch_to_local": True}],
    }
    defaults.update(job_config)
    return parse_algorithm(algorithm_doc(**defaults))


def bound(**algorithm: Any) -> dict[str, Any]:
    """A job for make_algorithm() with its channels bound; keyword arguments override."""
    body: dict[str, Any] = {
        "inputs": [binding("data_url", "/bkt/data")],
        "outputs": [binding("train_url", "obs://bkt/out")],
    }
    body.update(algorithm)
    return job_doc(**body)


def plan_of(job: dict[str, Any], algorithm: Algorithm | None = None) -> RunPlan:
    return resolve_job(parse_job(job), algorithm or make_algorithm())


def values(*pairs: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"name": n, "value": v} for n, v in pairs]


# --- defaults and values (S3.5) ---------------------------------------------------------


def test_defaults_are_used_when_the_job_sets_nothing() -> None:
    plan = plan_of(bound())
    assert plan.hyperparameters == [
        ("lr", "0.1"), ("epochs", "10"), ("opt", "adam"), ("amp", "False"),
    ]  # seed has no default and no value: not passed
    assert plan.mode is Mode.PRESET
    assert plan.code_dir == "obs://bkt/code/"
    assert plan.boot_file == "train.py"
    assert plan.job_name == "job-1"


def test_job_values_are_coerced_and_rendered() -> None:
    plan = plan_of(bound(parameters=values(
        ("amp", "true"), ("lr", "0.5"), ("epochs", 20.0), ("seed", "42"), ("opt", "sgd"),
    )))
    assert plan.hyperparameters == [  # in definition order, not the job's order
        ("lr", "0.5"), ("epochs", "20"), ("opt", "sgd"), ("amp", "True"), ("seed", "42"),
    ]


@pytest.mark.parametrize("spelling", ["true", "True", "1", 1, True, "TRUE"])
def test_booleans_render_as_true(spelling: Any) -> None:
    plan = plan_of(bound(parameters=values(("amp", spelling))))
    assert ("amp", "True") in plan.hyperparameters


@pytest.mark.parametrize("spelling", ["false", "False", "0", 0, False])
def test_booleans_render_as_false(spelling: Any) -> None:
    plan = plan_of(bound(parameters=values(("amp", spelling))))
    assert ("amp", "False") in plan.hyperparameters


# --- constraints on job values (S3.4, S3.6) ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("lr", 1.5, "must lie in [0.0, 1.0]"),
        ("lr", "-0.1", "must lie in [0.0, 1.0]"),
        ("lr", "nan", "finite number"),
        ("lr", "inf", "finite number"),
        ("lr", "fast", "finite number"),
        ("epochs", 1.5, "whole number"),
        ("epochs", "abc", "whole number"),
        ("epochs", True, "whole number"),
        ("opt", "rmsprop", "one of: adam, sgd"),
        ("amp", "yes", "true, false, True, False, 1 or 0"),
        ("seed", "0x10", "whole number"),
    ],
)
def test_job_values_obey_type_and_constraint(name: str, value: Any, phrase: str) -> None:
    first = ("opt", "sgd") if name != "opt" else ("lr", "0.2")
    job = bound(parameters=values(first, (name, value)))
    expect_error(lambda: plan_of(job), "algorithm.parameters[1].value", value, phrase)


@quick
@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_range_decides_every_float(x: float) -> None:
    job = parse_job(bound(parameters=values(("lr", x))))
    algorithm = make_algorithm()
    if 0 <= x <= 1:
        plan = resolve_job(job, algorithm)
        assert float(dict(plan.hyperparameters)["lr"]) == x
    else:
        with pytest.raises(SpecError, match=r"seed S3\.6"):
            resolve_job(job, algorithm)


# --- removal and required (S3.7) --------------------------------------------------------


def test_null_removes_an_optional_hyperparameter() -> None:
    plan = plan_of(bound(parameters=values(("lr", None), ("amp", None))))
    assert [n for n, _ in plan.hyperparameters] == ["epochs", "opt"]


def test_required_cannot_be_removed() -> None:
    job = bound(parameters=values(("lr", "0.2"), ("epochs", None)))
    expect_error(lambda: plan_of(job), "algorithm.parameters[1].value", None,
                 "'epochs' is required and cannot be removed", "(seed S3.7)")


def test_required_without_default_needs_a_value() -> None:
    algorithm = make_algorithm(parameters=[param("epochs", None, "Integer", required=True)])
    expect_error(lambda: plan_of(bound(), algorithm), "algorithm.parameters", "epochs",
                 "'epochs' is required and has no default")
    expect_error(lambda: plan_of(bound(parameters=values(("epochs", None))), algorithm),
                 "algorithm.parameters[0].value", None, "cannot be removed")
    plan = plan_of(bound(parameters=values(("epochs", "3"))), algorithm)
    assert plan.hyperparameters == [("epochs", "3")]


def test_not_editable_keeps_its_value() -> None:
    algorithm = make_algorithm(parameters=[param("arch", "resnet50", editable=False),
                                           param("lr", "0.1", "Float", editable=False)])
    expect_error(lambda: plan_of(bound(parameters=values(("arch", "vgg"))), algorithm),
                 "algorithm.parameters[0].value", "vgg", "'arch' is not editable",
                 "its value is resnet50")
    plan = plan_of(bound(parameters=values(("arch", "resnet50"), ("lr", "0.10"))), algorithm)
    assert plan.hyperparameters == [("arch", "resnet50"), ("lr", "0.1")]


def test_not_editable_cannot_be_removed() -> None:
    algorithm = make_algorithm(parameters=[param("arch", "resnet50", editable=False),
                                           param("tag", None, editable=False)])
    expect_error(lambda: plan_of(bound(parameters=values(("arch", None))), algorithm),
                 "algorithm.parameters[0].value", None, "'arch' is not editable",
                 "cannot be removed")
    plan = plan_of(bound(parameters=values(("tag", None))), algorithm)  # nothing to keep
    assert plan.hyperparameters == [("arch", "resnet50")]


def test_a_hyperparameter_is_set_once() -> None:
    job = bound(parameters=values(("lr", "0.1"), ("lr", "0.2")))
    expect_error(lambda: plan_of(job), "algorithm.parameters[1].name", "lr", "at most once")


# --- unknown hyperparameters and parameters_customization --------------------------------


def test_unknown_hyperparameters_are_refused() -> None:
    job = bound(parameters=values(("lr", "0.1"), ("momentum", "0.9")))
    expect_error(lambda: plan_of(job), "algorithm.parameters[1].name", "momentum",
                 "defines no such hyperparameter", "lr, epochs, opt, amp, seed",
                 "parameters_customization")


def test_unknown_hyperparameters_with_customization() -> None:
    algorithm = make_algorithm(parameters_customization=True)
    plan = plan_of(bound(parameters=values(("momentum", 0.9), ("lr", "0.2"), ("flag", True),
                                           ("gone", None))), algorithm)
    assert plan.hyperparameters[-2:] == [("momentum", "0.9"), ("flag", "True")]
    assert ("lr", "0.2") in plan.hyperparameters


@pytest.mark.parametrize("name", ["data_url", "train_url"])
def test_custom_hyperparameters_may_not_reuse_channel_names(name: str) -> None:
    algorithm = make_algorithm(parameters_customization=True)
    job = bound(parameters=values(("lr", "0.1"), (name, "x")))
    kind = "input" if name == "data_url" else "output"
    expect_error(lambda: plan_of(job, algorithm), "algorithm.parameters[1].name", name,
                 f"already used by {kind} channel {name!r}", "unique across hyperparameters")


def test_custom_hyperparameter_names_follow_s3_3() -> None:
    job = bound(parameters=values(("learning rate", "0.1")))
    expect_error(lambda: parse_job(job), "algorithm.parameters[0].name", "learning rate",
                 "(seed S3.3)")


# --- channels (S4) ---------------------------------------------------------------------


def test_channel_plans() -> None:
    plan = plan_of(bound())
    (i,), (o,) = plan.inputs, plan.outputs
    assert (i.name, i.url, i.access_method) == ("data_url", "obs://bkt/data", "parameter")
    assert (o.name, o.url, o.prefetch_to_local) == ("train_url", "obs://bkt/out/", True)


def test_job_may_override_prefetch_and_access_method() -> None:
    job = bound(
        inputs=[binding("data_url", "s3://bkt/d.csv", access_method="env")],
        outputs=[binding("train_url", "obs://bkt/out/", prefetch_to_local=False)],
    )
    plan = plan_of(job)
    assert plan.inputs[0].access_method is AccessMethod.ENV
    assert plan.inputs[0].url == "s3://bkt/d.csv"
    assert plan.outputs[0].prefetch_to_local is False


@pytest.mark.parametrize("kind", ["inputs", "outputs"])
def test_switching_to_env_needs_a_variable_name(kind: str) -> None:
    algorithm = make_algorithm(inputs=[{"name": "data-url"}], outputs=[{"name": "MA_OUT"}])
    job = job_doc(inputs=[binding("data-url")], outputs=[binding("MA_OUT")])
    job["algorithm"][kind][0]["access_method"] = "env"
    name = job["algorithm"][kind][0]["name"]
    err = expect_error(lambda: plan_of(job, algorithm), f"algorithm.{kind}[0].access_method",
                       "env", f"channel {name!r}", "environment variable", "(seed S4.2)")
    assert err.value == "env"


def test_every_channel_needs_a_location() -> None:
    expect_error(lambda: plan_of(bound(inputs=[])), "algorithm.inputs", "data_url",
                 "input 'data_url' needs a location", "(seed S4.2)")
    expect_error(lambda: plan_of(bound(outputs=[])), "algorithm.outputs", "train_url",
                 "output 'train_url' needs a location", "(seed S4.3)")


def test_unknown_and_double_bindings() -> None:
    job = bound(inputs=[binding("data_url"), binding("extra")])
    expect_error(lambda: plan_of(job), "algorithm.inputs[1].name", "extra",
                 "defines no such input channel", "data_url")
    job = bound(outputs=[binding("train_url"), binding("train_url", "obs://bkt/o2")])
    expect_error(lambda: plan_of(job), "algorithm.outputs[1].name", "train_url", "bound once")


# --- environments ----------------------------------------------------------------------


def test_environments_merge_job_over_algorithm() -> None:
    algorithm = make_algorithm(environments={"A": "1", "B": "2"})
    plan = plan_of(bound(environments={"B": "3", "C": True}), algorithm)
    assert plan.environments == {"A": "1", "B": "3", "C": "True"}


def test_job_environment_rules() -> None:
    expect_error(lambda: parse_job(bound(environments={"MA_HOME": "/x"})),
                 "algorithm.environments.MA_HOME", "MA_HOME", "reserved")
    expect_error(lambda: parse_job(bound(environments={"X": "${HOME}"})),
                 "algorithm.environments.X", "${HOME}", "'$'")
    expect_error(lambda: parse_job(bound(environments={"X": "v" * 4097})),
                 "algorithm.environments.X", "v" * 4097, "4096")


def test_merged_environments_are_at_most_100() -> None:
    algorithm = make_algorithm(environments={f"A{i}": "1" for i in range(60)})
    job = bound(environments={f"J{i}": "1" for i in range(41)})
    expect_error(lambda: plan_of(job, algorithm), "algorithm.environments", 101, "at most 100")
    job = bound(environments={f"A{i}": "2" for i in range(41)})  # overrides do not add up
    assert len(plan_of(job, algorithm).environments) == 60


def test_job_environment_may_not_shadow_an_env_channel() -> None:
    job = bound(inputs=[binding("data_url", access_method="env")],
                environments={"data_url": "/elsewhere"})
    expect_error(lambda: plan_of(job), "algorithm.environments.data_url", "/elsewhere",
                 "input channel 'data_url'", "(seed S4.2)")


# --- references and inline jobs --------------------------------------------------------


def test_a_referenced_algorithm_must_exist() -> None:
    expect_error(lambda: resolve_job(parse_job(bound()), None), "algorithm.id", "algo-id",
                 "no such algorithm")


@pytest.mark.parametrize(
    ("field", "value"),
    [("code_dir", "obs://bkt/other/"), ("boot_file", "x.py"), ("command", "python x.py"),
     ("working_dir", "/tmp")],
)
def test_a_job_from_an_algorithm_runs_its_code(field: str, value: str) -> None:
    expect_error(lambda: plan_of(bound(**{field: value})), f"algorithm.{field}", value,
                 "runs that algorithm's code")


def test_inline_job() -> None:
    job = inline_job_doc(
        parameters=[{"name": "lr", "value": "0.1", "constraint": {"type": "Float"}},
                    {"name": "tag", "value": "v1"}],
        inputs=[binding("data_url", "/bkt/data/")],
        outputs=[binding("train_url", "/bkt/out", prefetch_to_local=True,
                         access_method="env")],
    )
    plan = resolve_job(parse_job(job), None)
    assert plan.hyperparameters == [("lr", "0.1"), ("tag", "v1")]
    assert plan.outputs[0].url == "obs://bkt/out/"
    assert plan.outputs[0].prefetch_to_local
    assert plan.outputs[0].access_method is AccessMethod.ENV
    assert plan.mode is Mode.PRESET


def test_inline_custom_image_job() -> None:
    job = inline_job_doc(code_dir=None, boot_file=None, command="python /opt/train.py",
                         engine={"image_url": "swr.example.com/x/y:1"})
    plan = resolve_job(parse_job(job), None)
    assert plan.mode is Mode.CUSTOM_IMAGE
    assert plan.command == "python /opt/train.py"
    assert plan.engine is not None and plan.engine.image_url == "swr.example.com/x/y:1"


def test_inline_job_needs_code() -> None:
    job = inline_job_doc(code_dir=None, boot_file=None)
    expect_error(lambda: resolve_job(parse_job(job), None), "algorithm", None,
                 "names an algorithm", "code_dir and boot_file")


@pytest.mark.parametrize(
    ("algorithm", "field", "value", "phrase"),
    [
        ({"boot_file": "../x.py"}, "algorithm.boot_file", "../x.py", "(seed S2.1)"),
        ({"boot_file": "train.sh"}, "algorithm.boot_file", "train.sh", "ends in .py"),
        ({"boot_file": "obs://bkt/other/x.py"}, "algorithm.boot_file", "obs://bkt/other/x.py",
         "inside the code directory"),
        ({"engine": {"image_url": "img:1"}}, "algorithm.command", None, "(seed S2.5)"),
        ({"parameters": [{"name": "a"}, {"name": "n", "value": "x",
                                         "constraint": {"type": "Integer"}}]},
         "algorithm.parameters[1].value", "x", "whole number"),
        ({"parameters": [{"name": "n", "value": 5, "constraint": {
            "type": "Integer", "valid_type": "Range", "valid_range": [1, 3]}}]},
         "algorithm.parameters[0].value", 5, "(seed S3.6)"),
        ({"inputs": [binding("data-url", access_method="env")]},
         "algorithm.inputs[0].name", "data-url", "(seed S4.2)"),
        ({"parameters": [{"name": "data_url", "value": "x"}],
          "inputs": [binding("data_url")]},
         "algorithm.inputs[0].name", "data_url", "already used by parameters[0]"),
        ({"inputs": [binding("d")], "outputs": [binding("d")]},
         "algorithm.outputs[0].name", "d", "already used by inputs[0]"),
    ],
)
def test_inline_job_errors_name_the_jobs_own_field(
    algorithm: dict[str, Any], field: str, value: Any, phrase: str
) -> None:
    job = parse_job(inline_job_doc(**algorithm))
    expect_error(lambda: resolve_job(job, None), field, value, phrase)


def test_inline_required_parameter_cannot_be_removed() -> None:
    job = inline_job_doc(parameters=[{"name": "n", "constraint": {"required": True}}])
    expect_error(lambda: resolve_job(parse_job(job), None), "algorithm.parameters[0].value",
                 None, "(seed S3.7)")


# --- the rest of the plan ---------------------------------------------------------------


def test_resources_and_auto_stop() -> None:
    job = bound()
    job["spec"] = {"resource": {"flavor_id": "cpu-2", "node_count": 2},
                   "auto_stop": {"enabled": True, "duration_seconds": 3600}}
    plan = plan_of(job)
    assert (plan.node_count, plan.flavor_id, plan.max_run_seconds) == (2, "cpu-2", 3600)
    job["spec"]["auto_stop"]["enabled"] = False
    assert plan_of(job).max_run_seconds is None


def test_plan_survives_json() -> None:
    """The runtime reads the plan from plan.json."""
    algorithm = make_algorithm(environments={"A": "1"})
    plan = plan_of(bound(parameters=values(("amp", 1))), algorithm)
    assert RunPlan.model_validate_json(plan.model_dump_json()) == plan
