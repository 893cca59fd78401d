"""``modelyard search ...``: automatic search (seed S6).

A search is a training job with ``algorithm.policies.auto_search``: ``search run -f`` and
``job create -f`` create the same thing. ``search show --watch`` follows its trials live;
``job stop ID`` (or ``search stop ID``) stops it and its running trials.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from modelyard.cli.base import App
from modelyard.cli.context import backend, console
from modelyard.cli.errors import UserFacingError

app = App(no_args_is_help=True, help="Search hyperparameters automatically.")

FINAL = ("Completed", "Failed", "Terminated", "Abnormal")
STATUS_STYLE = {"completed": "green", "running": "cyan", "pending": "cyan",
                "early_stopped": "yellow", "stopped": "yellow", "failed": "red",
                "metric_not_found": "red", "skipped": "dim"}


class SearchApi:
    """The search calls, on the embedded service or over HTTP (the same JSON either way)."""

    def __init__(self) -> None:
        self.backend = backend()

    def _call(self, method: str, rest: str, **params: Any) -> Any:
        client = self.backend.client  # type: ignore[attr-defined]
        return client.request(method, f"/v2/{client.project}{rest}", params=params or None)

    @property
    def _embedded(self) -> Any:
        service = getattr(self.backend, "service", None)
        return None if service is None else (service.search, self.backend.project)  # type: ignore[attr-defined]

    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.backend.create_job(data)

    def get(self, search_id: str) -> dict[str, Any]:
        if self._embedded:
            search, project = self._embedded
            return search.get(project, search_id)
        return self._call("GET", f"/training-jobs/{search_id}/autosearch")

    def trials(self, search_id: str) -> dict[str, Any]:
        if self._embedded:
            search, project = self._embedded
            return search.list_trials(project, search_id, limit=100_000)
        return self._call("GET", f"/training-jobs/{search_id}/autosearch-trials",
                          limit=1000)

    def trial(self, search_id: str, trial_id: str) -> dict[str, Any]:
        if self._embedded:
            search, project = self._embedded
            return search.get_trial(project, search_id, trial_id)
        return self._call("GET", f"/training-jobs/{search_id}/autosearch-trials/{trial_id}")

    def earlystop(self, search_id: str, trial_id: str) -> dict[str, Any]:
        if self._embedded:
            search, project = self._embedded
            return search.earlystop(project, search_id, trial_id)
        return self._call(
            "POST", f"/training-jobs/{search_id}/autosearch-trial-earlystop/{trial_id}")

    def analysis(self, search_id: str) -> dict[str, Any]:
        if self._embedded:
            search, project = self._embedded
            return search.parameter_analysis(project, search_id)
        return self._call("GET", f"/training-jobs/{search_id}/autosearch-parameter-analysis")

    def resume(self, search_id: str) -> dict[str, Any]:
        if self._embedded:
            search, project = self._embedded
            return search.resume(project, search_id)
        return self._call("POST", f"/training-jobs/{search_id}/autosearch-resume")

    def algorithms(self) -> dict[str, Any]:
        if self._embedded:
            search, _ = self._embedded
            return search.algorithms()
        return self._call("GET", "/search-algorithms")


def _policy_file(path: Path) -> dict[str, Any]:
    """An ``auto_search`` policy: the policy itself (ModelArts shape or legacy AutoSearch
    YAML), or a document holding it under ``auto_search`` or ``policies.auto_search``."""
    from modelyard.spec.loader import read_document  # YAML + every spec model: not for --help

    doc = read_document(path)
    if "policies" in doc and isinstance(doc["policies"], dict):
        doc = doc["policies"]
    if "auto_search" in doc and isinstance(doc["auto_search"], dict):
        doc = doc["auto_search"]
    return doc


@app.command("run")
def run(
    file: Path = typer.Option(..., "-f", "--file", help="Training job YAML or JSON"),
    policy: Path | None = typer.Option(
        None, "--policy", help="auto_search policy file (ModelArts shape or legacy AutoSearch "
        "YAML); default: the job's, else the algorithm's"),
    name: str | None = typer.Option(None, "--name", help="Search (job) name"),
    wait: bool = typer.Option(False, "--wait", help="Show the trials live; exit 0 only if "
                              "the search completes"),
) -> None:
    """Run an automatic search: a training job whose trials are training jobs."""
    from modelyard.spec.loader import read_document  # YAML + every spec model: not for --help

    data = read_document(file)
    algorithm = data.setdefault("algorithm", {})
    if not isinstance(algorithm, dict):
        raise UserFacingError("algorithm: must be a mapping")
    policies = algorithm.setdefault("policies", {}) or {}
    algorithm["policies"] = policies
    if policy is not None:
        policies["auto_search"] = _policy_file(policy)
    policies.setdefault("auto_search", {})
    if name:
        data.setdefault("metadata", {})["name"] = name
    api = SearchApi()
    record = api.create(data)
    search_id = record["metadata"]["id"]
    auto = (record.get("status") or {}).get("autosearch") or {}
    console().print(f"Created search {record['metadata']['name']} ({search_id}): "
                  f"{auto.get('algorithm')}, {auto.get('num_samples')} trials, "
                  f"{auto.get('parallel_trials')} in parallel")
    if wait:
        raise typer.Exit(_watch(api, search_id))


@app.command("show")
def show(
    search_id: str,
    watch: bool = typer.Option(False, "--watch", "-w", help="Refresh until the search ends"),
    as_json: bool = typer.Option(False, "--json", help="Print raw JSON"),
) -> None:
    """Show a search: progress, best trial, and a table of its trials."""
    api = SearchApi()
    if as_json:
        console().print_json(json.dumps(api.get(search_id)))
        return
    if watch:
        raise typer.Exit(_watch(api, search_id))
    console().print(_view(api.get(search_id), api.trials(search_id)))


@app.command("trials")
def trials(search_id: str,
           as_json: bool = typer.Option(False, "--json", help="Print raw JSON")) -> None:
    """List a search's trials."""
    api = SearchApi()
    data = api.trials(search_id)
    if as_json:
        console().print_json(json.dumps(data))
        return
    console().print(_table(data, api.get(search_id)))


@app.command("trial")
def trial(search_id: str, trial_id: str) -> None:
    """Show one trial and the metric at each step."""
    data = SearchApi().trial(search_id, trial_id)
    t = data["trial"]
    console().print(f"[bold]trial {t['number']}[/] ({t['trial_id']}) {_status(t['status'])}  "
                  f"job {t['job_name']} ({t['job_id']})")
    console().print(f"  params:  {_params(t['params'])}", markup=False)
    if t.get("message"):
        console().print(f"  message: {t['message']}", markup=False)
    for o in t.get("outputs", []):
        console().print(f"  output   {o['name']} = {o['obs_url']}", markup=False)
    table = Table("STEP", "VALUE", "BEST")
    for row in data["data"]:
        table.add_row(row[2], row[3], row[4])
    console().print(table)


@app.command("earlystop")
def earlystop(search_id: str, trial_id: str) -> None:
    """Stop one running trial early; the search goes on."""
    out = SearchApi().earlystop(search_id, trial_id)
    console().print(f"Stopping trial {out['earlystop_trial']} early")


@app.command("stop")
def stop(search_id: str) -> None:
    """Stop a search and its running trials (same as ``job stop``)."""
    rec = backend().stop_job(search_id)
    console().print(f"Stopping search {search_id}: {rec['status']['phase']}")


@app.command("resume")
def resume(search_id: str) -> None:
    """Start a new driver for a running search whose driver died."""
    rec = SearchApi().resume(search_id)
    console().print(f"Search {search_id}: {rec['status']['phase']} "
                  f"(resumed {rec['status']['autosearch']['resumes']} times)")


@app.command("analysis")
def analysis(search_id: str) -> None:
    """How much each searched hyperparameter mattered."""
    data = SearchApi().analysis(search_id)
    table = Table("PARAMETER", "TYPE", "IMPORTANCE", "BEST VALUE")
    for p in data["search_params"]:
        imp = p.get("importance")
        table.add_row(p["name"], p["type"], "" if imp is None else f"{imp:.3f}",
                      "" if p.get("best_value") is None else str(p["best_value"]))
    console().print(table)
    if data.get("message"):
        console().print(data["message"], markup=False)


@app.command("algorithms")
def algorithms() -> None:
    """List the search algorithms and their default parameters."""
    table = Table("ALGORITHM", "PARAMETERS", "DESCRIPTION")
    for a in SearchApi().algorithms()["search_algo_list"]:
        table.add_row(a["name"], ", ".join(f"{p['key']}={p['value']}" for p in a["params"]),
                      a["description"])
    console().print(table)


# ------------------------------------------------------------------ rendering


def _watch(api: SearchApi, search_id: str, interval: float = 1.0) -> int:
    """A live view until the search ends; 0 if it completed."""
    record = api.get(search_id)
    with Live(_view(record, api.trials(search_id)), console=console(),
              refresh_per_second=4, transient=False) as live:
        while record["status"]["phase"] not in FINAL:
            time.sleep(interval)
            record = api.get(search_id)
            live.update(_view(record, api.trials(search_id)))
    return 0 if record["status"]["phase"] == "Completed" else 1


def _view(record: dict[str, Any], trial_data: dict[str, Any]) -> Group:
    status = record["status"]
    auto = status.get("autosearch") or {}
    started = auto.get("trials_started", 0)
    head = Text.assemble(
        (f"{record['metadata']['name']}", "bold"), f" ({record['metadata']['id']})  ",
        (status["phase"], "green" if status["phase"] == "Completed" else "cyan"),
        f"  {auto.get('algorithm')}: {started}/{auto.get('num_samples')} trials, "
        f"{auto.get('parallel_trials')} in parallel, {auto.get('mode')} "
        f"{auto.get('reward_attr')}")
    parts: list[Any] = [head]
    best = auto.get("best_trial")
    if best:
        parts.append(Text(f"best: trial {best['number']} ({best['trial_id']}) "
                          f"{auto.get('reward_attr')}={best['value']:g}  "
                          f"{_params(best['params'])}"))
        for o in best.get("outputs", []):
            parts.append(Text(f"      {o['name']} = {o['obs_url']}"))
    if status.get("message"):
        parts.append(Text(str(status["message"]), style="dim"))
    parts.append(_table(trial_data, record))
    return Group(*parts)


def _table(data: dict[str, Any], record: dict[str, Any]) -> Table:
    auto = record["status"].get("autosearch") or {}
    reward = auto.get("reward_attr") or "value"
    trials_ = data.get("trials", [])
    names: list[str] = []
    for t in trials_:
        names += [n for n in t["params"] if n not in names]
    best = (auto.get("best_trial") or {}).get("trial_id")
    table = Table("#", "STATUS", *names, reward, "STEPS", "TIME", "JOB", box=box.SIMPLE_HEAD)
    for t in trials_:
        mark = "*" if t["trial_id"] == best else ""
        table.add_row(
            f"{t['number']}{mark}", _status(t["status"]),
            *[_value(t["params"].get(n)) for n in names],
            _value(t.get("value") if t.get("value") is not None else t.get("best_value")),
            str(t.get("steps", 0)), f"{(t.get('duration') or 0) / 1000:.0f}s",
            (t.get("job_id") or "")[:8])
    return table


def _status(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in params.items())
