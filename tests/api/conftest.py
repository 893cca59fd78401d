"""An in-process app per test (TestClient), over the isolated home of fixtures.home."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fixtures.server import ServerInfo
from modelyard.api import create_app
from modelyard.service.app import Service
from modelyard.settings import Settings


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """Single-user local mode, whatever keys the developer's environment holds."""
    settings = settings.model_copy(update={"api_keys": None, "api_keys_file": None})
    service = Service(settings)
    with TestClient(create_app(settings, service), base_url="http://127.0.0.1") as client:
        yield client
    service.close()


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    from fixtures.server import write_code

    return write_code(tmp_path / "algo")



@dataclass
class Tenants:
    """A real server with one bootstrap admin key and three users in two projects:
    alice (member of teama), bob (member of teamb), carol (viewer in teama)."""

    server: ServerInfo
    keys: dict[str, tuple[str, str]]  # user -> (AK, SK)


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    from fixtures.server import ARTIFACTS, start_server, stop_server
    from modelyard.service.identity import IdentityService
    from modelyard.store.db import Database

    home = tmp_path_factory.mktemp("tenants-home")
    settings = Settings(home=home)
    db = Database(settings.database_url)
    identity = IdentityService(settings, db)
    keys: dict[str, tuple[str, str]] = {}
    for project in ("teama", "teamb"):
        identity.create_project(project)
    for user, project, role in (("alice", "teama", "member"), ("bob", "teamb", "member"),
                                ("carol", "teama", "viewer")):
        identity.create_user(user)
        identity.grant(user, project, role)
        pair = identity.create_key(user)
        keys[user] = (pair["access_key"], pair["secret_key"])
    db.dispose()
    admin = {"ADMINAK": "admin-secret-key"}
    server = start_server(home, admin)
    yield Tenants(server, keys)
    stop_server(server)
    ARTIFACTS.mkdir(exist_ok=True)
    if server.log and server.log.exists():
        shutil.copy(server.log, ARTIFACTS / "tenants-server.log")
