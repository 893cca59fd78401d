"""``modelyard gallery ...``: publish algorithms, browse, subscribe, train from a
subscription with no code (seed S1.1)."""

from __future__ import annotations

import builtins
import json
import time
from typing import Any

import typer
from rich.table import Column, Table

from modelyard.cli.base import App
from modelyard.cli.context import backend, console, parse_pairs
from modelyard.cli.errors import UserFacingError

app = App(no_args_is_help=True, help="Publish, browse and subscribe to algorithms.")


class GalleryApi:
    """The gallery calls, on the embedded service or over HTTP (the same JSON either way)."""

    def __init__(self) -> None:
        self.backend = backend()
        service = getattr(self.backend, "service", None)
        self.embedded = None if service is None else service.gallery
        self.project: str = getattr(self.backend, "project", "")
        if self.embedded is None:
            from modelyard.client.gallery import Gallery

            self.http = Gallery(self.backend.client)  # type: ignore[attr-defined]

    def publish(self, algorithm: str, content_id: str | None, version_num: str | None,
                desc: str | None) -> dict[str, Any]:
        if self.embedded is None:
            return self.http.publish(algorithm, content_id, version_num, desc)
        info = {k: v for k, v in (("version_num", version_num), ("desc", desc)) if v}
        body: dict[str, Any] = {"algorithm": {"id": algorithm}, "content_info": info}
        if content_id:
            body["content_id"] = content_id
        return self.embedded.publish(self.project, body)

    def list(self, name: str | None) -> list[dict[str, Any]]:
        if self.embedded is None:
            return self.http.list(name)
        return self.embedded.list(0, 100_000, name)[0]

    def get(self, content_id: str) -> dict[str, Any]:
        return self.http.get(content_id) if self.embedded is None \
            else self.embedded.get(content_id)

    def withdraw(self, content_id: str, version_id: str) -> dict[str, Any]:
        if self.embedded is None:
            return self.http.withdraw(content_id, version_id)
        return self.embedded.withdraw(self.project, content_id, version_id)

    def subscribe(self, content_id: str) -> dict[str, Any]:
        if self.embedded is None:
            return self.http.subscribe(content_id)
        return self.embedded.subscribe(self.project, {"content_id": content_id})

    def subscriptions(self) -> builtins.list[dict[str, Any]]:
        if self.embedded is None:
            return self.http.subscriptions()
        return self.embedded.list_subscriptions(self.project)

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        if self.embedded is None:
            return self.http.subscription(subscription_id)
        return self.embedded.get_subscription(self.project, subscription_id)

    def unsubscribe(self, subscription_id: str) -> None:
        if self.embedded is None:
            self.http.unsubscribe(subscription_id)
        else:
            self.embedded.unsubscribe(self.project, subscription_id)


@app.command("list")
def list_(name: str | None = typer.Option(None, "--name", help="Name contains")) -> None:
    """List the gallery's assets (shared by every project)."""
    table = Table("NAME", ident("CONTENT ID"), "PUBLISHER", "VERSIONS", "DESCRIPTION")
    for asset in GalleryApi().list(name):
        versions = ", ".join(v["version_num"] + ("" if v["status"] == "published"
                                                 else " (withdrawn)")
                             for v in asset["versions"])
        table.add_row(asset["name"], asset["content_id"], asset["publisher"], versions,
                      asset["description"])
    console().print(table)


@app.command("show")
def show(content_id: str,
         as_json: bool = typer.Option(False, "--json", help="The whole record as JSON")) -> None:
    """Show an asset: its versions and what a subscriber may set."""
    asset = GalleryApi().get(content_id)
    if as_json:
        console().print_json(json.dumps(asset))
        return
    console().print(f"{asset['name']} ({asset['content_id']}), published by "
                    f"{asset['publisher']}", markup=False)
    if asset["description"]:
        console().print(asset["description"], markup=False)
    for v in asset["versions"]:
        config = v["job_config"]
        engine = config.get("engine") or {}
        runs = config.get("boot_file") or config.get("command") or ""
        console().print(f"\nversion {v['version_num']} ({v['version_id']}) {v['status']}: "
                        f"{runs} on {engine.get('engine_name') or engine.get('image_url')} "
                        f"{engine.get('engine_version') or ''}", markup=False)
        table = Table("HYPERPARAMETER", "DEFAULT", "TYPE", "RULE")
        for p in config.get("parameters", []):
            c = p.get("constraint") or {}
            rule = (f"{c.get('valid_type')} {c.get('valid_range')}"
                    if c.get("valid_type") not in (None, "None") else "")
            if c.get("required"):
                rule = ("required " + rule).strip()
            if c.get("editable") is False:
                rule = ("fixed " + rule).strip()
            table.add_row(p["name"], json.dumps(p.get("value")), c.get("type", ""), rule)
        console().print(table)
        for kind in ("inputs", "outputs"):
            names = ", ".join(ch["name"] for ch in config.get(kind, []))
            console().print(f"{kind}: {names or 'none'}", markup=False)


@app.command("publish")
def publish(
    algorithm: str = typer.Argument(..., help="This project's algorithm (name or id)"),
    content_id: str | None = typer.Option(
        None, "--content-id", help="Add a version to this asset (default: a new asset)"),
    version_num: str | None = typer.Option(
        None, "--version-num", help="Version number (default: the next N.0.0)"),
    desc: str | None = typer.Option(None, "--desc", help="What this version changes"),
) -> None:
    """Publish an algorithm; its code is copied, so later edits change nothing."""
    result = GalleryApi().publish(algorithm, content_id, version_num, desc)
    console().print(f"Published {algorithm} as version {result['version_num']} "
                    f"({result['version_id']}) of asset {result['content_id']}", markup=False)


@app.command("withdraw")
def withdraw(content_id: str, version_id: str) -> None:
    """Withdraw a version you published: running jobs go on, new jobs are refused."""
    record = GalleryApi().withdraw(content_id, version_id)
    console().print(f"Withdrew version {record['version_num']} of asset {content_id}",
                    markup=False)


@app.command("subscribe")
def subscribe(content_id: str) -> None:
    """Subscribe this project to an asset."""
    sub = GalleryApi().subscribe(content_id)
    console().print(f"Subscribed to {sub['name']}: subscription {sub['subscription_id']}",
                    markup=False)
    _print_versions(sub)


@app.command("subscriptions")
def subscriptions() -> None:
    """List this project's subscriptions."""
    table = Table(ident("SUBSCRIPTION"), "NAME", ident("CONTENT ID"), "VERSIONS")
    for sub in GalleryApi().subscriptions():
        versions = ", ".join(f"{v['version_num']}" + ("" if v["status"] == "published"
                                                      else " (withdrawn)")
                             for v in sub["item_versions"])
        table.add_row(sub["subscription_id"], sub["name"], sub["content_id"], versions)
    console().print(table)


@app.command("unsubscribe")
def unsubscribe(subscription_id: str) -> None:
    """Delete a subscription (running jobs keep running)."""
    GalleryApi().unsubscribe(subscription_id)
    console().print(f"Deleted subscription {subscription_id}", markup=False)


@app.command("train")
def train(
    subscription_id: str = typer.Argument(..., help="A subscription of this project"),
    version: str | None = typer.Option(
        None, "--version", help="Version number or id (default: the newest published)"),
    name: str | None = typer.Option(None, "--name", help="Job name (default: asset-time)"),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="Hyperparameter NAME=VALUE"),
    input_: list[str] | None = typer.Option(None, "--input", "-i", help="Input NAME=URL"),
    output: list[str] | None = typer.Option(None, "--output", "-o", help="Output NAME=URL"),
    flavor: str | None = typer.Option(None, "--flavor", help="Flavor id (modelyard job flavors)"),
    wait: bool = typer.Option(False, "--wait", help="Follow the log; exit 0 only if the job "
                                                    "completes"),
) -> None:
    """Run a training job from a subscribed algorithm: no code, only its exposed settings."""
    from modelyard.client.estimator import InputData, OutputData
    from modelyard.client.gallery import job_body

    sub = GalleryApi().subscription(subscription_id)
    version_id = _pick_version(sub, version)
    data = job_body(
        subscription_id, version_id,
        hyperparameters=dict(parse_pairs(param, "--param")),
        inputs=[InputData(k, v) for k, v in parse_pairs(input_, "--input")],
        outputs=[OutputData(k, v) for k, v in parse_pairs(output, "--output")],
        job_name=name or f"{sub['name']}-{time.strftime('%Y%m%d-%H%M%S')}", flavor=flavor)
    record = backend().create_job(data)
    job_id = record["metadata"]["id"]
    console().print(f"Created training job {record['metadata']['name']} ({job_id}) from "
                    f"{sub['name']} version {record['algorithm'].get('version_num', '')}",
                    markup=False)
    if wait:
        from modelyard.cli.job import follow

        raise typer.Exit(follow(job_id))


def ident(header: str) -> Column:
    """A column of ids: never cut, they are copied into the next command."""
    return Column(header, min_width=36, no_wrap=True)


def _pick_version(sub: dict[str, Any], wanted: str | None) -> str:
    versions = sub["item_versions"]
    if wanted is None:
        published = [v for v in versions if v["status"] == "published"]
        if not published:
            raise UserFacingError(f"{sub['name']}: every version was withdrawn by its "
                                  "publisher; there is nothing to train")
        return str(published[-1]["item_version_id"])
    for v in versions:
        if wanted in (v["version_num"], v["item_version_id"]):
            return str(v["item_version_id"])
    known = ", ".join(v["version_num"] for v in versions)
    raise UserFacingError(f"--version: {wanted!r} is not allowed: {sub['name']} has versions "
                          f"{known}")


def _print_versions(sub: dict[str, Any]) -> None:
    for v in sub["item_versions"]:
        console().print(f"  version {v['version_num']}: {v['item_version_id']} ({v['status']})",
                        markup=False)
