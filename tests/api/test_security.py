"""Access: with API keys every request but /health and the docs must be signed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from modelyard.api import create_app
from modelyard.auth import sign_request
from modelyard.cli.main import app as cli
from modelyard.cli.server import is_loopback
from modelyard.client.http import ApiError, ModelYardClient
from modelyard.service.app import Service
from modelyard.settings import Settings

AK, SK = "AK-SEC", "the-secret-key-value"


@pytest.fixture
def keyed(settings: Settings) -> Iterator[TestClient]:
    keys_file = settings.home / "keys.txt"
    keys_file.write_text(f"# test keys\n{AK}:{SK}\n")
    s = Settings(home=settings.home, api_keys_file=keys_file)
    service = Service(s)
    with TestClient(create_app(s, service), base_url="http://testserver") as client:
        yield client
    service.close()


def signed(method: str, path: str, body: bytes = b"", sk: str = SK) -> dict[str, str]:
    headers = {"Content-Type": "application/json"} if body else {}
    return sign_request(AK, sk, method, f"http://testserver{path}", headers, body)


def test_unsigned_is_401_and_public_paths_stay_open(keyed: TestClient) -> None:
    r = keyed.get("/v2/p/algorithms")
    assert r.status_code == 401
    assert r.json()["error_code"] == "ModelYard.Unauthorized"
    assert keyed.get("/health").json()["auth"] == "keys"
    assert keyed.get("/openapi.json").status_code == 200
    assert keyed.get("/docs").status_code == 200
    assert keyed.get("/v2/p/storage/buckets").status_code == 401
    assert keyed.get("/console/").status_code != 401
    # A bad signature is refused before the body is even looked at.
    assert keyed.post("/v2/p/algorithms", content=b"{broken").status_code == 401


def test_signed_requests_pass(keyed: TestClient) -> None:
    path = "/v2/p/algorithms?limit=5&offset=0"
    r = keyed.get(path, headers=signed("GET", path))
    assert r.status_code == 200, r.text
    body = b'{"metadata": {"name": "x y"}}'
    r = keyed.post("/v2/p/algorithms", content=body,
                   headers=signed("POST", "/v2/p/algorithms", body))
    assert r.status_code == 400 and r.json()["field"] == "metadata.name"


def test_bad_signature_is_401_and_logged_without_secret(
        keyed: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="modelyard.api.auth")
    r = keyed.get("/v2/p/algorithms", headers=signed("GET", "/v2/p/algorithms", sk="nope-sk"))
    assert r.status_code == 401
    assert "signature does not match" in r.json()["error_msg"]
    assert AK in caplog.text and "signature does not match" in caplog.text
    assert SK not in caplog.text and "nope-sk" not in caplog.text
    # Replaying a signature on another path fails too.
    headers = signed("GET", "/v2/p/algorithms")
    assert keyed.get("/v2/q/algorithms", headers=headers).status_code == 401


def test_our_client_signs(keyed: TestClient) -> None:
    def client(sk: str) -> ModelYardClient:
        return ModelYardClient("http://testserver", access_key=AK, secret_key=sk, project="p",
                               transport=keyed._transport)

    assert client(SK).list_algorithms()["total"] == 0
    with pytest.raises(ApiError, match="signature does not match") as info:
        client("wrong").list_algorithms()
    assert info.value.status == 401 and info.value.code == "ModelYard.Unauthorized"


def test_server_refuses_other_addresses_without_keys(home: Path) -> None:
    result = CliRunner().invoke(cli, ["server", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2
    assert "loopback only" in result.output and "MODELYARD_API_KEYS" in result.output
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
