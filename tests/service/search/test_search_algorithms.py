"""The conformance suite every search algorithm runs (one suite, parametrized by name).

What a search relies on from an algorithm: samples stay in the space for every parameter
type; a seed makes it repeatable; it optimizes in either direction; it copes with trials
asked in parallel, failed and pruned trials; and a second process (a resumed driver) can
continue the same study from the database.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from modelyard.service.search.algorithms import (
    ALGORITHMS,
    AnnealSampler,
    GaussianProcessSampler,
    distributions,
    make_algorithm,
)
from modelyard.service.search.journal import storage
from modelyard.spec.autosearch import SEARCH_ALGORITHMS, Dimension
from modelyard.store.db import Database
from modelyard.store.search_models import SearchRow

try:
    import cmaes  # noqa: F401

    HAVE_CMAES = True
except ImportError:  # Optuna's CMA-ES sampler needs it; the search extra should install it
    HAVE_CMAES = False
NAMES = [pytest.param(name, marks=pytest.mark.skipif(
    name == "cmaes_search" and not HAVE_CMAES, reason="the cmaes package is not installed"))
    for name in sorted(ALGORITHMS)]

# Every kind of dimension; finite, so that grid_search can run it too.
ALL_KINDS = [
    Dimension("lr", "float", low=0.001, high=0.1, step=0.011),
    Dimension("hidden", "int", low=4, high=64, step=4),
    Dimension("layers", "int", low=1, high=3),
    Dimension("act", "categorical", choices=("relu", "tanh", "logistic")),
    Dimension("shuffle", "categorical", choices=(True, False)),
    Dimension("batch", "categorical", choices=(16, 32, 64)),
]
CONTINUOUS = [
    Dimension("lr", "float", low=1e-4, high=1.0, log=True),
    Dimension("x", "float", low=-1.0, high=1.0),
    Dimension("n", "int", low=1, high=1024, log=True),
]


def objective(params: dict[str, Any]) -> float:
    """A smooth bowl with its minimum (0) at x=0.3, y=-0.2."""
    return (params["x"] - 0.3) ** 2 + (params["y"] + 0.2) ** 2


BOWL = [Dimension("x", "float", low=-1.0, high=1.0, step=0.05),
        Dimension("y", "float", low=-1.0, high=1.0, step=0.05)]


def study_for(name: str, dims: list[Dimension], seed: int = 1, direction: str = "minimize",
              store: Any = None, **params: Any) -> optuna.Study:
    sampler = make_algorithm(name, params).sampler(dims, seed)
    return optuna.create_study(sampler=sampler, direction=direction, storage=store,
                               study_name="s", load_if_exists=True)


def run(study: optuna.Study, dims: list[Dimension], n: int,
        fn: Any = objective) -> list[dict[str, Any]]:
    dist = distributions(dims)
    seen = []
    for _ in range(n):
        trial = study.ask(dist)
        seen.append(dict(trial.params))
        study.tell(trial, fn(trial.params))
    return seen


def in_space(dims: list[Dimension], params: dict[str, Any]) -> bool:
    return all(d.contains(params[d.name]) and _on_step(d, params[d.name]) for d in dims)


def _on_step(d: Dimension, v: Any) -> bool:
    if d.kind == "categorical" or not d.step:
        return True
    k = (v - d.low) / d.step
    return math.isclose(k, round(k), abs_tol=1e-6)


def fast(name: str) -> dict[str, Any]:
    """Start learning early so a short test exercises the model, not the warm-up."""
    keys = {p.key for p in SEARCH_ALGORITHMS[name].params}
    return {"n_initial_points": 4} if "n_initial_points" in keys else {}


def test_registry_matches_catalogue() -> None:
    """The spec's catalogue (what users may name) and the engines are the same set."""
    assert set(ALGORITHMS) == set(SEARCH_ALGORITHMS)


@pytest.mark.parametrize("name", NAMES)
def test_samples_stay_in_space_for_every_type(name: str) -> None:
    study = study_for(name, ALL_KINDS, **fast(name))
    for params in run(study, ALL_KINDS, 14, fn=lambda p: p["lr"] + p["hidden"] / 100):
        assert in_space(ALL_KINDS, params), params
        assert isinstance(params["hidden"], int) and isinstance(params["layers"], int)


@pytest.mark.parametrize("name", [n for n in NAMES if n.values[0] != "grid_search"])
def test_continuous_and_log_ranges(name: str) -> None:
    study = study_for(name, CONTINUOUS, **fast(name))
    seen = run(study, CONTINUOUS, 12, fn=lambda p: abs(math.log10(p["lr"]) + 2) + p["x"] ** 2)
    assert all(in_space(CONTINUOUS, p) for p in seen)
    assert len({p["lr"] for p in seen}) > 6, "a continuous parameter keeps being explored"


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_trials(name: str) -> None:
    a = run(study_for(name, BOWL, seed=7, **fast(name)), BOWL, 8)
    b = run(study_for(name, BOWL, seed=7, **fast(name)), BOWL, 8)
    assert a == b


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_optimizes_in_either_direction(name: str, direction: str) -> None:
    sign = 1 if direction == "minimize" else -1
    study = study_for(name, BOWL, direction=direction, **fast(name))
    run(study, BOWL, 30, fn=lambda p: sign * objective(p))
    assert sign * study.best_value < 0.08, study.best_params


@pytest.mark.parametrize("name", ["bayes_opt_search", "tpe_search", "anneal_search"])
def test_model_based_beat_random(name: str) -> None:
    """Over a few seeds, learning from earlier trials finds a better point than chance."""
    def mean_best(alg: str) -> float:
        dims = [BOWL[0], Dimension("y", "float", low=-1, high=1)]
        bests = []
        for seed in range(3):
            study = study_for(alg, dims, seed=seed, **fast(alg))
            run(study, dims, 25)
            bests.append(study.best_value)
        return sum(bests) / len(bests)

    assert mean_best(name) <= mean_best("random_search")


@pytest.mark.parametrize("name", NAMES)
def test_parallel_failed_and_pruned_trials(name: str) -> None:
    """Trials asked before earlier ones end (parallel slots), some failing or pruned."""
    study = study_for(name, BOWL, **fast(name))
    dist = distributions(BOWL)
    run(study, BOWL, 5)
    pending = [study.ask(dist) for _ in range(3)]
    study.tell(pending[0], state=TrialState.FAIL)
    pending[1].report(1.0, 1)
    study.tell(pending[1], state=TrialState.PRUNED)
    study.tell(pending[2], objective(pending[2].params))
    more = run(study, BOWL, 4)
    assert all(in_space(BOWL, p) for p in more)
    assert len(study.trials) == 12


@pytest.mark.parametrize("name", NAMES)
def test_a_second_process_continues_the_study(name: str, tmp_path: Path) -> None:
    """Driver restart: a new study object on the same database sees every trial so far and
    numbers new ones after them."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.session() as s:
        s.add(SearchRow(id="s1", project_id="p", name="s", policy={}, dimensions=[],
                        template={}, algorithm=name, direction="min", num_samples=10,
                        parallel=1, state="Running", created_at=0, updated_at=0))
    first = study_for(name, BOWL, store=storage(db, "s1"), **fast(name))
    run(first, BOWL, 5)
    dangling = first.ask(distributions(BOWL))  # asked, then the driver died
    second = study_for(name, BOWL, store=storage(db, "s1"), **fast(name))
    assert [t.number for t in second.trials] == [0, 1, 2, 3, 4, 5]
    assert second.trials[5].state is TrialState.RUNNING
    assert second.trials[5].params == dangling.params
    second.tell(5, objective(dangling.params))
    run(second, BOWL, 3)
    assert [t.number for t in second.trials] == list(range(9))
    db.dispose()


def test_grid_search_covers_the_grid_once() -> None:
    dims = [Dimension("a", "categorical", choices=(1, 2, 3)),
            Dimension("b", "float", low=0.0, high=1.0, step=0.5)]
    algorithm = make_algorithm("grid_search")
    assert algorithm.capacity(dims) == 9
    seen = run(study_for("grid_search", dims), dims, 9, fn=lambda p: p["a"] + p["b"])
    assert sorted((p["a"], p["b"]) for p in seen) == [
        (a, b) for a in (1, 2, 3) for b in (0.0, 0.5, 1.0)]


def test_anneal_narrows_around_the_best() -> None:
    """Late anneal samples concentrate near the optimum (the neighbourhood shrinks)."""
    dims = [Dimension("x", "float", low=-1.0, high=1.0),
            Dimension("y", "float", low=-1.0, high=1.0)]
    study = optuna.create_study(sampler=AnnealSampler(seed=3))
    seen = run(study, dims, 60)
    late = seen[-15:]
    assert sum(objective(p) for p in late) / len(late) < 0.15


@pytest.mark.parametrize("kind", ["ucb", "ei", "poi"])
def test_gp_acquisitions(kind: str) -> None:
    dims = [Dimension("x", "float", low=-1.0, high=1.0),
            Dimension("y", "float", low=-1.0, high=1.0)]
    study = optuna.create_study(sampler=GaussianProcessSampler(kind=kind, seed=2,
                                                               n_initial_points=4))
    run(study, dims, 18)
    assert study.best_value < 0.05
