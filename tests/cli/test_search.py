"""``modelyard search``: the digits example searched from the CLI, its code untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .clikit import cli, fresh_context  # noqa: F401  (an autouse fixture)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"


def test_algorithms_are_listed() -> None:
    code, out = cli("search", "algorithms")
    assert code == 0
    for name in ("bayes_opt_search", "tpe_search", "anneal_search", "grid_search"):
        assert name in out


def test_policy_errors_are_one_line(tmp_path: Path) -> None:
    assert cli("algorithm", "create", "-f", str(EXAMPLE / "algorithm.yaml"))[0] == 0
    job = yaml.safe_load((EXAMPLE / "search.yaml").read_text())
    job["algorithm"]["policies"]["auto_search"]["search_params"][1]["upper_bound"] = 5000
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(job))
    code, out = cli("search", "run", "-f", str(path))
    assert code == 2
    assert out.strip().splitlines() == [
        "error: algorithm.policies.auto_search.search_params[1].upper_bound: 5000 is not "
        "allowed: the hyperparameter's constraint allows [4, 1024] (seed S3.6)"]


@pytest.mark.slow
def test_digits_search_from_the_cli(tmp_path: Path) -> None:
    """The example's search.yaml, smaller (3 trials of 2 epochs, 2 at a time), with a
    legacy AutoSearch YAML policy file for good measure."""
    cli("storage", "cp", "-r", str(EXAMPLE / "code"), "obs://demo/digits/code/")
    data = tmp_path / "data"
    subprocess.run([sys.executable, str(EXAMPLE / "prepare_data.py"), str(data)], check=True)
    cli("storage", "cp", "-r", str(data), "obs://demo/digits/data/")
    assert cli("algorithm", "create", "-f", str(EXAMPLE / "algorithm.yaml"))[0] == 0
    job = yaml.safe_load((EXAMPLE / "search.yaml").read_text())
    job["algorithm"]["parameters"] = [{"name": "epochs", "value": 2}]
    del job["algorithm"]["policies"]
    legacy = {
        "search_space": [{"params": [
            {"type": "continuous_param", "name": "learning_rate", "start": 0.001,
             "stop": 0.05, "scale": "log"},
            {"type": "integer_param", "name": "hidden_size", "start": 16, "stop": 64},
            {"type": "discrete_param", "name": "activation", "values": ["relu", "tanh"]}]}],
        "search_algorithm": {"type": "anneal_search", "reward_attr": "accuracy",
                             "mode": "max", "num_samples": 3, "max_concurrent": 2},
    }
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    (tmp_path / "autosearch.yaml").write_text(yaml.safe_dump(legacy))
    code, out = cli("search", "run", "-f", str(tmp_path / "job.yaml"),
                    "--policy", str(tmp_path / "autosearch.yaml"), "--wait")
    assert code == 0, out
    assert "Created search digits-search" in out and "anneal_search, 3 trials, 2 in" in out
    search_id = out.split("(", 1)[1].split(")", 1)[0]
    code, out = cli("search", "show", search_id)
    assert code == 0 and "Completed" in out and "best: trial" in out
    assert "obs://demo/digits/search/trial-" in out
    code, out = cli("search", "trials", search_id, "--json")
    trials = json.loads(out)["trials"]
    assert len(trials) == 3 and {t["status"] for t in trials} == {"completed"}
    assert all(0.5 < t["value"] <= 1.0 for t in trials)
    for t in trials:  # each trial is an ordinary job
        code, out = cli("job", "show", t["job_id"], "--json")
        assert json.loads(out)["metadata"]["name"] == f"digits-search-trial-{t['number']}"
    code, out = cli("search", "trial", search_id, trials[0]["trial_id"])
    assert code == 0 and "STEP" in out
    code, out = cli("search", "analysis", search_id)
    assert code == 0 and "learning_rate" in out
