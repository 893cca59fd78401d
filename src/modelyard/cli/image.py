"""``modelyard image ...``: the image store of this machine (pull, import, list, prune).

Images live where jobs run, so these commands work on the local home's store, also when
``MODELYARD_URL`` points at a server: an administrator pre-pulls or imports images on the
node itself. ``import`` is for machines without a registry (a ``docker save`` or OCI
archive carried over).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from modelyard.cli.base import App
from modelyard.cli.context import console, settings
from modelyard.cli.errors import UserFacingError

if TYPE_CHECKING:
    from modelyard.storage.images import ImageRecord, ImageStore

app = App(no_args_is_help=True)


def _store() -> ImageStore:
    from modelyard.storage.images import ImageStore

    return ImageStore(settings())


def _size(n: int) -> str:
    from modelyard.runtime.report import human_size

    return human_size(n)


def _record(r: ImageRecord, in_use: bool) -> dict[str, Any]:
    return {"digest": r.digest, "references": r.references, "size": r.size,
            "unpacked_size": r.unpacked_size, "pulled_at": r.pulled_at, "source": r.source,
            "in_use": in_use}


def _failed(exc: Exception) -> UserFacingError:
    return UserFacingError(str(exc))


@app.command("pull")
def pull(image_url: str = typer.Argument(..., help="host[:port]/namespace/name:tag or "
                                         "...@sha256:<digest>"),
         project: str = typer.Option(None, "--project", help="Use this project's registry "
                                     "credentials (registry-auth/<project>.json)"),
         ) -> None:
    """Pull an image (if its digest is not here yet) and unpack it for jobs."""
    from modelyard.storage.images import ImageError

    t0 = time.monotonic()
    try:
        record, cached = _store().pull(image_url, project)
    except ImageError as exc:
        raise _failed(exc) from None
    how = "already here" if cached else f"pulled in {time.monotonic() - t0:.1f} s"
    console().print(f"{image_url}: {record.digest} ({_size(record.size)}, unpacked "
                    f"{_size(record.unpacked_size)}), {how}", markup=False)
    for change in record.cleared if not cached else []:
        console().print(f"  made safe: {change}", markup=False)


@app.command("import")
def import_(archive: Path = typer.Argument(..., help="A docker save or OCI archive (.tar)"),
            reference: str = typer.Option(None, "--as", help="The image_url jobs will use "
                                          "for it (host/namespace/name:tag)"),
            ) -> None:
    """Import an image archive (for machines without a registry)."""
    from modelyard.storage.images import ImageError

    try:
        record = _store().import_archive(archive, reference)
    except ImageError as exc:
        raise _failed(exc) from None
    console().print(f"{archive}: {record.digest} ({_size(record.size)}, unpacked "
                    f"{_size(record.unpacked_size)})"
                    + (f" as {reference}" if reference else ""), markup=False)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="One JSON array")) -> None:
    """List the images of this machine (digest, references, sizes, in use by a job)."""
    store = _store()
    rows = [(r, store.in_use(r)) for r in store.images()]
    if as_json:
        print(json.dumps([_record(r, used) for r, used in rows]), flush=True)
        return
    from rich.table import Table

    table = Table("DIGEST", "REFERENCES", "SIZE", "UNPACKED", "IN USE", box=None)
    for r, used in rows:
        table.add_row(r.digest[:19], ", ".join(r.references) or "(superseded)",
                      _size(r.size), _size(r.unpacked_size), "yes" if used else "")
    console().print(table)


@app.command("prune")
def prune(everything: bool = typer.Option(False, "--all", help="Remove every image no job "
                                          "uses, not only the superseded ones"),
          ) -> None:
    """Remove images no reference names any more (a tag that moved), or with --all every
    image no job uses; then the layers no image needs."""
    from modelyard.storage.images import ImageError

    try:
        removed, busy = _store().prune(everything)
    except ImageError as exc:
        raise _failed(exc) from None
    for r in removed:
        console().print(f"removed {r.digest} ({', '.join(r.references) or 'superseded'})",
                        markup=False)
    for r in busy:
        console().print(f"kept {r.digest}: in use by a job", markup=False)
    if not removed and not busy:
        console().print("nothing to prune")
