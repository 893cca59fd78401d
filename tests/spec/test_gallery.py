"""The gallery's request bodies: every broken rule names its field."""

from __future__ import annotations

import pytest

from modelyard.spec import SpecError
from modelyard.spec.gallery import Publication, SubscriptionRequest
from modelyard.spec.loader import parse


def refused(model: type, data: object) -> SpecError:
    with pytest.raises(SpecError) as err:
        parse(model, data)
    return err.value


def test_a_publication_names_an_algorithm_and_optionally_an_asset() -> None:
    pub = parse(Publication, {"algorithm": {"id": "digits"}})
    assert pub.content_id is None and pub.content_info.version_num is None
    pub = parse(Publication, {"algorithm": {"id": "digits"}, "content_id": "modelyard-digits",
                              "content_info": {"version_num": 2, "desc": "faster, smaller"}})
    assert pub.content_id == "modelyard-digits" and pub.content_info.version_num == "2"
    assert refused(Publication, {}).field == "algorithm"
    assert refused(Publication, {"algorithm": {"id": ""}}).field == "algorithm.id"


@pytest.mark.parametrize("bad", ["", "1 0", "-1", "a" * 33, "1/2", "v1.0.0\n"])
def test_version_numbers(bad: str) -> None:
    err = refused(Publication, {"algorithm": {"id": "a"}, "content_info": {"version_num": bad}})
    assert err.field == "content_info.version_num" and err.value == bad
    assert "1-32 characters" in err.rule


def test_ids_are_path_safe() -> None:
    for bad in ("../etc", "a b", "x" * 65, 7):
        err = refused(SubscriptionRequest, {"content_id": bad})
        assert err.field == "content_id" and err.value == bad
    assert refused(Publication, {"algorithm": {"id": "a"}, "content_id": "a/b"}).field \
        == "content_id"


def test_descriptions_follow_s3_8() -> None:
    err = refused(Publication, {"algorithm": {"id": "a"}, "content_info": {"desc": "<b>"}})
    assert err.field == "content_info.desc" and "seed S3.8" in err.rule
