"""The console on a server with keys, in real Chromium (issue 14): sign in with an AK/SK,
keep only a session token (never the SK) in web storage, show a viewer no Stop or Delete
button, and serve every page with a Content-Security-Policy that forbids framing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.server import ServerInfo, algorithm_body, start_server, stop_server
from modelyard.client import ModelYardClient
from modelyard.service.identity import IdentityService
from modelyard.settings import Settings
from modelyard.store.db import Database

from .conftest import Console, _skip_reason

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerInfo, dict[str, Any]]]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("console-keyed")
    settings = Settings(home=home)
    db = Database(settings.database_url)
    identity = IdentityService(settings, db)
    identity.create_project("teama")
    keys: dict[str, Any] = {}
    for user, role in (("alice", "member"), ("carol", "viewer")):
        identity.create_user(user)
        identity.grant(user, "teama", role)
        keys[user] = identity.create_key(user)
    db.dispose()
    info = start_server(home, {"CONSOLEADMIN": "console-admin-secret"})
    yield info, keys
    stop_server(info)


def signed_in(browser: Any, server: ServerInfo, pair: dict[str, str]) -> Console:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(15000)
    console = Console(context.new_page(), server.url)
    page = console.page
    page.goto(f"{server.url}/#/")
    page.evaluate("localStorage.setItem('modelyard.project', 'teama')")
    page.goto(f"{server.url}/#/")
    page.wait_for_selector("dialog.signin")
    page.fill("#ak", pair["access_key"])
    page.fill("#sk", pair["secret_key"])
    page.click("dialog.signin button.primary")
    page.wait_for_selector("[data-testid=sign-out]")
    return console


def test_sign_in_keeps_no_secret_and_viewers_see_no_stop_or_delete(
        browser: Any, keyed: tuple[ServerInfo, dict[str, Any]], test_code: Path) -> None:
    server, keys = keyed
    alice = ModelYardClient(server.url, access_key=keys["alice"]["access_key"],
                            secret_key=keys["alice"]["secret_key"], project="teama")
    alice.create_algorithm(algorithm_body("console-algo", test_code))
    job = alice.create_job({"kind": "job", "metadata": {"name": "console-job"},
                            "algorithm": {"name": "console-algo", "outputs": [
                                {"name": "train_url",
                                 "remote": {"obs": {"obs_url": "obs://teama-out/j/"}}}]}})
    job_id = job["metadata"]["id"]
    deadline = time.monotonic() + 90
    while alice.get_job(job_id)["status"]["phase"] not in ("Completed", "Failed") \
            and time.monotonic() < deadline:
        time.sleep(0.3)

    for user, can_change in (("carol", False), ("alice", True)):
        console = signed_in(browser, server, keys[user])
        page = console.page
        stored = page.evaluate("JSON.stringify([sessionStorage, localStorage])")
        assert keys[user]["secret_key"] not in stored and "token" in stored
        page.goto(f"{server.url}/#/jobs/{job_id}")
        page.wait_for_selector("[data-action=copy]")
        assert (page.locator("[data-action=delete]").count() == 1) is can_change, user
        page.goto(f"{server.url}/#/algorithms")
        page.wait_for_selector("text=console-algo")
        assert (page.locator("[data-action=delete]").count() >= 1) is can_change, user
        page.click("[data-testid=sign-out]")
        page.wait_for_selector("dialog.signin")
        assert "token" not in page.evaluate("JSON.stringify(sessionStorage)")
        assert not console.errors, console.errors  # a CSP violation would show here
        page.context.close()


def test_pages_forbid_framing_and_foreign_code(keyed: tuple[ServerInfo, Any]) -> None:
    import httpx

    server, _ = keyed
    for path in ("/", "/console/", "/console/js/app.js"):
        headers = httpx.get(server.url + path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert headers["x-frame-options"] == "DENY"
