"""``modelyard job ...``"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from modelyard.cli.base import App
from modelyard.cli.context import backend, console, parse_pairs
from modelyard.cli.errors import UserFacingError
from modelyard.spec.status import Phase
from modelyard.spec.volumes import parse_mount_option

app = App(no_args_is_help=True)

WAIT_HELP = "Follow the log; exit 0 only if the job completes"


@app.command("create")
def create(
    file: Path = typer.Option(..., "-f", "--file", help="Training job YAML or JSON"),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
) -> None:
    """Create a training job from a file (ModelArts v2 JSON shape)."""
    from modelyard.spec.loader import read_document  # YAML + every spec model: not for --help

    _submit(read_document(file), wait)


@app.command("submit")
def submit(
    file: Path = typer.Option(..., "-f", "--file",
                              help="A ma-cli ma-job submit YAML, or a v2 job file"),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
) -> None:
    """Submit a job file as ModelArts' ma-cli ma-job submit takes it (code-dir, boot-file,
    framework-type, data-url, train-instance-type...); v2 job files work too."""
    from modelyard.spec.loader import read_document
    from modelyard.spec.macli import from_ma_cli, is_ma_cli_document

    data = read_document(file)
    if is_ma_cli_document(data):
        data, notes = from_ma_cli(data)
        for note in notes:
            console().print(f"note: {note}", markup=False)
    _submit(data, wait)


@app.command("run")
def run(
    algorithm: str = typer.Option(..., "--algorithm", "-a", help="Algorithm name or id"),
    name: str | None = typer.Option(None, "--name", help="Job name (default: algorithm-time)"),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="Hyperparameter NAME=VALUE"),
    remove_param: list[str] | None = typer.Option(
        None, "--remove-param", help="Remove an optional hyperparameter"
    ),
    input_: list[str] | None = typer.Option(
        None, "--input", "-i", help="Input NAME=URL or NAME=dataset:DATASET:VERSION"),
    output: list[str] | None = typer.Option(
        None, "--output", "-o", help="Output NAME=URL or NAME=URL,prefetch"
    ),
    env: list[str] | None = typer.Option(None, "--env", "-e", help="Environment NAME=VALUE"),
    flavor: str | None = typer.Option(None, "--flavor", help="Flavor id (modelyard job flavors)"),
    mount: list[str] | None = typer.Option(
        None, "--mount", help="File system INSTANCE:DIR_IN_FS:MOUNT_PATH[:ro]"),
    retries: int | None = typer.Option(
        None, "--retries", help="Restarts after a failure (0-3, fault-tolerance/job-retry-num)"),
    priority: int | None = typer.Option(None, "--priority", help="Queue priority 1-3"),
    max_time: int | None = typer.Option(
        None, "--max-time", help="Stop the job after this many seconds (spec.auto_stop)"),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
) -> None:
    """Run a training job from an algorithm."""
    parameters: list[dict[str, Any]] = [{"name": k, "value": v}
                                        for k, v in parse_pairs(param, "--param")]
    parameters += [{"name": k, "value": None} for k in remove_param or []]
    outputs = []
    for k, v in parse_pairs(output, "--output"):
        url, _, flag = v.partition(",")
        if flag not in ("", "prefetch"):
            raise UserFacingError(f"--output: {v!r} is not allowed: use NAME=URL[,prefetch]")
        item: dict[str, Any] = {"name": k, "remote": {"obs": {"obs_url": url}}}
        if flag:
            item["prefetch_to_local"] = True
        outputs.append(item)
    spec: dict[str, Any] = {}
    if flavor:
        spec["resource"] = {"flavor_id": flavor, "node_count": 1}
    if mount:
        spec["volumes"] = [parse_mount_option(m, "--mount") for m in mount]
    if priority is not None:
        spec["schedule_policy"] = {"priority": priority}
    if max_time is not None:
        spec["auto_stop"] = {"enabled": True, "duration_seconds": max_time}
    annotations = {} if retries is None else {"fault-tolerance/job-retry-num": str(retries)}
    data: dict[str, Any] = {
        "kind": "job",
        "metadata": {"name": name or f"{algorithm}-{time.strftime('%Y%m%d-%H%M%S')}"[:64],
                     "annotations": annotations},
        "algorithm": {
            "name": algorithm,
            "parameters": parameters,
            "inputs": [{"name": k, "remote": _input_remote(v)}
                       for k, v in parse_pairs(input_, "--input")],
            "outputs": outputs,
            "environments": dict(parse_pairs(env, "--env")),
        },
        "spec": spec,
    }
    _submit(data, wait)


def _input_remote(value: str) -> dict[str, Any]:
    """``URL``, or ``dataset:DATASET:VERSION`` for a published dataset version (issue 18)."""
    if not value.startswith("dataset:"):
        return {"obs": {"obs_url": value}}
    dataset, sep, version = value.removeprefix("dataset:").partition(":")
    if not (dataset and sep and version):
        raise UserFacingError(f"--input: {value!r} is not allowed: use "
                              "NAME=dataset:DATASET_ID:VERSION_ID")
    return {"dataset": {"id": dataset, "version_id": version}}


def _submit(data: dict[str, Any], wait: bool) -> None:
    record = backend().create_job(data)
    job_id = record["metadata"]["id"]
    console().print(f"Created training job {record['metadata']['name']} ({job_id})")
    if wait:
        raise typer.Exit(follow(job_id))


def follow(job_id: str) -> int:
    """Streams the log to the end; returns 0 if the job completed, 1 otherwise."""
    for chunk in backend().follow_log(job_id, follow=True):
        sys.stdout.write(chunk)
        sys.stdout.flush()
    status = backend().get_job(job_id)["status"]
    phase = status["phase"]
    message = f" ({status['message']})" if status.get("message") else ""
    console().print(f"Job {job_id} {phase}{message}")
    return 0 if phase == Phase.COMPLETED.value else 1


@app.command("list")
def list_(
    phase: str | None = typer.Option(None, "--phase", help="Only jobs in this phase"),
) -> None:
    """List training jobs, newest first."""
    table = Table("ID", "NAME", "ALGORITHM", "PHASE", "DURATION", "CREATED")
    for rec in backend().list_jobs(phase):
        meta, status = rec["metadata"], rec["status"]
        table.add_row(meta["id"], meta["name"], rec["algorithm"].get("name") or "(inline)",
                      status["phase"], _duration(status.get("duration") or 0),
                      time.strftime("%Y-%m-%d %H:%M:%S",
                                    time.localtime(meta["create_time"] / 1000)))
    console().print(table)


@app.command("show")
def show(job_id: str, as_json: bool = typer.Option(False, "--json", help="Print raw JSON")) -> None:
    """Show a training job."""
    rec = backend().get_job(job_id)
    if as_json:
        console().print_json(json.dumps(rec))
        return
    meta, status, algo = rec["metadata"], rec["status"], rec["algorithm"]
    console().print(f"[bold]{meta['name']}[/] ({meta['id']})")
    console().print(f"  phase:      {status['phase']}"
                  + (f" / {status['secondary_phase']}" if status.get("secondary_phase")
                     and status["secondary_phase"] != status["phase"] else ""))
    if status.get("message"):
        console().print(f"  message:    {status['message']}", markup=False)
    console().print(f"  algorithm:  {algo.get('name') or '(inline)'}")
    console().print(f"  duration:   {_duration(status.get('duration') or 0)}")
    for p in algo.get("parameters", []):
        console().print(f"  param       {p['name']}={p.get('value')}", markup=False)
    for kind in ("inputs", "outputs"):
        for c in algo.get(kind, []):
            url = c.get("remote", {}).get("obs", {}).get("obs_url")
            if url is None and "dataset" in c.get("remote", {}):
                ds = c["remote"]["dataset"]
                url = f"dataset {ds.get('id')} version {ds.get('version_id')}"
            console().print(f"  {kind[:-1]:<11} {c['name']} = {url}", markup=False)


@app.command("logs")
def logs(job_id: str, follow_: bool = typer.Option(False, "-f", "--follow",
                                                    help="Keep following the log"),
         task: str = typer.Option("worker-0", "--task",
                                  help="Which task's log: worker-0 … worker-<n-1> for a job "
                                  "of n nodes")) -> None:
    """Print a job's log (one task's: a multi-node job has one log per node)."""
    for chunk in backend().follow_log(job_id, follow=follow_, task=task):
        sys.stdout.write(chunk)
        sys.stdout.flush()


@app.command("events")
def events(job_id: str) -> None:
    """Show a job's events."""
    table = Table("TIME", "LEVEL", "SOURCE", "MESSAGE")
    for e in backend().job_events(job_id):
        table.add_row(e["time"], e["level"], e["source"], e["message"])
    console().print(table)


@app.command("flavors")
def flavors() -> None:
    """List the flavors jobs can ask for (spec.resource.flavor_id)."""
    table = Table("FLAVOR", "TYPE", "CPU", "MEMORY", "GPU")
    for f in backend().list_flavors():
        info = f["flavor_info"]
        table.add_row(f["flavor_id"], f["flavor_type"], str(info["cpu"]["core_num"]),
                      f"{info['memory']['size']:g} GB", str(info.get("gpu", {}).get("unit_num", 0)))
    console().print(table)


@app.command("stop")
def stop(job_id: str) -> None:
    """Stop a job (SIGTERM, then SIGKILL after a grace period; outputs are still uploaded)."""
    rec = backend().stop_job(job_id)
    console().print(f"Stopping training job {job_id}: {rec['status']['phase']}")


@app.command("delete")
def delete(job_id: str) -> None:
    """Delete a finished job and its folder (its outputs in storage stay)."""
    backend().delete_job(job_id)
    console().print(f"Deleted training job {job_id}")


def _duration(ms: int) -> str:
    s = int(ms / 1000)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
