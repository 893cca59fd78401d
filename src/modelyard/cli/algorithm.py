"""``modelyard algorithm ...``"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from modelyard.cli.base import App
from modelyard.cli.context import backend, console, err_console

app = App(no_args_is_help=True)


@app.command("create")
def create(file: Path = typer.Option(..., "-f", "--file", help="Algorithm YAML or JSON")) -> None:
    """Create an algorithm from a file."""
    from modelyard.spec.loader import read_document  # YAML + every spec model: not for --help

    record, warnings = backend().create_algorithm(read_document(file))
    for w in warnings:
        err_console().print(f"warning: {w}", markup=False)
    meta = record["metadata"]
    console().print(f"Created algorithm {meta['name']} ({meta['id']})")


@app.command("list")
def list_() -> None:
    """List algorithms."""
    table = Table("NAME", "ID", "MODE", "BOOT", "PARAMETERS", "CREATED")
    for rec in backend().list_algorithms():
        cfg = rec.get("job_config", {})
        boot = cfg.get("boot_file") or cfg.get("command") or ""
        engine = cfg.get("engine") or {}
        mode = "custom image" if engine.get("image_url") else "preset"
        table.add_row(rec["metadata"]["name"], rec["metadata"]["id"], mode, boot,
                      str(len(cfg.get("parameters", []))), _time(rec["metadata"]))
    console().print(table)


@app.command("show")
def show(name: str) -> None:
    """Show an algorithm (by name or id) as JSON."""
    console().print_json(json.dumps(backend().get_algorithm(name)))


@app.command("delete")
def delete(name: str) -> None:
    """Delete an algorithm (by name or id)."""
    backend().delete_algorithm(name)
    console().print(f"Deleted algorithm {name}")


def _time(meta: dict[str, Any]) -> str:
    import time

    t = meta.get("create_time")
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t / 1000)) if t else ""
