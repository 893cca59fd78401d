"""The search algorithms and their parameters, as ``GET /search-algorithms`` lists them.

Kept apart from the search engine (Optuna) so that a policy can be validated without
importing it; the service maps each name onto a sampler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelyard.spec.errors import SpecError
from modelyard.spec.parameters import ParamType, coerce


@dataclass(frozen=True)
class AlgoParamInfo:
    """One parameter of a search algorithm, as ``GET /search-algorithms`` lists it."""

    key: str
    value: str  # the default, as text (ModelArts sends every value as a string)
    type: str  # Integer | Float | String
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class AlgorithmInfo:
    name: str
    description: str
    params: tuple[AlgoParamInfo, ...]

    def defaults(self) -> dict[str, Any]:
        return {p.key: typed_algo_value(p, p.value, "") for p in self.params}


_COMMON = (
    AlgoParamInfo("num_samples", "20", "Integer", minimum=1,
                  description="number of trials (hyperparameter sets) to run"),
    AlgoParamInfo("seed", "1", "Integer",
                  description="seed of the sampler, for repeatable searches"),
)

# Names and defaults as ModelArts lists them (GET /v2/{project_id}/search-algorithms); the
# last three are ours.
SEARCH_ALGORITHMS: dict[str, AlgorithmInfo] = {a.name: a for a in (
    AlgorithmInfo("bayes_opt_search", "Hyperparameter search using Gaussian process.", (
        AlgoParamInfo("kind", "ucb", "String", choices=("ucb", "ei", "poi"),
                      description="acquisition function"),
        AlgoParamInfo("kappa", "2.5", "Float", minimum=0.0,
                      description="exploration weight of the ucb acquisition"),
        AlgoParamInfo("xi", "0.0", "Float", minimum=0.0,
                      description="exploration margin of the ei and poi acquisitions"),
        AlgoParamInfo("n_initial_points", "5", "Integer", minimum=1,
                      description="random trials before the Gaussian process is used (ours)"),
        *_COMMON,
    )),
    AlgorithmInfo("tpe_search", "Hyperparameter search using the Tree-structured Parzen "
                  "Estimator.", (
        AlgoParamInfo("gamma", "0.25", "Float", minimum=0.0,
                      description="fraction of trials that count as good"),
        AlgoParamInfo("n_initial_points", "20", "Integer", minimum=1,
                      description="random trials before the estimator is used"),
        *_COMMON,
    )),
    AlgorithmInfo("anneal_search", "Hyperparameter search using simulated annealing.", (
        AlgoParamInfo("avg_best_idx", "2.0", "Float", minimum=0.0,
                      description="mean of the geometric distribution over which good trial "
                      "to explore around"),
        AlgoParamInfo("shrink_coef", "0.1", "Float", minimum=0.0,
                      description="how fast the neighbourhood shrinks as trials accumulate"),
        *_COMMON,
    )),
    AlgorithmInfo("random_search", "Hyperparameter search by independent random sampling.",
                  _COMMON),
    AlgorithmInfo("grid_search", "Every combination of the search parameters' values; "
                  "num_samples 0 means the whole grid.", (
        AlgoParamInfo("num_samples", "0", "Integer", minimum=0,
                      description="number of grid points to run, 0 for all"),
        _COMMON[1],
    )),
    AlgorithmInfo("cmaes_search", "Hyperparameter search using the Covariance Matrix "
                  "Adaptation Evolution Strategy.", (
        AlgoParamInfo("sigma0", "0", "Float", minimum=0.0,
                      description="initial step size, as a fraction of the range; 0 picks "
                      "one"),
        AlgoParamInfo("n_initial_points", "1", "Integer", minimum=1,
                      description="random trials before the evolution strategy is used"),
        *_COMMON,
    )),
)}
DEFAULT_ALGORITHM = "tpe_search"


def typed_algo_value(info: AlgoParamInfo, value: Any, field: str) -> Any:
    """``value`` as the parameter's type, within its choices and minimum."""
    kind = {"Integer": ParamType.INTEGER, "Float": ParamType.FLOAT}.get(info.type,
                                                                       ParamType.STRING)
    typed = coerce(value, kind, field)
    if info.choices and typed not in info.choices:
        raise SpecError(field, value, f"{info.key} is one of: {', '.join(info.choices)}")
    if info.minimum is not None and isinstance(typed, int | float) and typed < info.minimum:
        raise SpecError(field, value, f"{info.key} is at least {info.minimum:g}")
    return typed


def algorithm_catalogue() -> list[dict[str, Any]]:
    """``GET /search-algorithms``: every algorithm with its default parameters."""
    return [
        {"name": a.name, "description": a.description,
         "params": [{"key": p.key, "value": p.value, "type": p.type} for p in a.params]}
        for a in SEARCH_ALGORITHMS.values()
    ]
