"""Search algorithms: the ModelArts names, each an Optuna sampler behind one small interface.

``SearchAlgorithm.sampler(dims, seed)`` is all the driver needs; every algorithm runs the same
conformance suite (tests/service/search/test_search_algorithms.py). Two samplers are ours, kept
small on purpose:

- ``bayes_opt_search``: a Gaussian process (RBF kernel, length scale fitted by marginal
  likelihood) with the ModelArts acquisitions ``ucb`` (kappa), ``ei`` and ``poi`` (xi). Optuna's
  ``GPSampler`` needs PyTorch, which a training-job service should not impose on every host.
- ``anneal_search``: hyperopt's annealing: start from a good earlier trial (picked with a
  geometric distribution of mean ``avg_best_idx`` over trials sorted by value) and sample in a
  neighbourhood that shrinks by ``1 / (1 + n * shrink_coef)``.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from modelyard.spec.autosearch import SEARCH_ALGORITHMS, Dimension

# --------------------------------------------------------------------- interface


def distributions(dims: Sequence[Dimension]) -> dict[str, BaseDistribution]:
    """The search space in Optuna's terms."""
    out: dict[str, BaseDistribution] = {}
    for d in dims:
        if d.kind == "float":
            out[d.name] = FloatDistribution(d.low, d.high, log=d.log, step=d.step)
        elif d.kind == "int":
            out[d.name] = IntDistribution(int(d.low), int(d.high), log=d.log,
                                          step=int(d.step or 1))
        else:
            out[d.name] = CategoricalDistribution(list(d.choices))
    return out


class SearchAlgorithm(ABC):
    """A named search algorithm with its (already typed) parameters."""

    name: ClassVar[str]

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = {**SEARCH_ALGORITHMS[self.name].defaults(), **(params or {})}

    @abstractmethod
    def sampler(self, dims: Sequence[Dimension], seed: int) -> BaseSampler:
        """A fresh sampler; it learns everything from the study it is given."""

    def capacity(self, dims: Sequence[Dimension]) -> int | None:
        """How many distinct trials the algorithm can propose (None: unlimited)."""
        return None


class RandomSearch(SearchAlgorithm):
    name = "random_search"

    def sampler(self, dims: Sequence[Dimension], seed: int) -> BaseSampler:
        return RandomSampler(seed=seed)


class TpeSearch(SearchAlgorithm):
    name = "tpe_search"

    def sampler(self, dims: Sequence[Dimension], seed: int) -> BaseSampler:
        fraction = float(self.params["gamma"])

        def gamma(n: int) -> int:
            # ModelArts' gamma is the fraction of trials that count as good.
            return max(1, min(math.ceil(fraction * n), 25))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gamma is deprecated (Optuna 4.9), kept until 6
            return optuna.samplers.TPESampler(
                n_startup_trials=int(self.params["n_initial_points"]), gamma=gamma, seed=seed,
                constant_liar=True,  # parallel trials: do not propose what is already running
            )


class GridSearch(SearchAlgorithm):
    name = "grid_search"

    def sampler(self, dims: Sequence[Dimension], seed: int) -> BaseSampler:
        space = {d.name: _grid(d) for d in dims}
        return _AskTellGridSampler(space, seed=seed)

    def capacity(self, dims: Sequence[Dimension]) -> int | None:
        return math.prod(len(_grid(d)) for d in dims)


class _AskTellGridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler stops the study when the grid is used up, which only works
    inside ``study.optimize``; the driver asks and tells, and caps the trials itself."""

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        return None


def _grid(d: Dimension) -> list[Any]:
    values = d.grid()
    if values is None:
        raise ValueError(f"{d.name}: grid_search needs a finite set of values")
    return values


class CmaEsSearch(SearchAlgorithm):
    name = "cmaes_search"

    def sampler(self, dims: Sequence[Dimension], seed: int) -> BaseSampler:
        sigma0 = float(self.params["sigma0"]) or None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.samplers.CmaEsSampler(
                seed=seed, sigma0=sigma0, n_startup_trials=int(self.params["n_initial_points"]),
                warn_independent_sampling=False,  # categorical parameters are sampled randomly
            )


class AnnealSearch(SearchAlgorithm):
    name = "anneal_search"

    def sampler(self, dims: Sequence[Dimension], seed: int) -> BaseSampler:
        return AnnealSampler(avg_best_idx=float(self.params["avg_best_idx"]),
                             shrink_coef=float(self.params["shrink_coef"]), seed=seed)


class BayesOptSearch(SearchAlgorithm):
    name = "bayes_opt_search"

    def sampler(self, dims: Sequence[Dimension], seed: int) -> BaseSampler:
        return GaussianProcessSampler(
            kind=str(self.params["kind"]), kappa=float(self.params["kappa"]),
            xi=float(self.params["xi"]), n_initial_points=int(self.params["n_initial_points"]),
            seed=seed,
        )


ALGORITHMS: dict[str, type[SearchAlgorithm]] = {
    cls.name: cls
    for cls in (BayesOptSearch, TpeSearch, AnnealSearch, RandomSearch, GridSearch, CmaEsSearch)
}


def make_algorithm(name: str, params: Mapping[str, Any] | None = None) -> SearchAlgorithm:
    return ALGORITHMS[name](params)


# ------------------------------------------------------------ shared helpers


def _finished(study: Study) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value)]


def _loss(study: Study, trial: FrozenTrial) -> float:
    """The trial's value as something to minimize, whatever the study's direction."""
    assert trial.value is not None
    return -trial.value if study.direction == StudyDirection.MAXIMIZE else trial.value


def _to_unit(dist: BaseDistribution, value: Any) -> float:
    """A numeric value as a position in [0, 1] of its range (log ranges in log space)."""
    assert isinstance(dist, FloatDistribution | IntDistribution)
    lo, hi, x = float(dist.low), float(dist.high), float(value)
    if dist.log:
        lo, hi, x = math.log(lo), math.log(hi), math.log(x)
    return 0.0 if hi == lo else (x - lo) / (hi - lo)


def _from_unit(dist: BaseDistribution, u: float) -> Any:
    assert isinstance(dist, FloatDistribution | IntDistribution)
    u = min(1.0, max(0.0, u))
    lo, hi = float(dist.low), float(dist.high)
    x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if dist.log else \
        lo + u * (hi - lo)
    step = dist.step
    if step:
        x = lo + round((x - lo) / step) * step
    x = min(hi, max(lo, x))
    if isinstance(dist, IntDistribution):
        return round(x)
    return float(x)


# ------------------------------------------------------------------- anneal


class AnnealSampler(BaseSampler):
    """Simulated annealing as in hyperopt's ``anneal`` (see the module docstring).

    Every parameter of one trial anneals around the same earlier trial, picked from the trial
    number and the seed, so a trial is reproducible whatever order its parameters are asked.
    """

    def __init__(self, avg_best_idx: float = 2.0, shrink_coef: float = 0.1,
                 seed: int | None = None) -> None:
        self.avg_best_idx = avg_best_idx
        self.shrink_coef = shrink_coef
        self.seed = seed or 0
        self._random = RandomSampler(seed=seed)

    def reseed_rng(self) -> None:
        self._random.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        done = [t for t in _finished(study) if param_name in t.params]
        if not done:
            return self._random.sample_independent(study, trial, param_name, param_distribution)
        done.sort(key=lambda t: _loss(study, t))
        rng = np.random.RandomState((self.seed * 1_000_003 + trial.number) % 2**32)
        # Geometric over {0, 1, ...} with mean avg_best_idx: p = 1 / (1 + mean).
        index = min(int(rng.geometric(1.0 / (1.0 + self.avg_best_idx))) - 1, len(done) - 1)
        center = done[index].params[param_name]
        shrink = 1.0 / (1.0 + len(done) * self.shrink_coef)
        value_rng = np.random.RandomState(
            (self.seed * 7919 + trial.number * 104_729 + _stable_hash(param_name)) % 2**32)
        if isinstance(param_distribution, CategoricalDistribution):
            choices = param_distribution.choices
            n = len(choices)
            probs = np.full(n, shrink / n)
            probs[choices.index(center)] += 1.0 - shrink
            return choices[int(value_rng.choice(n, p=probs / probs.sum()))]
        u = _to_unit(param_distribution, center)
        lo, hi = max(0.0, u - shrink / 2), min(1.0, u + shrink / 2)
        return _from_unit(param_distribution, float(value_rng.uniform(lo, hi)))


def _stable_hash(text: str) -> int:
    """``hash()`` of a str changes per process; the sampler must not."""
    h = 0
    for ch in text:
        h = (h * 31 + ord(ch)) % 2**31
    return h


# ---------------------------------------------------------- Gaussian process


class GaussianProcessSampler(BaseSampler):
    """Bayesian optimization with a Gaussian process over the unit-cube encoding of the
    search space (categoricals one-hot), maximizing ucb / ei / poi over random candidates
    and local perturbations of the best points. Running trials count as pending at the best
    value seen (a constant liar), so parallel trials spread out."""

    def __init__(self, kind: str = "ucb", kappa: float = 2.5, xi: float = 0.0,
                 n_initial_points: int = 5, seed: int | None = None,
                 n_candidates: int = 2048) -> None:
        self.kind = kind
        self.kappa = kappa
        self.xi = xi
        self.n_initial_points = n_initial_points
        self.seed = seed or 0
        self.n_candidates = n_candidates
        self._random = RandomSampler(seed=seed)
        self._space = IntersectionSearchSpace()

    def reseed_rng(self) -> None:
        self._random.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        return {name: d for name, d in self._space.calculate(study).items()
                if not d.single()}

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        done = [t for t in _finished(study) if all(n in t.params for n in search_space)]
        if len(done) < self.n_initial_points:
            return {}
        names = sorted(search_space)
        x = np.array([_encode(search_space, names, t.params) for t in done])
        y = np.array([_loss(study, t) for t in done])
        running = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                   if t.number != trial.number and all(n in t.params for n in search_space)]
        if running:  # constant liar: pending points look as good as the best so far
            x = np.vstack([x, [_encode(search_space, names, t.params) for t in running]])
            y = np.concatenate([y, np.full(len(running), y.min())])
        mean, std = y.mean(), y.std() or 1.0
        z = (y - mean) / std
        rng = np.random.RandomState((self.seed * 1_000_003 + trial.number) % 2**32)
        gp = _GP.fit(x, z)
        width = x.shape[1]
        candidates = rng.uniform(size=(self.n_candidates, width))
        best = x[np.argsort(z)[:5]]
        local = np.clip(best[rng.randint(len(best), size=self.n_candidates // 2)]
                        + rng.normal(scale=0.05, size=(self.n_candidates // 2, width)), 0, 1)
        candidates = np.vstack([candidates, local])
        mu, sigma = gp.predict(candidates)
        score = self._acquisition(mu, sigma, z.min())
        chosen = candidates[int(np.argmax(score))]
        return _decode(search_space, names, chosen)

    def _acquisition(self, mu: np.ndarray, sigma: np.ndarray, best: float) -> np.ndarray:
        """Higher is better. The GP models a loss, so ucb is a lower confidence bound."""
        if self.kind == "ucb":
            return -(mu - self.kappa * sigma)
        improvement = best - mu - self.xi
        zscore = improvement / sigma
        if self.kind == "poi":
            return _norm_cdf(zscore)
        return improvement * _norm_cdf(zscore) + sigma * _norm_pdf(zscore)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._random.sample_independent(study, trial, param_name, param_distribution)


def _encode(space: Mapping[str, BaseDistribution], names: Sequence[str],
            params: Mapping[str, Any]) -> list[float]:
    row: list[float] = []
    for n in names:
        d = space[n]
        if isinstance(d, CategoricalDistribution):
            row += [1.0 if c == params[n] else 0.0 for c in d.choices]
        else:
            row.append(_to_unit(d, params[n]))
    return row


def _decode(space: Mapping[str, BaseDistribution], names: Sequence[str],
            x: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    i = 0
    for n in names:
        d = space[n]
        if isinstance(d, CategoricalDistribution):
            k = len(d.choices)
            out[n] = d.choices[int(np.argmax(x[i:i + k]))]
            i += k
        else:
            out[n] = _from_unit(d, float(x[i]))
            i += 1
    return out


def _norm_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf)
    return 0.5 * (1.0 + erf(z / math.sqrt(2)))


class _GP:
    """Zero-mean GP regression with an RBF kernel; the length scale and noise are picked
    from a small grid by marginal likelihood (robust, no optimizer needed)."""

    def __init__(self, x: np.ndarray, alpha: np.ndarray, chol: np.ndarray,
                 length: float) -> None:
        self.x, self.alpha, self.chol, self.length = x, alpha, chol, length

    @staticmethod
    def _kernel(a: np.ndarray, b: np.ndarray, length: float) -> np.ndarray:
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.asarray(np.exp(-0.5 * d2 / (length * length)))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> _GP:
        best: tuple[float, _GP] | None = None
        scale = math.sqrt(x.shape[1])
        for length in (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0):
            for noise in (1e-6, 1e-3, 1e-2, 1e-1):
                k = cls._kernel(x, x, length * scale) + noise * np.eye(len(x))
                try:
                    chol = np.linalg.cholesky(k)
                except np.linalg.LinAlgError:
                    continue
                alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
                nll = 0.5 * float(y @ alpha) + float(np.log(np.diag(chol)).sum())
                if best is None or nll < best[0]:
                    best = (nll, cls(x, alpha, chol, length * scale))
        if best is None:  # pragma: no cover - the 1e-1 nugget always factorizes
            raise np.linalg.LinAlgError("no kernel fits")
        return best[1]

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ks = self._kernel(xs, self.x, self.length)
        mu = ks @ self.alpha
        v = np.linalg.solve(self.chol, ks.T)
        var = np.clip(1.0 - (v * v).sum(0), 1e-12, None)
        return mu, np.sqrt(var)
