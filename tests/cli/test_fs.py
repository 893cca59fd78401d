"""``modelyard fs ...``: embedded (the default) and against a server (MODELYARD_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from modelyard.cli import context
from modelyard.cli import fs as fs_cli
from modelyard.cli.main import app
from modelyard.settings import Settings

runner = CliRunner()


def _clear() -> None:
    context.settings.cache_clear()
    context.backend.cache_clear()
    fs_cli.fs_backend.cache_clear()


@pytest.fixture(autouse=True)
def fresh(home: Path) -> Iterator[None]:
    """The CLI caches its settings and backend per process; each test has its own home."""
    _clear()
    yield
    _clear()


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


def data(home: Path, n: int = 12) -> str:
    src = home / "obs" / "bkt" / "data"
    src.mkdir(parents=True)
    for i in range(n):
        (src / f"{i}.bin").write_bytes(b"x" * 100)
    return "obs://bkt/data/"


def test_create_list_show_delete(home: Path) -> None:
    r = cli("fs", "create", "images")
    assert r.exit_code == 0, r.output
    assert f"Created file system images at {(home / 'fs' / 'images').resolve()}" in r.output
    r = cli("fs", "list")
    assert "images" in r.output and "available" in r.output
    r = cli("fs", "show", "images")
    assert r.exit_code == 0 and "status:     available" in r.output
    r = cli("fs", "show", "images", "--json")
    assert '"managed": true' in r.output
    r = cli("fs", "delete", "images")
    assert r.exit_code == 0 and "Deleted file system images" in r.output
    assert not (home / "fs" / "images").exists()


def test_own_path_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "ssd"
    assert cli("fs", "create", "ssd", "--path", str(path)).exit_code == 0
    r = cli("fs", "delete", "ssd")
    assert f"its data stays in {path.resolve()}" in r.output and path.is_dir()


def test_errors_are_one_line_and_exit_2() -> None:
    r = cli("fs", "create", "bad name")
    assert r.exit_code == 2
    assert "error: name: 'bad name' is not allowed" in r.output
    r = cli("fs", "show", "nope")
    assert r.exit_code == 2 and "error: file system 'nope' not found" in r.output
    cli("fs", "create", "images")
    r = cli("fs", "preload", "images", "not-a-url")
    assert r.exit_code == 2 and "error: source: 'not-a-url' is not allowed" in r.output
    r = cli("fs", "export", "images", "/missing", "obs://bkt/x/")
    assert r.exit_code == 2 and "does not exist in file system 'images'" in r.output


@pytest.mark.slow
def test_preload_wait_again_export_and_tasks(home: Path) -> None:
    url = data(home)
    cli("fs", "create", "images")
    r = cli("fs", "preload", "images", url, "--to", "/train", "--wait")
    assert r.exit_code == 0, r.output
    assert "Started preload task" in r.output
    assert "Copied 12 files (1.2 KiB), skipped 0 unchanged, in " in r.output
    assert len(list((home / "fs" / "images" / "train").iterdir())) == 12
    r = cli("fs", "export", "images", "/train", "obs://bkt/back/", "--wait")
    assert r.exit_code == 0, r.output
    assert len(list((home / "obs" / "bkt" / "back").iterdir())) == 12
    r = cli("fs", "tasks", "images")
    assert r.exit_code == 0 and r.output.count("SUCCESS") == 2


@pytest.mark.slow
def test_failed_task_exits_1_with_its_error(home: Path) -> None:
    cli("fs", "create", "images")
    r = cli("fs", "preload", "images", "obs://bkt/missing/", "--wait")
    assert r.exit_code == 1
    assert "failed: source obs://bkt/missing/ does not exist" in r.output
    r = cli("fs", "tasks", "images")
    assert "FAIL" in r.output and "does not exist" in r.output


@pytest.mark.slow
def test_without_wait_returns_at_once(home: Path) -> None:
    cli("fs", "create", "images")
    r = cli("fs", "preload", "images", data(home))
    assert r.exit_code == 0 and "Follow it with: modelyard fs tasks images" in r.output


@pytest.mark.slow
def test_import_says_it_is_metadata_only(home: Path) -> None:
    url = data(home, 3)
    cli("fs", "create", "images")
    r = cli("fs", "import", "images", url, "--wait")
    assert r.exit_code == 0, r.output
    assert "metadata only" in r.output and "NOT fetched" in r.output
    assert "Recorded 3 entries" in r.output
    assert (home / "fs" / "images" / ".modelyard-import.jsonl").is_file()
    help_text = " ".join(cli("fs", "import", "--help").output.replace("│", " ").split())
    assert "lazy loading is not implemented" in help_text


def test_parse_mount_option_for_job_run() -> None:
    assert fs_cli.parse_mount_option("images:/train:/mnt/data:ro") == {"filesystem": {
        "name": "images", "storage_location": "/train", "local_path": "/mnt/data",
        "read_only": True}}


@pytest.mark.slow
def test_against_a_server(home: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
                          ) -> None:
    """With MODELYARD_URL the same commands go over HTTP (routed here to an in-process app)."""
    from fastapi.testclient import TestClient

    from modelyard.api import create_app
    from modelyard.service.app import Service

    service = Service(settings)
    client = TestClient(create_app(settings, service), base_url="http://127.0.0.1")

    def request(method: str, url: str, **kw: Any) -> httpx.Response:
        kw.pop("timeout", None)
        return client.request(method, url, **kw)

    monkeypatch.setattr(httpx, "request", request)
    monkeypatch.setenv("MODELYARD_URL", "http://127.0.0.1")
    monkeypatch.setenv("MODELYARD_PROJECT", "team")
    _clear()
    url = data(home, 4)
    r = cli("fs", "create", "images")
    assert r.exit_code == 0, r.output
    assert service.filesystems.list("team")[0]["name"] == "images"
    r = cli("fs", "preload", "images", url, "--wait")
    assert r.exit_code == 0 and "Copied 4 files" in r.output, r.output
    r = cli("fs", "create", "images")
    assert r.exit_code == 2 and "already exists" in r.output
    assert "images" in cli("fs", "list").output
    assert cli("fs", "delete", "images").exit_code == 0
    service.close()
