"""Automatic search benchmark: the same search, three ways, on the digits task.

1. **ModelYard**: ``examples/digits`` searched as a ModelYard search job on the embedded
   service (a temporary home): every trial is a training job running the example's
   unchanged ``train.py``, the metric is read from its log, trials are pruned by stopping
   their jobs.
2. **Ray Tune + OptunaSearch** (``pip install "ray[tune]"``): the same training loop as a Ray
   Tune function trainable, the same TPE sampler, Ray's MedianStoppingRule.
3. **Optuna in one process** (the floor): the same loop as an objective, ``n_jobs`` threads,
   the same TPE sampler and a median pruner; no process per trial, no job, no log.

Same space (learning rate log [1e-4, 1e-1], hidden size [8, 128], activation), same budget
(trials, parallel trials, epochs), same sampler (TPE, 10 random startup trials, seed 1) and
the same median early stopping (3 startup trials, 2 warm-up epochs). Reported: best
accuracy, wall time, epochs run (compute saved by early stopping = 1 - epochs run /
(trials x epochs)), and for ModelYard the per-trial overhead (a trial job's wall time minus
its training process's).

Usage: python bench/search.py [--trials 40] [--parallel 2] [--epochs 5]
                              [--only modelyard,ray,optuna] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "digits"
LR = (1e-4, 1e-1)
HIDDEN = (8, 128)
ACTIVATIONS = ["relu", "tanh", "logistic"]
SEED = 1
STARTUP = 10


# ------------------------------------------------------------- shared training loop


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The split train.py makes (prepare_data.py's data, /16, 25 % test, seed 0)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.data.astype(np.float64) / 16.0
    parts = train_test_split(x, d.target, test_size=0.25, random_state=0, stratify=d.target)
    return parts[0], parts[1], parts[2], parts[3]


def train_epochs(params: dict[str, Any], epochs: int, data: Any) -> Iterator[float]:
    """train.py's loop: one accuracy per epoch."""
    from sklearn.neural_network import MLPClassifier

    x_train, x_test, y_train, y_test = data
    model = MLPClassifier(hidden_layer_sizes=(int(params["hidden_size"]),),
                          activation=params["activation"],
                          learning_rate_init=float(params["learning_rate"]), random_state=0,
                          shuffle=True)
    rng = np.random.default_rng(0)
    classes = np.arange(10)
    for _ in range(epochs):
        order = rng.permutation(len(y_train))
        for batch in np.array_split(order, max(1, len(order) // 64)):
            model.partial_fit(x_train[batch], y_train[batch], classes=classes)
        yield float(model.score(x_test, y_test))


# ------------------------------------------------------------------------ ModelYard


def run_modelyard(trials: int, parallel: int, epochs: int) -> dict[str, Any]:
    import yaml

    from modelyard.service import Service
    from modelyard.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="modelyard-bench-"))
    try:
        settings = Settings(home=home)
        service = Service(settings)
        shutil.copytree(EXAMPLE / "code", settings.obs_root / "demo" / "digits" / "code")
        import subprocess

        subprocess.run([sys.executable, str(EXAMPLE / "prepare_data.py"),
                        str(settings.obs_root / "demo" / "digits" / "data")], check=True)
        service.algorithms.create("p", yaml.safe_load((EXAMPLE / "algorithm.yaml").read_text()))
        job = yaml.safe_load((EXAMPLE / "search.yaml").read_text())
        job["algorithm"]["parameters"] = [{"name": "epochs", "value": epochs}]
        auto = job["algorithm"]["policies"]["auto_search"]
        auto["search_params"] = [
            {"name": "learning_rate", "param_type": "continuous", "lower_bound": LR[0],
             "upper_bound": LR[1], "scale": "log"},
            {"name": "hidden_size", "param_type": "integer", "lower_bound": HIDDEN[0],
             "upper_bound": HIDDEN[1]},
            {"name": "activation", "param_type": "categorical", "discrete_values": ACTIVATIONS},
        ]
        auto["algo_configs"] = [{"name": "tpe_search", "params": [
            {"key": "num_samples", "value": str(trials)},
            {"key": "n_initial_points", "value": str(STARTUP)},
            {"key": "seed", "value": str(SEED)}]}]
        auto["parallel_trials"] = parallel
        auto["early_stopping"] = {"type": "median", "startup_trials": 3, "warmup_steps": 2}
        start = time.time()
        rec = service.jobs.create("p", job)
        search_id = rec["metadata"]["id"]
        while service.jobs.get("p", search_id)["status"]["phase"] not in (
                "Completed", "Failed", "Terminated"):
            time.sleep(1)
        wall = time.time() - start
        found = service.search.list_trials("p", search_id, limit=100_000)["trials"]
        overheads = []
        for t in found:
            if t["status"] != "completed":
                continue
            events = service.jobs.events("p", t["job_id"])[0]
            times = {e["message"].split(":")[0]: e["timestamp"] / 1000 for e in events}
            created = min(e["timestamp"] / 1000 for e in events)
            ended = max(e["timestamp"] / 1000 for e in events)
            started = times.get("Job started")
            exited = next((e["timestamp"] / 1000 for e in events
                           if e["message"].startswith("Process exited")), None)
            if started and exited:
                overheads.append((ended - created) - (exited - started))
        done = [t for t in found if t["value"] is not None]
        result = {
            "name": "ModelYard (trials are jobs)", "wall": wall,
            "best": max((t["value"] for t in done), default=None),
            "epochs_run": sum(t["steps"] for t in found), "trials": len(found),
            "pruned": sum(t["status"] == "early_stopped" for t in found),
            "overhead": sum(overheads) / len(overheads) if overheads else None,
        }
        service.close()
        return result
    finally:
        shutil.rmtree(home, ignore_errors=True)


# ------------------------------------------------------------------------ Ray Tune


def run_ray(trials: int, parallel: int, epochs: int) -> dict[str, Any]:
    import optuna
    import ray
    from ray import tune
    from ray.tune.schedulers import MedianStoppingRule
    from ray.tune.search.optuna import OptunaSearch

    storage = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    data = digits_split()

    def trainable(config: dict[str, Any]) -> None:
        for accuracy in train_epochs(config, epochs, data):
            tune.report({"accuracy": accuracy})

    start = time.time()
    for attempt in range(3):  # Ray gives its node 30 s to start: too short on a busy host
        try:
            ray.init(num_cpus=parallel, include_dashboard=False, logging_level="ERROR",
                     log_to_driver=False)
            break
        except Exception as exc:
            print(f"  ray.init failed ({exc}); retrying", flush=True)
            ray.shutdown()
            if attempt == 2:
                raise
    try:
        searcher = OptunaSearch(
            metric="accuracy", mode="max",
            sampler=optuna.samplers.TPESampler(n_startup_trials=STARTUP, seed=SEED))
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space={"learning_rate": tune.loguniform(*LR),
                         "hidden_size": tune.randint(HIDDEN[0], HIDDEN[1] + 1),
                         "activation": tune.choice(ACTIVATIONS)},
            tune_config=tune.TuneConfig(
                search_alg=searcher, num_samples=trials, max_concurrent_trials=parallel,
                scheduler=MedianStoppingRule(time_attr="training_iteration",
                                             metric="accuracy", mode="max", grace_period=2,
                                             min_samples_required=3)),
            run_config=tune.RunConfig(storage_path=str(storage), verbose=0),
        )
        results = tuner.fit()
        wall = time.time() - start
        frame = results.get_dataframe()
        epochs_run = int(frame["training_iteration"].sum())
        pruned = int((frame["training_iteration"] < epochs).sum())
        best = results.get_best_result(metric="accuracy", mode="max", scope="last")
        return {"name": "Ray Tune + OptunaSearch", "wall": wall,
                "best": float(best.metrics["accuracy"]), "epochs_run": epochs_run,
                "trials": len(frame), "pruned": pruned, "overhead": None}
    finally:
        ray.shutdown()
        shutil.rmtree(storage, ignore_errors=True)


# -------------------------------------------------------------------------- Optuna


def run_optuna(trials: int, parallel: int, epochs: int) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = digits_split()
    counter = {"epochs": 0}
    lock = threading.Lock()

    def objective(trial: optuna.Trial) -> float:
        params = {"learning_rate": trial.suggest_float("learning_rate", *LR, log=True),
                  "hidden_size": trial.suggest_int("hidden_size", *HIDDEN),
                  "activation": trial.suggest_categorical("activation", ACTIVATIONS)}
        accuracy = 0.0
        for epoch, accuracy in enumerate(train_epochs(params, epochs, data), start=1):
            with lock:
                counter["epochs"] += 1
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return accuracy

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(n_startup_trials=STARTUP, seed=SEED,
                                           constant_liar=True),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2))
    start = time.time()
    study.optimize(objective, n_trials=trials, n_jobs=parallel)
    wall = time.time() - start
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    return {"name": "Optuna, one process (floor)", "wall": wall, "best": study.best_value,
            "epochs_run": counter["epochs"], "trials": len(study.trials), "pruned": pruned,
            "overhead": None}


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description="ModelYard vs Ray Tune vs Optuna search")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--only", default="modelyard,ray,optuna")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    runners = {"modelyard": run_modelyard, "ray": run_ray, "optuna": run_optuna}
    rows = []
    for name in args.only.split(","):
        print(f"running {name}: {args.trials} trials, {args.parallel} in parallel, "
              f"{args.epochs} epochs ...", flush=True)
        try:
            row = runners[name](args.trials, args.parallel, args.epochs)
        except ImportError as exc:
            print(f"  skipped: {exc}", flush=True)
            continue
        print(f"  {row}", flush=True)
        rows.append(row)
    budget = args.trials * args.epochs
    print()
    print(f"{args.trials} trials, {args.parallel} in parallel, {args.epochs} epochs each "
          f"(budget {budget} epochs); TPE seed {SEED}, median early stopping")
    print()
    print("| run | best accuracy | wall time | epochs run | early-stopped trials | "
          "compute saved | per-trial overhead |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        saved = 1 - r["epochs_run"] / budget
        overhead = "" if r["overhead"] is None else f"{r['overhead']:.1f} s"
        best = "n/a" if r["best"] is None else f"{r['best']:.4f}"
        print(f"| {r['name']} | {best} | {r['wall']:.0f} s | {r['epochs_run']} | "
              f"{r['pruned']}/{r['trials']} | {saved:.0%} | {overhead} |")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
