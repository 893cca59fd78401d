"""``modelyard dataset ...``: create and import datasets, label statistics, versions.

Talks to the server when MODELYARD_URL is set (``client.datasets``), else drives the
embedded service. A version is used as a job input with
``modelyard job run ... --input data_url=dataset:DATASET:VERSION``.
"""

from __future__ import annotations

import builtins
import json
from functools import cache
from typing import Any, Protocol

import typer
from rich.table import Table

from modelyard.cli.base import App
from modelyard.cli.context import backend, console, settings

app = App(no_args_is_help=True)

TYPES = ("0 image classification, 1 object detection, 3 image segmentation, 100 text "
         "classification, 101 named-entity recognition, 102 text triplet, 200 sound "
         "classification, 201 speech content, 202 speech paragraph, 400 table, 600 video, "
         "900 free format")
STATUS = {0: "creating", 1: "normal", 2: "deleting", 3: "deleted", 4: "abnormal",
          8: "importing"}


class Datasets(Protocol):
    def create(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def list(self) -> builtins.list[dict[str, Any]]: ...
    def get(self, dataset: str) -> dict[str, Any]: ...
    def delete(self, dataset: str) -> dict[str, Any]: ...
    def import_(self, dataset: str, import_path: str, import_annotations: bool = True
                ) -> dict[str, Any]: ...
    def samples(self, dataset: str, offset: int = 0, limit: int = 100,
                label: str | None = None) -> dict[str, Any]: ...
    def stats(self, dataset: str) -> dict[str, Any]: ...
    def create_version(self, dataset: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def versions(self, dataset: str) -> builtins.list[dict[str, Any]]: ...
    def version(self, dataset: str, version: str) -> dict[str, Any]: ...


class EmbeddedDatasets:
    """The dataset service in this process, with the client's method names."""

    def __init__(self, service: Any, project: str) -> None:
        self.ds = service.datasets
        self.project = project

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.ds.create(self.project, body))

    def list(self) -> builtins.list[dict[str, Any]]:
        return builtins.list(self.ds.list(self.project))

    def get(self, dataset: str) -> dict[str, Any]:
        return dict(self.ds.get(self.project, dataset))

    def delete(self, dataset: str) -> dict[str, Any]:
        return dict(self.ds.delete(self.project, dataset))

    def import_(self, dataset: str, import_path: str, import_annotations: bool = True
                ) -> dict[str, Any]:
        return dict(self.ds.import_(self.project, dataset, {
            "import_path": import_path, "import_annotations": import_annotations}))

    def samples(self, dataset: str, offset: int = 0, limit: int = 100,
                label: str | None = None) -> dict[str, Any]:
        return dict(self.ds.samples(self.project, dataset, offset, limit, label))

    def stats(self, dataset: str) -> dict[str, Any]:
        return dict(self.ds.stats(self.project, dataset))

    def create_version(self, dataset: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.ds.create_version(self.project, dataset, body))

    def versions(self, dataset: str) -> builtins.list[dict[str, Any]]:
        return builtins.list(self.ds.versions(self.project, dataset))

    def version(self, dataset: str, version: str) -> dict[str, Any]:
        return dict(self.ds.version(self.project, dataset, version))


@cache
def datasets() -> Datasets:
    s = settings()
    if s.url:
        from modelyard.client.datasets import DatasetClient
        from modelyard.client.http import ModelYardClient

        return DatasetClient(ModelYardClient(s.url))
    return EmbeddedDatasets(getattr(backend(), "service"),  # noqa: B009 - Backend protocol
                            getattr(backend(), "project", s.project))


def _print_json(record: Any) -> None:
    console().print_json(json.dumps(record))


def _print_import(task: dict[str, Any] | None) -> None:
    if not task:
        return
    console().print(f"Imported {task['imported_sample_count']} new sample(s) from "
                    f"{task['import_path']} ({task['annotated_sample_count']} annotated)",
                    markup=False)
    skipped = (task["not_sample_count"], task["unreadable_count"],
               task["broken_annotation_count"])
    if any(skipped):
        console().print(f"Not imported: {skipped[0]} not samples of this type, {skipped[1]} "
                        f"unreadable, {skipped[2]} broken annotations; first ones:",
                        markup=False)
        for p in task["problems"]:
            console().print(f"  {p['path']}: {p['reason']}", markup=False)


@app.command("create")
def create(
    name: str,
    data: str = typer.Option(..., "--data", help="Data source: obs://bucket/folder/"),
    work: str = typer.Option(..., "--work", help="Work path for versions: obs://bucket/folder/"),
    kind: int = typer.Option(0, "--type", help=f"dataset_type: {TYPES}"),
    no_annotations: bool = typer.Option(False, "--no-annotations",
                                        help="Import files only, without their labels"),
    no_import: bool = typer.Option(False, "--no-import", help="Create empty"),
    description: str | None = typer.Option(None, "--description"),
    as_json: bool = typer.Option(False, "--json", help="Print raw JSON"),
) -> None:
    """Create a dataset and import its data source (one folder per label, PASCAL VOC)."""
    body: dict[str, Any] = {
        "dataset_name": name, "dataset_type": kind, "work_path": work,
        "data_sources": [{"data_type": 0, "data_path": data}],
        "import_annotations": not no_annotations, "import_data": not no_import}
    if description is not None:
        body["description"] = description
    rec = datasets().create(body)
    if as_json:
        _print_json(rec)
        return
    console().print(f"Created dataset {rec['dataset_name']} ({rec['dataset_id']}): "
                    f"{rec['total_sample_count']} sample(s)", markup=False)
    _print_import(rec.get("last_import"))


@app.command("import")
def import_(
    dataset: str,
    path: str = typer.Argument(..., help="A folder, or a .manifest file, in object storage"),
    no_annotations: bool = typer.Option(False, "--no-annotations"),
) -> None:
    """Import more samples into a dataset."""
    _print_import(datasets().import_(dataset, path, not no_annotations))


@app.command("list")
def list_() -> None:
    """List datasets."""
    table = Table("NAME", "ID", "TYPE", "STATUS", "SAMPLES", "ANNOTATED", "VERSIONS")
    for rec in datasets().list():
        table.add_row(rec["dataset_name"], rec["dataset_id"], str(rec["dataset_type"]),
                      STATUS.get(rec["status"], str(rec["status"])),
                      str(rec["total_sample_count"]), str(rec["annotated_sample_count"]),
                      str(rec.get("version_count", "")))
    console().print(table)


@app.command("show")
def show(dataset: str, as_json: bool = typer.Option(False, "--json", help="Print raw JSON")
         ) -> None:
    """Show a dataset with its label statistics."""
    client = datasets()
    rec = client.get(dataset)
    stats = client.stats(dataset)
    if as_json:
        _print_json({**rec, "stats": stats})
        return
    out = console()
    out.print(f"[bold]{rec['dataset_name']}[/] ({rec['dataset_id']})")
    for key in ("dataset_type", "data_sources", "work_path", "total_sample_count",
                "annotated_sample_count", "current_version_name"):
        value = rec[key]
        if key == "data_sources":
            value = rec[key][0]["data_path"]
        out.print(f"  {key + ':':<24} {value}", markup=False)
    out.print(f"  {'status:':<24} {rec['status']} ({STATUS.get(rec['status'], '?')})")
    table = Table("LABEL", "SAMPLES", "ANNOTATIONS")
    for label in stats["label_list"]:
        table.add_row(label["name"], str(label["sample_count"]), str(label["count"]))
    out.print(table)


@app.command("samples")
def samples(dataset: str, label: str | None = typer.Option(None, "--label"),
            limit: int = typer.Option(20, "--limit"), offset: int = typer.Option(0, "--offset")
            ) -> None:
    """List samples and their labels."""
    page = datasets().samples(dataset, offset, limit, label)
    table = Table("SOURCE", "LABELS")
    for s in page["samples"]:
        table.add_row(s["source"], ", ".join(lb["name"] for lb in s["labels"]))
    console().print(table)
    console().print(f"{page['sample_count']} sample(s)")


@app.command("publish")
def publish(
    dataset: str,
    version: str | None = typer.Option(None, "--version", help="Name (default V001, V002...)"),
    ratio: float = typer.Option(1.0, "--ratio",
                                help="train_evaluate_sample_ratio: share of samples for "
                                     "training, the rest for evaluation"),
    fmt: str = typer.Option("Default", "--format", help="Default (manifest); CarbonData is "
                                                        "refused"),
    description: str | None = typer.Option(None, "--description"),
    as_json: bool = typer.Option(False, "--json", help="Print raw JSON"),
) -> None:
    """Publish a version: a manifest in the work path, split into train and eval."""
    body: dict[str, Any] = {"version_format": fmt, "train_evaluate_sample_ratio": ratio}
    if version is not None:
        body["version_name"] = version
    if description is not None:
        body["description"] = description
    rec = datasets().create_version(dataset, body)
    if as_json:
        _print_json(rec)
        return
    console().print(f"Published version {rec['version_name']} ({rec['version_id']}): "
                    f"{rec['train_sample_count']} train, {rec['eval_sample_count']} eval, "
                    f"{rec['total_sample_count']} in all", markup=False)
    console().print(f"  manifest: {rec['manifest_path']}", markup=False)
    console().print(f"  use it:   --input data_url=dataset:{rec['dataset_id']}:"
                    f"{rec['version_id']}", markup=False)


@app.command("versions")
def versions(dataset: str) -> None:
    """List a dataset's versions."""
    table = Table("VERSION", "ID", "SAMPLES", "TRAIN", "EVAL", "LABEL TYPE", "MANIFEST")
    for v in datasets().versions(dataset):
        table.add_row(v["version_name"], v["version_id"], str(v["total_sample_count"]),
                      str(v["train_sample_count"]), str(v["eval_sample_count"]),
                      v["label_type"], v["manifest_path"])
    console().print(table)


@app.command("delete")
def delete(dataset: str) -> None:
    """Delete a dataset's records (files in storage stay)."""
    rec = datasets().delete(dataset)
    console().print(f"Deleted dataset {rec['dataset_name']}", markup=False)
