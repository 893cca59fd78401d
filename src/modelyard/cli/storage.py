"""``modelyard storage ...``: the transfer engine from the command line.

Each command imports what it needs (the transfer engine, settings, rich.progress) itself, so
that ``storage cp --help`` starts without them and ``storage cp`` without ``ls``'s. The
summary line ends with the engine's own time; ``--json`` gives the whole report to scripts
(``bench/transfer.py`` reads the engine's time from it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from modelyard.cli.base import App
from modelyard.cli.context import console, settings
from modelyard.cli.errors import UserFacingError

app = App(no_args_is_help=True)


def _is_url(text: str) -> bool:
    return "://" in text


@app.command("cp")
def cp(src: str, dst: str,
       recursive: bool = typer.Option(False, "-r", "--recursive", help="Copy a folder/prefix"),
       as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON "
                                    "object (files, bytes, skipped, deferred, retries, "
                                    "seconds, errors) instead of the summary line"),
       ) -> None:
    """Copy between a local path and object storage (obs://, s3://, file://)."""
    from modelyard.spec.paths import parse_location
    from modelyard.storage.transfer import TransferEngine

    with TransferEngine(settings()) as engine, _progress(f"{src} → {dst}") as advance:
        if _is_url(src) and not _is_url(dst):
            loc = parse_location(src, "SRC")
            if loc.is_dir and not recursive:
                raise UserFacingError(f"SRC: {src!r} is a prefix; use -r to copy it")
            report = engine.download(loc, Path(dst), advance)
        elif not _is_url(src) and _is_url(dst):
            path = Path(src)
            if not path.exists():
                raise UserFacingError(f"SRC: {src!r} does not exist")
            if path.is_dir() and not recursive:
                raise UserFacingError(f"SRC: {src!r} is a folder; use -r to copy it")
            target = parse_location(dst, "DST")
            if path.is_file() and target.is_dir:
                target = target.child(path.name)
                report = engine.upload(path, target.url, advance)
            else:
                report = engine.upload(path, target, advance)
        else:
            raise UserFacingError("one of SRC and DST is a local path, the other a URL")
    if as_json:
        import dataclasses
        import json

        print(json.dumps(dataclasses.asdict(report)), flush=True)
        return
    summary = (f"Copied {report.files} files ({report.bytes} bytes), "
               f"skipped {report.skipped} unchanged, in {report.seconds:.2f} s")
    if sys.stdout.isatty():
        console().print(summary)
    else:  # a script or a pipe: plain text, without importing rich (~0.08 s, issue 20)
        print(summary, flush=True)


@contextmanager
def _progress(description: str) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar with bytes/s, on a terminal only: into a file or a pipe it
    would print nothing useful, and not importing rich saves a script ~0.1 s."""
    if not sys.stdout.isatty() or not console().is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=console(),
                  transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda n: bar.advance(task, n)


@app.command("ls")
def ls(url: str) -> None:
    """List objects under a URL."""
    from rich.table import Table

    from modelyard.spec.paths import parse_location
    from modelyard.storage.registry import store_for

    loc = parse_location(url, "URL")
    store = store_for(loc, settings())
    table = Table("SIZE", "KEY")
    for info in store.list(loc.bucket, loc.key):
        table.add_row(str(info.size), f"{loc.scheme}://{loc.bucket}/{info.key}"
                      if loc.scheme != "file" else f"file:///{info.key}")
    console().print(table)
