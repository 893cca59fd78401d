"""``POST /v2/{project_id}/yaml/parse``: the server reads YAML for the console as the CLI does;
bad text is a 400 naming the rule, never a traceback."""

from __future__ import annotations

import yaml
from fastapi.testclient import TestClient

URL = "/v2/default/yaml/parse"


def test_yaml_is_read_as_pyyaml_reads_it(api: TestClient) -> None:
    text = "epochs: 010\nshuffle: on\nlr: 1e5\n"
    r = api.post(URL, json={"text": text})
    assert r.status_code == 200, r.text
    assert r.json() == {"document": yaml.safe_load(text)} == {
        "document": {"epochs": 8, "shuffle": True, "lr": "1e5"}}


def test_bad_text_and_bad_bodies_are_400_naming_the_rule(api: TestClient) -> None:
    for body, words in (
        ({"text": "a: [\n"}, "not valid YAML"),
        ({"text": "d: 2024-01-01"}, "text.d"),
        ({}, "text"),
        ({"text": 5}, "text"),
        ({"text": "a: 1", "more": 1}, "more"),
        ({"text": "x" * 70_000}, "at most 65536 characters"),
    ):
        r = api.post(URL, json=body)
        assert r.status_code == 400, (body, r.text)
        error = r.json()
        assert set(error) >= {"error_code", "error_msg"}
        assert words in error["error_msg"], (body, error)


def test_reading_yaml_needs_the_member_role() -> None:
    """A POST like any other, as docs/api.md says."""
    from modelyard.api.dependencies import needed_role

    class Req:
        method = "POST"
        url = type("U", (), {"path": "/v2/p/yaml/parse"})()

    assert needed_role(Req()) == "member"  # type: ignore[arg-type]
