"""Locations (docs/contract.md "Paths in specs"): obs://, s3://, file:///abs and /bucket/key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.spec import Location, SpecError, parse_location
from modelyard.spec.paths import safe_relative_path
from spec.builders import expect_error, quick


@pytest.mark.parametrize(
    ("text", "scheme", "bucket", "key"),
    [
        ("obs://bkt/a/b.txt", "obs", "bkt", "a/b.txt"),
        ("obs://bkt/a/", "obs", "bkt", "a/"),
        ("obs://bkt", "obs", "bkt", ""),
        ("obs://bkt/", "obs", "bkt", ""),
        ("OBS://bkt/a", "obs", "bkt", "a"),
        ("s3://my-bucket.v2/data/x", "s3", "my-bucket.v2", "data/x"),
        ("/bkt/key/x", "obs", "bkt", "key/x"),  # ModelArts short form = obs://
        ("  obs://bkt/a  ", "obs", "bkt", "a"),
        ("file:///opt/data/x", "file", "", "opt/data/x"),
        ("file:///opt/data/", "file", "", "opt/data/"),
        ("obs://" + "b" * 63 + "/k", "obs", "b" * 63, "k"),
        ("obs://abc/k", "obs", "abc", "k"),
    ],
)
def test_valid_locations(text: str, scheme: str, bucket: str, key: str) -> None:
    loc = parse_location(text)
    assert (loc.scheme, loc.bucket, loc.key) == (scheme, bucket, key)
    assert parse_location(loc.url) == loc


def test_short_form_equals_obs() -> None:
    assert parse_location("/bkt/a/b") == parse_location("obs://bkt/a/b")
    assert parse_location("/bkt/a/b").url == "obs://bkt/a/b"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("", "a location is obs://"),
        ("   ", "a location is obs://"),
        ("bkt/key", "a location is obs://"),  # relative
        ("data", "a location is obs://"),
        ("http://bkt/key", "unknown scheme 'http'"),
        ("ftp://bkt/key", "unknown scheme"),
        ("file://relative/path", "file:///absolute/path"),
        ("file://host/abs", "file:///absolute/path"),
        ("file:relative", "a location is obs://"),
        ("obs://ab/key", "3-63 characters"),  # bucket too short
        ("obs://" + "b" * 64 + "/key", "3-63 characters"),  # bucket too long
        ("obs://Bucket/key", "a-z, 0-9"),  # upper case
        ("obs://bu_cket/key", "a-z, 0-9"),
        ("obs://-bkt/key", "starting and ending with a letter or digit"),
        ("obs://bkt-/key", "starting and ending"),
        ("obs:///key", "3-63 characters"),  # empty bucket
        ("obs://", "3-63 characters"),
        ("/ab/key", "3-63 characters"),
        ("obs://bkt/a/../b", "'..'"),
        ("obs://bkt/../other-bucket/x", "'..'"),
        ("obs://bkt/..", "'..'"),
        ("/bkt/a/../../x", "'..'"),
        ("s3://bkt/a/./b", "'.'"),
        ("obs://bkt/a//b", "empty"),
        ("obs://bkt//a", "empty"),
        ("obs://bkt/a//", "empty"),
        ("file:///opt/../etc/passwd", "'..'"),
        ("file:///opt/./x", "'.'"),
        ("file:///opt//x", "empty"),
        ("obs://bkt/a\nb", "control characters"),
        ("file:///opt/a\x00b", "control characters"),
    ],
)
def test_refused_locations(text: str, phrase: str) -> None:
    expect_error(lambda: parse_location(text, "inputs[0].remote.obs.obs_url"),
                 "inputs[0].remote.obs.obs_url", text, phrase)


def test_non_string_location_is_refused() -> None:
    expect_error(lambda: parse_location(None, "code_dir"), "code_dir", None)  # type: ignore[arg-type]


def test_default_field_name() -> None:
    expect_error(lambda: parse_location("x"), "location", "x")


def test_location_helpers() -> None:
    code = parse_location("obs://bkt/training-test/demo-code")
    assert code.name == "demo-code"  # S2.2: lands in ${MA_JOB_DIR}/demo-code
    assert parse_location("obs://bkt/training-test/demo-code/").name == "demo-code"
    assert parse_location("obs://bkt").name == "bkt"
    assert not code.is_dir
    assert code.as_dir().url == "obs://bkt/training-test/demo-code/"
    assert code.as_dir().as_dir() == code.as_dir()
    assert code.child("sub/x.py").url == "obs://bkt/training-test/demo-code/sub/x.py"
    assert str(code) == code.url
    assert parse_location("obs://bkt").url == "obs://bkt/"
    assert parse_location("file:///opt/x").url == "file:///opt/x"


def test_child_cannot_escape() -> None:
    code = parse_location("obs://bkt/code")
    with pytest.raises(SpecError):
        code.child("../other")
    with pytest.raises(SpecError):
        code.child("a//b")


@pytest.mark.parametrize(
    ("child", "parent", "rel"),
    [
        ("obs://bkt/code/x.py", "obs://bkt/code", "x.py"),
        ("obs://bkt/code/a/x.py", "obs://bkt/code/", "a/x.py"),
        ("obs://bkt/codex/x.py", "obs://bkt/code", None),  # a prefix is not a parent
        ("s3://bkt/code/x.py", "obs://bkt/code", None),  # another store
        ("obs://other/code/x.py", "obs://bkt/code", None),  # another bucket
        ("obs://bkt/x.py", "obs://bkt", "x.py"),
        ("file:///opt/code/x.py", "file:///opt/code", "x.py"),
    ],
)
def test_relative_to(child: str, parent: str, rel: str | None) -> None:
    assert parse_location(child).relative_to(parse_location(parent)) == rel


def test_locations_order_and_hash() -> None:
    a, b = parse_location("obs://bkt/a"), parse_location("obs://bkt/b")
    assert sorted([b, a]) == [a, b]
    assert len({a, parse_location("/bkt/a")}) == 1
    assert isinstance(a, Location)


@pytest.mark.parametrize("rel", ["a", "a/b.txt", "x/y/z"])
def test_safe_relative_path_ok(rel: str) -> None:
    assert safe_relative_path(rel) == rel


@pytest.mark.parametrize("rel", ["", "/abs", "../x", "a/../b", "a/./b", "a//b", "a/"])
def test_safe_relative_path_refused(rel: str) -> None:
    expect_error(lambda: safe_relative_path(rel, "key"), "key", rel, "relative path")


# --- properties --------------------------------------------------------------------------

_component = st.from_regex(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,11}", fullmatch=True).filter(
    lambda c: c not in (".", "..")
)
_bucket = st.from_regex(r"[a-z0-9][a-z0-9.\-]{1,20}[a-z0-9]", fullmatch=True)
_key = st.lists(_component, min_size=1, max_size=5).map("/".join)


@quick
@given(scheme=st.sampled_from(["obs", "s3"]), bucket=_bucket, key=_key, slash=st.booleans())
def test_safe_keys_round_trip(scheme: str, bucket: str, key: str, slash: bool) -> None:
    text = f"{scheme}://{bucket}/{key}" + ("/" if slash else "")
    loc = parse_location(text)
    assert (loc.scheme, loc.bucket) == (scheme, bucket)
    assert loc.url == text
    assert parse_location(loc.url) == loc
    assert loc.relative_to(Location(scheme, bucket, "")) == loc.key


@quick
@given(
    form=st.sampled_from(["obs://bkt/{}", "/bkt/{}", "s3://bkt/{}", "file:///{}"]),
    before=st.lists(_component, max_size=3),
    bad=st.sampled_from(["..", ".", ""]),
    after=st.lists(_component, min_size=1, max_size=3),
)
def test_unsafe_components_are_refused_everywhere(
    form: str, before: list[str], bad: str, after: list[str]
) -> None:
    text = form.format("/".join([*before, bad, *after]))
    with pytest.raises(SpecError):
        parse_location(text)
