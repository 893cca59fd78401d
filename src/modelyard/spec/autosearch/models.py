"""``policies.auto_search`` as pydantic models: the ModelArts shape (``reward_attrs``,
``search_params``, ``algo_configs``, ``skip_search_params``) and our extensions."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelyard.spec.autosearch.catalogue import (
    DEFAULT_ALGORITHM,
    SEARCH_ALGORITHMS,
    typed_algo_value,
)
from modelyard.spec.errors import SpecError
from modelyard.spec.parameters import Value


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
    """A metric read from the trial's log (docs/contract.md "Logs and metrics")."""

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
            out[p.key] = typed_algo_value(known[p.key], p.value, p.key)
        return out

    @property
    def num_samples(self) -> int:
        return int(self.algo_params()["num_samples"])

    @property
    def seed(self) -> int:
        return int(self.algo_params()["seed"])
