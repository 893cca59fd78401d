"""``modelyard admin``: users, projects, grants and keys; a secret is shown once, stored
encrypted, and a new key signs requests that the server accepts in the granted project."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from modelyard.api import create_app
from modelyard.cli.main import app as cli
from modelyard.client.http import ApiError, ModelYardClient
from modelyard.service.app import Service
from modelyard.settings import Settings


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_admin_commands_make_a_working_key(home: Path) -> None:
    run("admin", "user", "create", "dana")
    run("admin", "project", "create", "vision")
    run("admin", "grant", "dana", "vision", "member")
    pair = json.loads(run("admin", "key", "create", "dana", "--json"))
    assert set(pair) == {"access_key", "secret_key"}
    listed = run("admin", "key", "list")
    assert pair["access_key"] in listed and pair["secret_key"] not in listed
    assert "vision:member" in run("admin", "user", "list")
    assert "dana:member" in run("admin", "project", "list")

    # At rest the secret is encrypted with the key file beside (not in) the database.
    db = sqlite3.connect(home / "modelyard.db")
    stored = db.execute("SELECT secret_encrypted FROM access_keys").fetchone()[0]
    db.close()
    assert pair["secret_key"] not in stored
    assert (home / "installation.key").stat().st_mode & 0o777 == 0o600

    service = Service(Settings(home=home))
    with TestClient(create_app(service.settings, service)) as http:
        def client(project: str) -> ModelYardClient:
            return ModelYardClient("http://testserver", access_key=pair["access_key"],
                                   secret_key=pair["secret_key"], project=project,
                                   transport=http._transport)

        assert client("vision").list_algorithms()["total"] == 0
        try:
            client("other").list_algorithms()
            raise AssertionError("a project without a role was served")
        except ApiError as exc:
            assert exc.status == 403 and "no role in this project" in exc.message
        run("admin", "key", "revoke", pair["access_key"])
        try:
            client("vision").list_algorithms()
            raise AssertionError("a revoked key was served")
        except ApiError as exc:
            assert exc.status == 401
    service.close()


def test_admin_errors_are_one_line(home: Path) -> None:
    run("admin", "user", "create", "eve")
    for args, words in ((["admin", "user", "create", "eve"], "exists"),
                        (["admin", "grant", "eve", "nowhere", "member"], "not found"),
                        (["admin", "grant", "eve", "nowhere", "boss"], "must be one of"),
                        (["admin", "user", "create", "bad name"], "must match")):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and words in result.output, (args, result.output)
