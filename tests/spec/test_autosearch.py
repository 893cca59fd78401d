"""``policies.auto_search``: the ModelArts shape, our extensions, the legacy AutoSearch YAML,
and every rule that ties a search parameter to the hyperparameter it names."""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelyard.spec.autosearch import (
    SEARCH_ALGORITHMS,
    Dimension,
    algorithm_catalogue,
    default_regex,
    merge_policies,
    parse_auto_search,
    resolve_search,
    typed_params,
)
from modelyard.spec.errors import SpecError
from modelyard.spec.parameters import Constraint

HP: dict[str, Constraint | None] = {
    "learning_rate": Constraint(type="Float", valid_type="Range", valid_range=[1e-5, 1.0]),
    "hidden_size": Constraint(type="Integer", valid_type="Range", valid_range=[4, 1024]),
    "activation": Constraint(type="String", valid_type="Enum",
                             valid_range=["relu", "tanh", "logistic"]),
    "shuffle": Constraint(type="Boolean"),
    "momentum": Constraint(type="Float"),
    "fixed": Constraint(type="Float", editable=False),
    "untyped": None,
}
REWARD = [{"name": "accuracy", "mode": "max", "regex": r"accuracy=([0-9.]+)"}]


def policy(*params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"reward_attrs": REWARD, "search_params": list(params), **extra}


def dims(*params: dict[str, Any], **extra: Any) -> list[Dimension]:
    return resolve_search(parse_auto_search(policy(*params, **extra)), HP)


def error(data: dict[str, Any], hp: dict[str, Constraint | None] | None = None) -> SpecError:
    with pytest.raises(SpecError) as err:
        resolve_search(parse_auto_search(data), hp or HP)
    return err.value


# ------------------------------------------------------------------ ModelArts shape


def test_modelarts_body_with_strings_as_modelarts_sends_them() -> None:
    search = parse_auto_search({
        "skip_search_params": "",
        "reward_attrs": [{"name": "accuracy", "mode": "max", "regex": "accuracy=([0-9.]+)"}],
        "search_params": [{"name": "learning_rate", "param_type": "continuous",
                           "lower_bound": "0.0001", "upper_bound": "0.1"}],
        "algo_configs": [{"name": "bayes_opt_search", "params": [
            {"key": "num_samples", "value": "12", "type": "Integer"},
            {"key": "kind", "value": "ei", "type": "String"},
            {"key": "kappa", "value": "2.576", "type": "Float"}]}],
    })
    assert search.num_samples == 12 and search.seed == 1
    assert search.algo_params()["kind"] == "ei" and search.algo_params()["kappa"] == 2.576
    [d] = resolve_search(search, HP)
    assert d == Dimension("learning_rate", "float", low=0.0001, high=0.1)


def test_catalogue_has_the_modelarts_names_and_defaults() -> None:
    by_name = {a["name"]: {p["key"]: p["value"] for p in a["params"]}
               for a in algorithm_catalogue()}
    assert set(by_name) == {"bayes_opt_search", "tpe_search", "anneal_search",
                            "random_search", "grid_search", "cmaes_search"}
    assert by_name["tpe_search"]["gamma"] == "0.25"
    assert by_name["tpe_search"]["n_initial_points"] == "20"
    assert by_name["bayes_opt_search"]["kind"] == "ucb"
    assert by_name["anneal_search"] == {"avg_best_idx": "2.0", "shrink_coef": "0.1",
                                        "num_samples": "20", "seed": "1"}


def test_defaults_when_no_algorithm_is_named() -> None:
    search = parse_auto_search(policy({"name": "momentum", "lower_bound": 0,
                                       "upper_bound": 1}))
    assert search.algorithm.name == "tpe_search" and search.num_samples == 20
    assert search.parallel_trials == 1 and search.early_stopping is None


# -------------------------------------------------------------- each parameter type


def test_continuous_linear_log_and_points() -> None:
    lin, log, pts = dims(
        {"name": "momentum", "param_type": "continuous", "lower_bound": 0, "upper_bound": 1},
        {"name": "learning_rate", "lower_bound": 1e-4, "upper_bound": 1e-1, "scale": "log"},
        {"name": "untyped", "lower_bound": 0, "upper_bound": 1, "discrete_points_num": 5})
    [logpts] = dims({"name": "learning_rate", "lower_bound": 0.001, "upper_bound": 0.1,
                     "scale": "log", "discrete_points_num": 3})
    assert lin == Dimension("momentum", "float", low=0.0, high=1.0)
    assert log.log and log.grid() is None
    assert pts.grid() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert logpts.kind == "categorical" and logpts.choices == (0.001, 0.01, 0.1)


def test_integer_with_step_and_log() -> None:
    [d] = dims({"name": "hidden_size", "param_type": "integer", "lower_bound": 16,
                "upper_bound": 256, "step": 16})
    assert d.kind == "int" and d.grid() == list(range(16, 257, 16))
    [d] = dims({"name": "hidden_size", "param_type": "integer", "lower_bound": 8,
                "upper_bound": 512, "scale": "log"})
    assert d.log and d.step == 1


def test_discrete_and_categorical_values_are_typed_for_the_hyperparameter() -> None:
    act, shuffle, size = dims(
        {"name": "activation", "param_type": "categorical",
         "discrete_values": ["relu", "tanh"]},
        {"name": "shuffle", "param_type": "discrete", "discrete_values": ["true", "False"]},
        {"name": "hidden_size", "param_type": "discrete", "discrete_values": "32, 64, 128"})
    assert act.choices == ("relu", "tanh")
    assert shuffle.choices == (True, False)
    assert size.choices == (32, 64, 128)


def test_discrete_range_of_an_integer_is_an_integer_range() -> None:
    [d] = dims({"name": "hidden_size", "param_type": "discrete", "lower_bound": 4,
                "upper_bound": 8})
    assert d.kind == "int" and d.grid() == [4, 5, 6, 7, 8]


def test_typed_params_keep_ints_and_clean_grid_floats() -> None:
    ds = [Dimension("a", "int", low=1, high=5), Dimension("b", "float", low=0, high=1,
                                                            step=0.1)]
    assert typed_params(ds, {"a": 3.0, "b": 0.30000000000000004}) == {"a": 3, "b": 0.3}


# ------------------------------------------------------ rules against the algorithm


@pytest.mark.parametrize(("param", "field", "rule"), [
    ({"name": "lr", "lower_bound": 0, "upper_bound": 1}, "search_params[0].name",
     "names no hyperparameter of the algorithm (it defines: learning_rate, hidden_size"),
    ({"name": "learning_rate", "lower_bound": 0.1, "upper_bound": 2},
     "search_params[0].upper_bound", "allows [1e-05, 1.0]"),
    ({"name": "learning_rate", "lower_bound": 0, "upper_bound": 0.5},
     "search_params[0].lower_bound", "allows [1e-05, 1.0]"),
    ({"name": "learning_rate", "lower_bound": 0.5, "upper_bound": 0.1},
     "search_params[0].upper_bound", "above the lower bound"),
    ({"name": "momentum", "lower_bound": 0, "upper_bound": 1, "scale": "log"},
     "search_params[0].lower_bound", "log-scale"),
    ({"name": "momentum", "lower_bound": 0}, "search_params[0].upper_bound",
     "lower_bound and upper_bound"),
    ({"name": "hidden_size", "lower_bound": 8, "upper_bound": 64},
     "search_params[0].param_type", "Integer hyperparameter: search it with param_type "
     "integer"),
    ({"name": "hidden_size", "param_type": "integer", "lower_bound": 8, "upper_bound": 2000},
     "search_params[0].upper_bound", "allows [4, 1024]"),
    ({"name": "hidden_size", "param_type": "integer", "lower_bound": 8.5, "upper_bound": 64},
     "search_params[0].lower_bound", "whole number"),
    ({"name": "hidden_size", "param_type": "integer", "lower_bound": 8, "upper_bound": 60,
      "step": 16}, "search_params[0].upper_bound", "multiple of the step"),
    ({"name": "activation", "lower_bound": 0, "upper_bound": 1},
     "search_params[0].param_type", "String hyperparameter"),
    ({"name": "activation", "param_type": "discrete", "discrete_values": ["relu", "gelu"]},
     "search_params[0].discrete_values[1]", "must be one of: relu, tanh, logistic"),
    ({"name": "activation", "param_type": "discrete", "discrete_values": ["relu", "relu"]},
     "search_params[0].discrete_values[1]", "listed once"),
    ({"name": "activation", "param_type": "categorical"},
     "search_params[0].discrete_values", "lists its values"),
    ({"name": "shuffle", "param_type": "discrete", "discrete_values": ["maybe"]},
     "search_params[0].discrete_values[0]", "a Boolean is"),
    ({"name": "fixed", "lower_bound": 0, "upper_bound": 1}, "search_params[0].name",
     "not editable"),
    ({"name": "momentum", "lower_bound": 0, "upper_bound": 1, "step": 0.1},
     "search_params[0].step", "integer parameters"),
])
def test_each_search_param_respects_its_hyperparameter(param: dict[str, Any], field: str,
                                                       rule: str) -> None:
    err = error(policy(param))
    assert err.field == f"policies.auto_search.{field}", err
    assert rule in err.rule, err.rule


def test_untyped_inline_parameters_take_any_type() -> None:
    assert dims({"name": "untyped", "param_type": "integer", "lower_bound": 1,
                 "upper_bound": 3})[0].kind == "int"
    assert dims({"name": "untyped", "param_type": "categorical",
                 "discrete_values": ["a", 1]})[0].choices == ("a", 1)


def test_grid_search_needs_finite_values() -> None:
    err = error(policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
                       algo_configs=[{"name": "grid_search"}]))
    assert err.field.endswith("search_params[0].discrete_points_num")


# ------------------------------------------------------------------- policy shape


@pytest.mark.parametrize(("data", "field", "rule"), [
    ({"search_params": [{"name": "momentum", "lower_bound": 0, "upper_bound": 1}]},
     "reward_attrs", "at least one reward attribute"),
    (policy(), "search_params", "at least one search parameter"),
    ({**policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1}),
      "reward_attrs": [{"name": "acc", "regex": "acc=[0-9.]+"}]},
     "reward_attrs[0].regex", "capture group"),
    ({**policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1}),
      "reward_attrs": [{"name": "acc", "regex": "acc=(["}]}, "reward_attrs[0].regex",
     "not a valid regex"),
    ({**policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1}),
      "reward_attrs": [{"name": "acc", "mode": "up"}]}, "reward_attrs[0].mode", "max or min"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
            {"name": "momentum", "lower_bound": 0, "upper_bound": 1}),
     "search_params[1].name", "searched once"),
    (policy({"name": "momentum", "param_type": "float64"}), "search_params[0].param_type",
     "continuous, discrete, integer or categorical"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
            algo_configs=[{"name": "smac"}]), "algo_configs[0].name", "bayes_opt_search"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
            algo_configs=[{"name": "tpe_search"}, {"name": "random_search"}]),
     "algo_configs", "one algorithm"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
            algo_configs=[{"name": "tpe_search", "params": [{"key": "kappa", "value": 1}]}]),
     "algo_configs[0].params[0].key", "gamma, n_initial_points, num_samples, seed"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
            algo_configs=[{"name": "tpe_search", "params": [
                {"key": "num_samples", "value": "many"}]}]),
     "algo_configs[0].params[0].value", "whole number"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
            algo_configs=[{"name": "tpe_search", "params": [
                {"key": "gamma", "value": "0.3", "type": "Integer"}]}]),
     "algo_configs[0].params[0].type", "of type Float"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
            algo_configs=[{"name": "bayes_opt_search", "params": [
                {"key": "kind", "value": "lcb"}]}]),
     "algo_configs[0].params[0].value", "ucb, ei, poi"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1}, parallel_trials=0),
     "parallel_trials", "greater than or equal to 1"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
            early_stopping={"type": "sometimes"}), "early_stopping.type", "median, asha"),
    (policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1}, surprise=1),
     "surprise", "unknown field"),
])
def test_policy_shape_errors_name_the_field(data: dict[str, Any], field: str,
                                            rule: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_auto_search(data)
    assert err.value.field == f"policies.auto_search.{field}", err.value
    assert rule in err.value.rule, err.value.rule


def test_extensions() -> None:
    search = parse_auto_search(policy(
        {"name": "momentum", "lower_bound": 0, "upper_bound": 1}, parallel_trials=3,
        early_stopping={"type": "AsyncHyperBandScheduler", "min_steps": 2},
        time_budget_seconds=600, trial_result="best",
        skip_search_params='[{"momentum": 0.5}]'))
    assert search.parallel_trials == 3 and search.time_budget_seconds == 600
    assert search.early_stopping is not None and search.early_stopping.type.value == "asha"
    assert search.trial_result.value == "best"
    assert search.skip_search_params == [{"momentum": 0.5}]


def test_default_regex_reads_common_log_formats() -> None:
    pattern = re.compile(default_regex("accuracy"))
    for line, value in [("accuracy=0.97", "0.97"), ("epoch 3 accuracy: 0.5", "0.5"),
                        ("accuracy 1e-3", "1e-3")]:
        m = pattern.search(line)
        assert m is not None and m.group(1) == value
    assert pattern.search("val_accuracy=0.4") is None


# ------------------------------------------------------------- legacy AutoSearch YAML


def test_legacy_yaml_converts_to_the_same_model() -> None:
    legacy = {
        "general": {"gpu_per_instance": 1},
        "search_space": [{"params": [
            {"type": "continuous_param", "name": "learning_rate", "start": 0.001,
             "stop": 0.1, "num": 3},
            {"type": "discrete_param", "name": "activation", "values": ["relu", "tanh"]},
        ]}],
        "search_algorithm": {"type": "anneal_search", "max_concurrent": 2,
                             "reward_attr": "accuracy", "mode": "max", "num_samples": 6,
                             "avg_best_idx": 3.0},
        "scheduler": {"type": "MedianStoppingRule", "grace_period": 2},
    }
    search = parse_auto_search(legacy)
    assert search.algorithm.name == "anneal_search" and search.num_samples == 6
    assert search.algo_params()["avg_best_idx"] == 3.0
    assert search.parallel_trials == 2
    assert search.objective.name == "accuracy" and search.objective.regex is None
    assert search.early_stopping is not None and search.early_stopping.warmup_steps == 2
    lr, act = resolve_search(search, HP)
    assert lr.grid() == [0.001, 0.0505, 0.1] and act.choices == ("relu", "tanh")


def test_legacy_errors_name_the_legacy_field() -> None:
    with pytest.raises(SpecError) as err:
        parse_auto_search({"search_space": [{"params": [{"type": "weird_param",
                                                          "name": "x"}]}]})
    assert err.value.field == "policies.auto_search.search_space[0].params[0].type"
    with pytest.raises(SpecError) as err:
        parse_auto_search({"search_algorithm": {"type": "tpe_search", "kappa": 1}})
    assert err.value.field == "policies.auto_search.search_algorithm.kappa"


def test_job_policy_overrides_the_algorithm_policy_key_by_key() -> None:
    algo = policy({"name": "momentum", "lower_bound": 0, "upper_bound": 1},
                  algo_configs=[{"name": "tpe_search"}])
    merged = merge_policies(algo, {"algo_configs": [{"name": "random_search"}],
                                   "parallel_trials": 2})
    search = parse_auto_search(merged)
    assert search.algorithm.name == "random_search" and search.parallel_trials == 2
    assert search.search_params[0].name == "momentum"
    assert parse_auto_search(merge_policies(algo, {})).algorithm.name == "tpe_search"


def test_every_algorithm_in_the_catalogue_validates_its_defaults() -> None:
    for name, info in SEARCH_ALGORITHMS.items():
        params = [{"key": p.key, "value": p.value, "type": p.type} for p in info.params]
        search = parse_auto_search(policy(
            {"name": "momentum", "lower_bound": 0, "upper_bound": 1,
             "discrete_points_num": 3}, algo_configs=[{"name": name, "params": params}]))
        assert search.algorithm.name == name
