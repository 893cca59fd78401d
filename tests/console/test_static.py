"""The console's static files, without a browser: both languages translate the same keys,
every key the code uses exists, and the server serves the files (and nothing outside them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelyard.api import create_app
from modelyard.service.app import Service
from modelyard.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "src" / "modelyard" / "console" / "static"
NAMESPACES = ("app|header|nav|auth|common|form|overview|algorithms|mode|type|params|channels|"
              "env|jobs|mounts|job|phase|level|source|search|trial|fs|storage|datasets|gallery")


def load(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((STATIC / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


def test_languages_have_the_same_keys() -> None:
    en, zh = load("en"), load("zh-CN")
    assert set(en) == set(zh)
    assert all(v.strip() for v in [*en.values(), *zh.values()])
    # Placeholders survive translation.
    for key, text in en.items():
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", zh[key])), key


def test_every_key_in_the_code_is_translated() -> None:
    en = load("en")
    used: set[str] = set()
    for js in STATIC.rglob("*.js"):
        used |= set(re.findall(rf"'((?:{NAMESPACES})\.[A-Za-z_]+)'", js.read_text("utf-8")))
    assert used - set(en) <= {"jobs.count"}  # jobs.count only appears in a comment


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    service = Service(settings)
    with TestClient(create_app(settings, service), base_url="http://127.0.0.1") as c:
        yield c
    service.close()


def test_the_server_serves_the_console(client: TestClient) -> None:
    for path in ("/", "/console/"):
        r = client.get(path)
        assert r.status_code == 200 and '<script type="module"' in r.text
    r = client.get("/console/js/app.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert client.get("/console/i18n/zh-CN.json").json()["nav.jobs"] == "训练作业"
    assert client.get("/console/no-such.js").json()["error_code"] == "ModelYard.NotFound"
    for sneaky in ("/console/../api/app.py", "/console/%2e%2e/%2e%2e/api/app.py",
                   "/console/..%2f..%2fsettings.py"):
        assert client.get(sneaky).status_code == 404
