"""The search space: each search parameter checked against the hyperparameter it names and
typed as a ``Dimension`` (what the engine samples and the job receives)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelyard.spec.autosearch.models import AutoSearch, Scale, SearchParam, SearchParamType
from modelyard.spec.errors import SpecError
from modelyard.spec.parameters import Constraint, ParamType, ValidType, Value, coerce, render


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
