"""Which S3 client serves a location (``MODELYARD_S3_CLIENT``), and the clear refusal when
the chosen client cannot serve the configured endpoint. No server needed: stores connect
on first use."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import parse_location
from modelyard.storage.registry import store_for
from modelyard.storage.s3_boto import BotoS3Store
from modelyard.storage.s3_lean import LeanS3Store
from modelyard.storage.s3_obstore import ObstoreS3Store

URL = parse_location("s3://bucket/key")


@pytest.fixture
def no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_REGION", "AWS_DEFAULT_REGION", "MODELYARD_S3_ENDPOINT",
                 "MODELYARD_S3_ACCESS_KEY", "MODELYARD_S3_SECRET_KEY",
                 "MODELYARD_S3_ADDRESSING_STYLE", "MODELYARD_S3_CLIENT"):
        monkeypatch.delenv(name, raising=False)


def _self_hosted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELYARD_S3_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("MODELYARD_S3_ACCESS_KEY", "AKEXAMPLE")
    monkeypatch.setenv("MODELYARD_S3_SECRET_KEY", "secret-example")


@pytest.mark.usefixtures("no_aws_env")
@pytest.mark.parametrize(("client", "expected"), [
    ("auto", LeanS3Store), ("lean", LeanS3Store), ("boto", BotoS3Store),
    ("obstore", ObstoreS3Store)])
def test_a_self_hosted_endpoint_gets_the_client_asked_for(
        home: Path, monkeypatch: pytest.MonkeyPatch, client: str, expected: type) -> None:
    _self_hosted(monkeypatch)
    monkeypatch.setenv("MODELYARD_S3_CLIENT", client)
    store = store_for(URL, Settings(home=home))
    try:
        assert type(store) is expected
        assert "secret-example" not in repr(store) and "AKEXAMPLE" not in repr(store)
    finally:
        store.close()


@pytest.mark.usefixtures("no_aws_env")
def test_aws_itself_goes_to_botocore_without_importing_it(home: Path) -> None:
    store = store_for(URL, Settings(home=home))
    assert type(store) is BotoS3Store and store.endpoint_display == "AWS S3"
    if "boto3" not in sys.modules:  # another test of this process may have imported it
        store.close()
        assert "boto3" not in sys.modules


@pytest.mark.usefixtures("no_aws_env")
@pytest.mark.parametrize("client", ["lean", "obstore"])
def test_a_client_that_cannot_serve_the_endpoint_is_refused_by_name(
        home: Path, monkeypatch: pytest.MonkeyPatch, client: str) -> None:
    monkeypatch.setenv("MODELYARD_S3_CLIENT", client)  # no endpoint: AWS S3 itself
    with pytest.raises(SpecError) as err:
        store_for(URL, Settings(home=home))
    assert (err.value.field, err.value.value) == ("MODELYARD_S3_CLIENT", client)
    assert "custom endpoint" in err.value.rule


def test_an_unknown_client_is_refused_by_the_settings(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELYARD_S3_CLIENT", "s3fs")
    with pytest.raises(ValueError) as err:
        Settings(home=home).s3  # noqa: B018 - reading it validates it
    text = str(err.value)
    assert "MODELYARD_S3_CLIENT" in text and "s3fs" in text and "'obstore'" in text
