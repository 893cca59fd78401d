"""The legacy ModelArts AutoSearch YAML (``general``, ``search_space``,
``search_algorithm``, ``scheduler``), translated to the ``auto_search`` shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelyard.spec.autosearch.catalogue import DEFAULT_ALGORITHM, SEARCH_ALGORITHMS
from modelyard.spec.errors import SpecError

_LEGACY_KEYS = {"general", "search_space", "search_algorithm", "scheduler"}


def is_legacy(data: Mapping[str, Any]) -> bool:
    return bool(_LEGACY_KEYS & set(data))


def from_legacy(data: Mapping[str, Any], field: str = "auto_search") -> dict[str, Any]:
    """Converts the legacy ModelArts AutoSearch YAML to the ``auto_search`` shape::

        general: {gpu_per_instance: 1}
        search_space:
          - params:
              - {type: continuous_param, name: lr, start: 0.001, stop: 0.1, num: 10}
              - {type: discrete_param, name: batch_size, values: [32, 64]}
        search_algorithm:
          {type: tpe_search, reward_attr: accuracy, mode: max, num_samples: 20,
           max_concurrent: 2}
        scheduler: {type: MedianStoppingRule, grace_period: 2}

    A ``reward_attr`` was reported through the AutoSearch SDK; here it is read from the log
    with ``regex`` if given, else ``<name>=<number>``. ``general`` holds resources, which
    come from the job.
    """
    out: dict[str, Any] = {}
    params: list[dict[str, Any]] = []
    space = data.get("search_space") or []
    if isinstance(space, Mapping):
        space = [space]
    if not isinstance(space, list):
        raise SpecError(f"{field}.search_space", space, "search_space is a list of "
                        "{params: [...]}")
    for i, block in enumerate(space):
        if not isinstance(block, Mapping):
            raise SpecError(f"{field}.search_space[{i}]", block, "an entry has params")
        block_type = str(block.get("type") or "").lower()
        for j, p in enumerate(block.get("params") or []):
            where = f"{field}.search_space[{i}].params[{j}]"
            if not isinstance(p, Mapping) or "name" not in p:
                raise SpecError(where, p, "a parameter has a name and a type")
            kind = str(p.get("type") or block_type or "").lower().removesuffix("_param")
            item: dict[str, Any] = {"name": p["name"]}
            if "scale" in p:
                item["scale"] = p["scale"]
            if kind in ("continuous", "float", "uniform", "loguniform"):
                item["param_type"] = "continuous"
                item["lower_bound"] = _first(p, "start", "lower", "low", "min")
                item["upper_bound"] = _first(p, "stop", "upper", "high", "max")
                if p.get("num") is not None:
                    item["discrete_points_num"] = p["num"]
                if kind == "loguniform":
                    item["scale"] = "log"
            elif kind in ("discrete", "repeat_discrete", "choice", "categorical"):
                item["param_type"] = "discrete"
                item["discrete_values"] = p.get("values")
            elif kind in ("integer", "int", "randint"):
                item["param_type"] = "integer"
                item["lower_bound"] = _first(p, "start", "lower", "low", "min")
                item["upper_bound"] = _first(p, "stop", "upper", "high", "max")
                if "step" in p:
                    item["step"] = p["step"]
            else:
                raise SpecError(f"{where}.type", p.get("type"), "the type is continuous_param, "
                                "discrete_param or integer_param")
            params.append(item)
    out["search_params"] = params
    algo = data.get("search_algorithm") or {}
    if not isinstance(algo, Mapping):
        raise SpecError(f"{field}.search_algorithm", algo, "search_algorithm is a mapping")
    name = algo.get("type") or algo.get("name") or DEFAULT_ALGORITHM
    reward = algo.get("reward_attr")
    if isinstance(reward, str):
        attr: dict[str, Any] = {"name": reward, "mode": algo.get("mode", "max")}
        if algo.get("regex"):
            attr["regex"] = algo["regex"]
        out["reward_attrs"] = [attr]
    elif isinstance(reward, list):
        out["reward_attrs"] = reward
    info = SEARCH_ALGORITHMS.get(str(name))
    algo_params = []
    skip = {"type", "name", "reward_attr", "mode", "regex", "max_concurrent",
            "save_model_count"}
    for key, value in algo.items():
        if key in skip:
            continue
        if info is not None and key not in {p.key for p in info.params}:
            raise SpecError(f"{field}.search_algorithm.{key}", value,
                            f"{name} has the parameters: "
                            f"{', '.join(p.key for p in info.params)}")
        algo_params.append({"key": key, "value": value})
    out["algo_configs"] = [{"name": name, "params": algo_params}]
    if algo.get("max_concurrent") is not None:
        out["parallel_trials"] = algo["max_concurrent"]
    scheduler = data.get("scheduler")
    if isinstance(scheduler, Mapping) and scheduler.get("type"):
        kind = str(scheduler["type"])
        stopping: dict[str, Any] = {"type": kind}
        if kind.lower() in ("medianstoppingrule", "median"):
            if scheduler.get("grace_period") is not None:
                stopping["warmup_steps"] = scheduler["grace_period"]
            if scheduler.get("min_samples_required") is not None:
                stopping["startup_trials"] = scheduler["min_samples_required"]
        else:
            if scheduler.get("grace_period") is not None:
                stopping["min_steps"] = scheduler["grace_period"]
            if scheduler.get("max_t") is not None:
                stopping["max_steps"] = scheduler["max_t"]
            if scheduler.get("reduction_factor") is not None:
                stopping["reduction_factor"] = scheduler["reduction_factor"]
        out["early_stopping"] = stopping
    for key in ("parallel_trials", "early_stopping", "time_budget_seconds", "trial_result",
                "skip_search_params"):
        if key in data:
            out[key] = data[key]
    return out


def _first(p: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if p.get(k) is not None:
            return p[k]
    return None
