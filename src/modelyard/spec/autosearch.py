"""Automatic search (seed S6): ``policies.auto_search`` on an algorithm or a job.

The shape is ModelArts' (``reward_attrs``, ``search_params``, ``algo_configs``,
``skip_search_params``; the number of trials is ``num_samples`` in ``algo_configs[].params``)
so that a ModelArts algorithm or job body works unchanged. ModelArts searches Float
hyperparameters only; we add, as documented extensions (docs/search.md):

- ``search_params[].param_type``: ``integer`` and ``categorical`` besides ``continuous`` and
  ``discrete``; ``scale: log``; ``step`` for integers;
- ``parallel_trials``, ``early_stopping`` (median, asha, hyperband), ``time_budget_seconds``,
  ``trial_result`` (``last`` or ``best`` match of the metric is the trial's result);
- ``reward_attrs[].regex`` may be left out: ``<name>=<number>`` (or ``<name>: <number>``);
- more algorithms: ``random_search``, ``grid_search``, ``cmaes_search``.

The legacy ModelArts AutoSearch YAML (``general``, ``search_space``, ``search_algorithm``,
``scheduler``) is converted to the same model by ``parse_auto_search``.

Everything here is pure: the catalogue of algorithms and their parameters lives here so
that a policy can be validated without importing the search engine (Optuna); the service
turns ``Dimension``s into Optuna distributions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modelyard.spec.errors import SpecError, from_pydantic
from modelyard.spec.parameters import Constraint, ParamType, ValidType, Value, coerce, render

# ------------------------------------------------------------------ algorithm catalogue


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
        return {p.key: _typed_algo_value(p, p.value, "") for p in self.params}


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


def _typed_algo_value(info: AlgoParamInfo, value: Any, field: str) -> Any:
    kind = {"Integer": ParamType.INTEGER, "Float": ParamType.FLOAT}.get(info.type,
                                                                       ParamType.STRING)
    typed = coerce(value, kind, field)
    if info.choices and typed not in info.choices:
        raise SpecError(field, value, f"{info.key} is one of: {', '.join(info.choices)}")
    if info.minimum is not None and isinstance(typed, int | float) and typed < info.minimum:
        raise SpecError(field, value, f"{info.key} is at least {info.minimum:g}")
    return typed


# ---------------------------------------------------------------------- the policy


class Mode(StrEnum):
    MAX = "max"
    MIN = "min"


class SearchParamType(StrEnum):
    CONTINUOUS = "continuous"
    DISCRETE = "discrete"
    INTEGER = "integer"  # ours
    CATEGORICAL = "categorical"  # ours


class Scale(StrEnum):
    LINEAR = "linear"
    LOG = "log"


class TrialResult(StrEnum):
    LAST = "last"
    BEST = "best"


class Pruner(StrEnum):
    NONE = "none"
    MEDIAN = "median"
    ASHA = "asha"
    HYPERBAND = "hyperband"


_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_PRUNER_ALIASES = {
    "none": Pruner.NONE, "fifo": Pruner.NONE, "fifoscheduler": Pruner.NONE,
    "median": Pruner.MEDIAN, "medianstoppingrule": Pruner.MEDIAN,
    "asha": Pruner.ASHA, "successive_halving": Pruner.ASHA,
    "asynchyperbandscheduler": Pruner.ASHA, "hyperband": Pruner.HYPERBAND,
    "hyperbandscheduler": Pruner.HYPERBAND,
}


def default_regex(name: str) -> str:
    """The regex used when a reward attribute gives none: ``accuracy=0.97``,
    ``accuracy: 0.97`` or ``accuracy 0.97`` (ours)."""
    return rf"\b{re.escape(name)}\s*[=:]?\s*{_NUMBER}"


class RewardAttr(BaseModel):
    """A metric read from the trial's log (CONTRACT.md "Logs and metrics")."""

    model_config = ConfigDict(extra="forbid")

    name: str
    mode: Mode = Mode.MAX
    regex: str | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, v: Any) -> Any:
        if isinstance(v, str) and v.lower() in ("max", "min", "maximize", "minimize"):
            return v.lower()[:3]
        raise SpecError("", v, "mode is max or min")

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        if not isinstance(v, str) or not v.strip():
            raise SpecError("", v, "a reward attribute has a name, e.g. accuracy")
        return v.strip()

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.regex or default_regex(self.name))

    def check(self, field: str) -> None:
        """A regex compiles and has a group for the value (the first group that is not the
        named ``step`` group, or the group named ``value``)."""
        try:
            pattern = self.pattern
        except re.error as exc:
            raise SpecError(f"{field}.regex", self.regex, f"is not a valid regex: {exc}") from None
        named = pattern.groupindex
        value_groups = [i for i in range(1, pattern.groups + 1) if named.get("step") != i]
        if not value_groups:
            raise SpecError(
                f"{field}.regex", self.regex,
                "the regex needs a capture group around the number, e.g. "
                r"'accuracy=([0-9.]+)' (the first group is the value)",
            )


class SearchParam(BaseModel):
    """One hyperparameter to search (ModelArts ``search_params[]``, plus our extensions)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    param_type: SearchParamType = SearchParamType.CONTINUOUS
    lower_bound: Value | None = None
    upper_bound: Value | None = None
    discrete_points_num: int | None = Field(default=None, ge=2, le=10_000)
    discrete_values: list[Value] | None = None
    scale: Scale = Scale.LINEAR  # ours
    step: Value | None = None  # ours, integer parameters

    @field_validator("param_type", mode="before")
    @classmethod
    def _param_type(cls, v: Any) -> Any:
        if isinstance(v, str):
            low = v.lower().removesuffix("_param")
            aliases = {"float": "continuous", "int": "integer", "choice": "categorical"}
            low = aliases.get(low, low)
            if low in {t.value for t in SearchParamType}:
                return low
        raise SpecError("", v, "param_type is continuous, discrete, integer or categorical")

    @field_validator("discrete_values", mode="before")
    @classmethod
    def _values(cls, v: Any) -> Any:
        """ModelArts also sends the values as one comma-separated string."""
        if isinstance(v, str):
            return [x.strip() for x in v.split(",") if x.strip()]
        return v


class AlgoParam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    value: Value | None = None
    type: str | None = None


class AlgoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = DEFAULT_ALGORITHM
    params: list[AlgoParam] = Field(default_factory=list)


class EarlyStopping(BaseModel):
    """Stopping hopeless trials early from their intermediate metric values (ours).

    ``median``: stop a trial whose best value so far is worse than the median of earlier
    trials at the same step. ``asha``: asynchronous successive halving. ``hyperband``: several
    successive-halving brackets. Steps are metric matches in the log (e.g. epochs).
    """

    model_config = ConfigDict(extra="forbid")

    type: Pruner = Pruner.MEDIAN
    startup_trials: int = Field(default=5, ge=0)
    warmup_steps: int = Field(default=1, ge=0)
    min_steps: int = Field(default=1, ge=1)
    max_steps: int | None = Field(default=None, ge=1)
    reduction_factor: int = Field(default=3, ge=2)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> Any:
        if isinstance(v, str) and v.lower() in _PRUNER_ALIASES:
            return _PRUNER_ALIASES[v.lower()]
        raise SpecError("", v, "early_stopping.type is none, median, asha or hyperband")


class AutoSearch(BaseModel):
    """``policies.auto_search``."""

    model_config = ConfigDict(extra="forbid")

    reward_attrs: list[RewardAttr] = Field(default_factory=list)
    search_params: list[SearchParam] = Field(default_factory=list)
    algo_configs: list[AlgoConfig] = Field(default_factory=list)
    skip_search_params: list[dict[str, Value]] | None = None
    # ours
    parallel_trials: int = Field(default=1, ge=1, le=64)
    early_stopping: EarlyStopping | None = None
    time_budget_seconds: float | None = Field(default=None, gt=0)
    trial_result: TrialResult = TrialResult.LAST

    @field_validator("skip_search_params", mode="before")
    @classmethod
    def _skip(cls, v: Any) -> Any:
        """ModelArts types it as a string: JSON text of one combination or a list of them."""
        if v in (None, ""):
            return None
        if isinstance(v, str):
            import json

            try:
                v = json.loads(v)
            except ValueError:
                raise SpecError("", v, "skip_search_params is a list of hyperparameter "
                                "combinations, e.g. [{\"lr\": 0.1}]") from None
        if isinstance(v, dict):
            v = [v]
        return v

    # -------------------------------------------------------------- derived
    @property
    def algorithm(self) -> AlgoConfig:
        return self.algo_configs[0] if self.algo_configs else AlgoConfig()

    @property
    def objective(self) -> RewardAttr:
        return self.reward_attrs[0]

    def algo_params(self) -> dict[str, Any]:
        """The algorithm's parameters with defaults filled in, typed."""
        info = SEARCH_ALGORITHMS[self.algorithm.name]
        out = info.defaults()
        known = {p.key: p for p in info.params}
        for p in self.algorithm.params:
            out[p.key] = _typed_algo_value(known[p.key], p.value, p.key)
        return out

    @property
    def num_samples(self) -> int:
        return int(self.algo_params()["num_samples"])

    @property
    def seed(self) -> int:
        return int(self.algo_params()["seed"])


# ------------------------------------------------------------------ search space


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter, typed: what the engine samples and the job receives.

    ``kind`` is ``float`` (``low``..``high``, maybe ``log``, maybe ``step``), ``int`` (same,
    whole numbers) or ``categorical`` (``choices``, already typed for the hyperparameter).
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    choices: tuple[Value, ...] = field(default_factory=tuple)

    def grid(self) -> list[Value] | None:
        """The finite set of values, or None for a continuum."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.kind == "int":
            step = int(self.step or 1)
            return list(range(int(self.low), int(self.high) + 1, step))
        if self.step:
            n = round((self.high - self.low) / self.step)
            return [_clean(self.low + i * self.step) for i in range(n + 1)]
        return None

    def contains(self, value: Any) -> bool:
        if self.kind == "categorical":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind == "int" and not float(value).is_integer():
            return False
        return self.low - 1e-12 <= value <= self.high + 1e-12


def _clean(x: float) -> float:
    """Rounds away float noise from generated grid points (0.30000000000000004 -> 0.3)."""
    return float(f"{x:.12g}")


# ---------------------------------------------------------------------- parsing


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
        _typed_algo_value(info, ap.value, f"{where}.value")
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


# ---------------------------------------------------------------- legacy YAML


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


# ------------------------------------------------- validation against the algorithm


def resolve_search(search: AutoSearch, hyperparameters: Mapping[str, Constraint | None],
                   field: str = "policies.auto_search") -> list[Dimension]:
    """Checks every search parameter against the hyperparameter it names and returns the
    typed search space.

    ``hyperparameters`` maps each defined hyperparameter to its constraint; ``None`` means
    untyped (an inline job's parameter set without a constraint), which any search type fits.
    """
    dims = []
    for i, p in enumerate(search.search_params):
        where = f"{field}.search_params[{i}]"
        if p.name not in hyperparameters:
            known = ", ".join(hyperparameters) or "none"
            raise SpecError(f"{where}.name", p.name,
                            f"names no hyperparameter of the algorithm (it defines: {known}); "
                            "a search parameter is one of them")
        dims.append(_dimension(p, hyperparameters[p.name], where))
    for k, combo in enumerate(search.skip_search_params or []):
        for name in combo:
            if name not in hyperparameters:
                raise SpecError(f"{field}.skip_search_params[{k}]", name,
                                "names no hyperparameter of the algorithm")
    algo = search.algorithm.name
    if algo == "grid_search":
        for i, d in enumerate(dims):
            if d.grid() is None:
                raise SpecError(f"{field}.search_params[{i}].discrete_points_num", None,
                                "grid_search needs a finite set of values: set "
                                "discrete_points_num on a continuous parameter")
    return dims


def _dimension(p: SearchParam, c: Constraint | None, where: str) -> Dimension:
    hp_type = c.type if c is not None else None
    if c is not None and not c.editable:
        raise SpecError(f"{where}.name", p.name,
                        "the hyperparameter is not editable, so it cannot be searched")
    log = p.scale is Scale.LOG
    kind = p.param_type
    if kind is SearchParamType.DISCRETE and p.discrete_values is None and (
            p.lower_bound is not None or p.upper_bound is not None):
        # ModelArts' discrete range: bounds + discrete_points_num evenly spaced points.
        kind = (SearchParamType.INTEGER if hp_type is ParamType.INTEGER and
                p.discrete_points_num is None else SearchParamType.CONTINUOUS)
        if kind is SearchParamType.CONTINUOUS and p.discrete_points_num is None:
            raise SpecError(f"{where}.discrete_points_num", None,
                            "a discrete range needs discrete_points_num (or give "
                            "discrete_values)")
    if kind in (SearchParamType.DISCRETE, SearchParamType.CATEGORICAL):
        values = p.discrete_values
        if not values:
            raise SpecError(f"{where}.discrete_values", values,
                            f"a {kind.value} parameter lists its values")
        typed: list[Value] = []
        for j, v in enumerate(values):
            vf = f"{where}.discrete_values[{j}]"
            t = c.check(v, vf) if c is not None else v
            if t in typed:
                raise SpecError(vf, v, "each value is listed once")
            typed.append(t)
        return Dimension(p.name, "categorical", choices=tuple(typed))
    if hp_type in (ParamType.STRING, ParamType.BOOLEAN):
        raise SpecError(f"{where}.param_type", kind.value,
                        f"{p.name!r} is a {hp_type.value} hyperparameter: search it with "
                        "param_type discrete (or categorical) and discrete_values")
    if c is not None and c.valid_type is ValidType.ENUM:
        raise SpecError(f"{where}.param_type", kind.value,
                        f"{p.name!r} allows only {', '.join(render(v) for v in c.valid_range)}:"
                        " search it with param_type discrete over those values")
    if kind is SearchParamType.INTEGER:
        if hp_type is ParamType.FLOAT:
            pass  # whole numbers are valid Floats
        num_type = ParamType.INTEGER
    else:
        if hp_type is ParamType.INTEGER and p.discrete_points_num is None:
            raise SpecError(f"{where}.param_type", kind.value,
                            f"{p.name!r} is an Integer hyperparameter: search it with "
                            "param_type integer (ours) or discrete values")
        num_type = ParamType.FLOAT
    if p.lower_bound is None or p.upper_bound is None:
        missing = "lower_bound" if p.lower_bound is None else "upper_bound"
        raise SpecError(f"{where}.{missing}", None,
                        f"a {kind.value} parameter has lower_bound and upper_bound")
    lo = coerce(p.lower_bound, num_type, f"{where}.lower_bound")
    hi = coerce(p.upper_bound, num_type, f"{where}.upper_bound")
    assert isinstance(lo, int | float) and isinstance(hi, int | float)
    if lo >= hi:
        raise SpecError(f"{where}.upper_bound", p.upper_bound,
                        f"the upper bound is above the lower bound ({render(lo)})")
    if log and lo <= 0:
        raise SpecError(f"{where}.lower_bound", p.lower_bound,
                        "a log-scale parameter has a lower bound above 0")
    if c is not None and c.valid_type is ValidType.RANGE:
        cmin, cmax = c.valid_range
        assert isinstance(cmin, int | float) and isinstance(cmax, int | float)
        if lo < cmin:
            raise SpecError(f"{where}.lower_bound", p.lower_bound,
                            f"the hyperparameter's constraint allows [{render(cmin)}, "
                            f"{render(cmax)}] (seed S3.6)")
        if hi > cmax:
            raise SpecError(f"{where}.upper_bound", p.upper_bound,
                            f"the hyperparameter's constraint allows [{render(cmin)}, "
                            f"{render(cmax)}] (seed S3.6)")
    if num_type is ParamType.INTEGER:
        step = coerce(p.step if p.step is not None else 1, ParamType.INTEGER, f"{where}.step")
        assert isinstance(step, int)
        if step < 1:
            raise SpecError(f"{where}.step", p.step, "the step is a whole number of at least 1")
        if log and step != 1:
            raise SpecError(f"{where}.step", p.step, "a log-scale integer has step 1")
        if (int(hi) - int(lo)) % step:
            raise SpecError(f"{where}.upper_bound", p.upper_bound,
                            f"upper_bound - lower_bound is a multiple of the step ({step})")
        return Dimension(p.name, "int", low=int(lo), high=int(hi), log=log, step=step)
    if p.step is not None:
        raise SpecError(f"{where}.step", p.step, "step applies to integer parameters; a "
                        "continuous parameter uses discrete_points_num")
    if p.discrete_points_num:
        points = _points(float(lo), float(hi), p.discrete_points_num, log)
        if hp_type is ParamType.INTEGER:
            ints = sorted({round(x) for x in points})
            return Dimension(p.name, "categorical", choices=tuple(ints))
        if log:
            return Dimension(p.name, "categorical", choices=tuple(points))
        return Dimension(p.name, "float", low=float(lo), high=float(hi),
                         step=(float(hi) - float(lo)) / (p.discrete_points_num - 1))
    return Dimension(p.name, "float", low=float(lo), high=float(hi), log=log)


def _points(lo: float, hi: float, n: int, log: bool) -> list[float]:
    if log:
        a, b = math.log(lo), math.log(hi)
        return [_clean(math.exp(a + (b - a) * i / (n - 1))) for i in range(n)]
    return [_clean(lo + (hi - lo) * i / (n - 1)) for i in range(n)]


def typed_params(dims: Sequence[Dimension], params: Mapping[str, Any]) -> dict[str, Value]:
    """Sampled values as the job receives them (ints stay ints, floats lose grid noise)."""
    out: dict[str, Value] = {}
    for d in dims:
        v = params[d.name]
        if d.kind == "int":
            out[d.name] = int(v)
        elif d.kind == "float":
            out[d.name] = _clean(float(v)) if d.step else float(v)
        else:
            out[d.name] = v
    return out


def algorithm_catalogue() -> list[dict[str, Any]]:
    """``GET /search-algorithms``: every algorithm with its default parameters."""
    return [
        {"name": a.name, "description": a.description,
         "params": [{"key": p.key, "value": p.value, "type": p.type} for p in a.params]}
        for a in SEARCH_ALGORITHMS.values()
    ]
