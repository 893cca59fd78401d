"""From a request body (ModelArts or legacy shape) to a checked ``AutoSearch``, and the
job's policy over its algorithm's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from modelyard.spec.autosearch.catalogue import SEARCH_ALGORITHMS, typed_algo_value
from modelyard.spec.autosearch.legacy import from_legacy, is_legacy
from modelyard.spec.autosearch.models import AutoSearch
from modelyard.spec.errors import SpecError, from_pydantic


def parse_auto_search(data: Any, field: str = "policies.auto_search") -> AutoSearch:
    """Validates a policy in the ModelArts shape or the legacy AutoSearch YAML shape."""
    if isinstance(data, AutoSearch):
        return data
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SpecError(field, data, "auto_search is a mapping (reward_attrs, search_params, "
                        "algo_configs)")
    if is_legacy(data):
        data = from_legacy(data, field)
    try:
        search = AutoSearch.model_validate(dict(data))
    except ValidationError as exc:
        raise from_pydantic(exc, field) from None
    _check_shape(search, field)
    return search


def _check_shape(search: AutoSearch, field: str) -> None:
    if not search.reward_attrs:
        raise SpecError(f"{field}.reward_attrs", [], "a search needs at least one reward "
                        "attribute: {name, mode, regex} of the metric printed in the log")
    for i, r in enumerate(search.reward_attrs):
        r.check(f"{field}.reward_attrs[{i}]")
    if not search.search_params:
        raise SpecError(f"{field}.search_params", [], "a search needs at least one search "
                        "parameter")
    seen: set[str] = set()
    for i, p in enumerate(search.search_params):
        if p.name in seen:
            raise SpecError(f"{field}.search_params[{i}].name", p.name,
                            "each hyperparameter is searched once")
        seen.add(p.name)
    if len(search.algo_configs) > 1:
        raise SpecError(f"{field}.algo_configs", [a.name for a in search.algo_configs],
                        "a search runs one algorithm; create one search per algorithm")
    algo = search.algorithm
    if algo.name not in SEARCH_ALGORITHMS:
        raise SpecError(f"{field}.algo_configs[0].name", algo.name,
                        f"the search algorithms are: {', '.join(SEARCH_ALGORITHMS)}")
    known = {p.key: p for p in SEARCH_ALGORITHMS[algo.name].params}
    keys: set[str] = set()
    for j, ap in enumerate(algo.params):
        where = f"{field}.algo_configs[0].params[{j}]"
        if ap.key not in known:
            raise SpecError(f"{where}.key", ap.key,
                            f"{algo.name} has the parameters: {', '.join(known)}")
        if ap.key in keys:
            raise SpecError(f"{where}.key", ap.key, "each parameter is set once")
        keys.add(ap.key)
        info = known[ap.key]
        if ap.type is not None and ap.type.lower() != info.type.lower():
            raise SpecError(f"{where}.type", ap.type, f"{ap.key} is of type {info.type}")
        typed_algo_value(info, ap.value, f"{where}.value")
    stopping = search.early_stopping
    if stopping and stopping.max_steps is not None and stopping.max_steps < stopping.min_steps:
        raise SpecError(f"{field}.early_stopping.max_steps", stopping.max_steps,
                        "max_steps is at least min_steps")


def merge_policies(algorithm_policy: Mapping[str, Any] | None,
                   job_policy: Mapping[str, Any] | None) -> dict[str, Any]:
    """The job's ``auto_search`` over its algorithm's: each top-level key the job sets
    replaces the algorithm's (a job narrows the ranges, picks another algorithm...)."""
    base = dict(algorithm_policy or {})
    override = dict(job_policy or {})
    if is_legacy(base):
        base = from_legacy(base, "policies.auto_search")
    if is_legacy(override):
        override = from_legacy(override, "algorithm.policies.auto_search")
    return {**base, **override}
