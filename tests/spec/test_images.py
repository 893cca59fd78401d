"""Image references (image_url): the forms SWR and Docker use parse, malformed ones are
refused naming the field, the value and the rule."""

from __future__ import annotations

import pytest

from modelyard.spec.images import ImageRef, parse_image_ref
from spec.builders import expect_error

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("text", "expected"), [
    ("swr.cn-north-4.myhuaweicloud.com/team/train:1.0",
     ImageRef("swr.cn-north-4.myhuaweicloud.com", "team/train", "1.0")),
    ("127.0.0.1:5000/test/py", ImageRef("127.0.0.1:5000", "test/py", "latest")),
    ("localhost/a/b/c:v2", ImageRef("localhost", "a/b/c", "v2")),
    (f"reg.example.com/x/y@{DIGEST}", ImageRef("reg.example.com", "x/y", None, DIGEST)),
    (f"reg.example.com/x/y:1@{DIGEST}", ImageRef("reg.example.com", "x/y", "1", DIGEST)),
    ("python:3.11", ImageRef("docker.io", "library/python", "3.11")),
    ("team/train", ImageRef("docker.io", "team/train", "latest")),
    ("reg.example.com:8443/my_team/train-x.y:latest-2",
     ImageRef("reg.example.com:8443", "my_team/train-x.y", "latest-2")),
])
def test_well_formed_references(text: str, expected: ImageRef) -> None:
    assert parse_image_ref(text) == expected


def test_transport_prefers_the_digest() -> None:
    assert parse_image_ref(f"r.io/x/y:1@{DIGEST}").transport == f"docker://r.io/x/y@{DIGEST}"
    assert parse_image_ref("r.io/x/y").transport == "docker://r.io/x/y:latest"
    assert str(parse_image_ref("r.io/x/y")) == "r.io/x/y:latest"


@pytest.mark.parametrize(("text", "phrase"), [
    ("", "non-empty"),
    ("docker://r.io/x/y:1", "no scheme"),
    ("r.io/Team/train:1", "lower-case"),
    ("r.io/x/y:", "a tag has"),
    ("r.io/x/y:-bad", "a tag has"),
    ("r.io/x/y@sha256:123", "64 lower-case hex"),
    ("r.io/x//y", "lower-case"),
    ("r.io:99999/x/y", "between 1 and 65535"),
    ("r.io/x y/z", "lower-case"),
    ("r.io/" + "a" * 260, "at most 255"),
])
def test_malformed_references(text: str, phrase: str) -> None:
    expect_error(lambda: parse_image_ref(text), "image_url", text, phrase)


def test_not_a_string() -> None:
    expect_error(lambda: parse_image_ref(5, "engine.image_url"), "engine.image_url", 5,
                 "non-empty string")
