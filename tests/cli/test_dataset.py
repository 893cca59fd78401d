"""``modelyard dataset ...`` (issue 18), on the embedded service, and ``job run --input
NAME=dataset:DATASET:VERSION``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fixtures.datasets import classification_tree, write_local
from modelyard.cli import context
from modelyard.cli import dataset as dataset_cli
from modelyard.cli.main import app
from modelyard.settings import Settings

runner = CliRunner()


def _clear() -> None:
    context.settings.cache_clear()
    context.backend.cache_clear()
    dataset_cli.datasets.cache_clear()


@pytest.fixture(autouse=True)
def fresh(home: Path) -> Iterator[None]:
    _clear()
    yield
    _clear()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_create_show_publish_and_use(home: Path) -> None:
    write_local(Settings(home=home), "bkt", classification_tree("pets/", per_label=5))
    r = cli("dataset", "create", "pets", "--data", "obs://bkt/pets/", "--work",
            "obs://bkt/work/")
    assert r.exit_code == 0, r.output
    assert "16 sample(s)" in r.output and "2 unreadable" in r.output
    assert "obs://bkt/pets/dog/empty.png: unreadable" in r.output

    r = cli("dataset", "show", "pets")
    assert r.exit_code == 0, r.output
    assert "normal" in r.output and "cat" in r.output and "fox" in r.output

    r = cli("dataset", "publish", "pets", "--ratio", "0.8", "--json")
    assert r.exit_code == 0, r.output
    version = json.loads(r.output)
    assert version["train_sample_count"] == 12 and version["eval_sample_count"] == 3

    r = cli("dataset", "versions", "pets")
    assert r.exit_code == 0 and "V001" in r.output
    r = cli("dataset", "samples", "pets", "--label", "dog")
    assert r.exit_code == 0 and "5 sample(s)" in r.output
    r = cli("dataset", "list")
    assert r.exit_code == 0 and "pets" in r.output

    # A job input naming the version reaches the constraint checks of job creation.
    r = cli("job", "run", "-a", "nope", "-o", "train_url=obs://bkt/out/",
            "-i", f"data_url=dataset:{version['dataset_id']}:{version['version_id']}")
    assert r.exit_code == 2 and "no such algorithm" in r.output
    r = cli("job", "run", "-a", "nope", "-i", "data_url=dataset:only-an-id")
    assert r.exit_code == 2 and "NAME=dataset:DATASET_ID:VERSION_ID" in r.output


def test_refusals_are_one_line(home: Path) -> None:
    r = cli("dataset", "create", "x", "--data", "file:///etc/", "--work", "obs://bkt/w/")
    assert r.exit_code == 2
    assert "data_sources[0].data_path" in r.output and "never a path on the server" in r.output
    cli("dataset", "create", "empty", "--data", "obs://bkt/none/", "--work", "obs://bkt/w/")
    r = cli("dataset", "publish", "empty")
    assert r.exit_code == 2 and "no samples" in r.output
    r = cli("dataset", "publish", "empty", "--format", "CarbonData")
    assert r.exit_code == 2 and "CarbonData is not supported" in r.output
    r = cli("dataset", "show", "missing")
    assert r.exit_code == 2 and "not found" in r.output
