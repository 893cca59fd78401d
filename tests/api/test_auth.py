"""The shared signer against the official SDK's signer, and the verifier's refusals."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from modelyard.auth import (
    EMPTY_HASH,
    AuthError,
    canonical_query,
    canonical_request,
    canonical_uri,
    parse_authorization,
    parse_keys,
    sign_request,
    signature,
    string_to_sign,
    verify_request,
)

sdk_signer = pytest.importorskip("huaweicloudsdkcore.signer.signer")
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.sdk_request import SdkRequest  # noqa: E402

AK, SK = "AKTEST", "sk-very-secret"
HOST = "127.0.0.1:8123"


def official(method: str, path: str, query: list[tuple[str, object]], body: bytes,
             headers: dict[str, str] | None = None) -> SdkRequest:
    req = SdkRequest(method=method, schema="http", host=HOST, resource_path=path,
                     query_params=query,
                     header_params={"Content-Type": "application/json",
                                    "X-Project-Id": "proj-1", **(headers or {})},
                     body=body)
    return sdk_signer.Signer(BasicCredentials(AK, SK, "proj-1")).sign(req)


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): str(v) for k, v in headers.items()}


def raw_query(req: SdkRequest) -> str:
    return req.uri.partition("?")[2]


CASES = [
    ("POST", "/v2/proj-1/training-jobs", [], b'{"kind": "job"}'),
    ("GET", "/v2/proj-1/algorithms", [("limit", 10), ("offset", 0), ("searches", "name:a b")],
     b""),
    ("GET", "/v2/proj-1/training-jobs/abc/events", [("level", "Info"), ("flag", True)], b""),
    ("DELETE", "/v2/proj-1/algorithms/%E4%B8%AD", [], b""),
    ("PUT", "/v2/proj-1/algorithms/x", [("z", "~!*'()"), ("a", "中文")], "{\"名\": 1}".encode()),
]


@pytest.mark.parametrize(("method", "path", "query", "body"), CASES)
def test_official_signature_verifies(method: str, path: str, query: list[tuple[str, object]],
                                     body: bytes) -> None:
    req = official(method, path, query, body)
    got = verify_request({AK: SK}, method, path, raw_query(req), lower(req.header_params), body)
    assert got == AK


@pytest.mark.parametrize(("method", "path", "query", "body"), CASES)
def test_our_signer_matches_official(method: str, path: str, query: list[tuple[str, object]],
                                     body: bytes) -> None:
    req = official(method, path, query, body)
    date = req.header_params["X-Sdk-Date"]
    ours = sign_request(AK, SK, method, f"http://{HOST}{req.uri}",
                        {"Content-Type": "application/json", "X-Project-Id": "proj-1",
                         "X-Sdk-Date": date}, body)
    assert ours["Authorization"] == req.header_params["Authorization"]


def test_canonical_forms() -> None:
    assert canonical_uri("/v2/p/algorithms") == "/v2/p/algorithms/"
    assert canonical_uri("/v2/p/a%20b/") == "/v2/p/a%20b/"
    assert canonical_query([("b", "2"), ("a", "x y"), ("a", "1")]) == "a=1&a=x%20y&b=2"


def _signed(body: bytes = b"{}", when: datetime | None = None,
            sk: str = SK) -> tuple[str, dict[str, str]]:
    url = f"http://{HOST}/v2/p/training-jobs?limit=5"
    return url, lower(sign_request(AK, sk, "POST", url, {"Content-Type": "application/json"},
                                   body, when))


def test_tampering_is_refused() -> None:
    _, headers = _signed()
    ok = verify_request({AK: SK}, "POST", "/v2/p/training-jobs", "limit=5", headers, b"{}")
    assert ok == AK
    refusals = [
        ("POST", "/v2/p/training-jobs", "limit=5", headers, b'{"x": 1}'),  # body
        ("POST", "/v2/q/training-jobs", "limit=5", headers, b"{}"),  # path
        ("POST", "/v2/p/training-jobs", "limit=6", headers, b"{}"),  # query
        ("PUT", "/v2/p/training-jobs", "limit=5", headers, b"{}"),  # method
        ("POST", "/v2/p/training-jobs", "limit=5",
         {**headers, "content-type": "text/plain"}, b"{}"),  # a signed header
    ]
    for method, path, query, hdrs, body in refusals:
        with pytest.raises(AuthError, match="signature does not match"):
            verify_request({AK: SK}, method, path, query, hdrs, body)


def test_wrong_secret_unknown_key_old_date_unsigned() -> None:
    _, headers = _signed(sk="wrong")
    with pytest.raises(AuthError, match="signature does not match"):
        verify_request({AK: SK}, "POST", "/v2/p/training-jobs", "limit=5", headers, b"{}")
    _, headers = _signed()
    with pytest.raises(AuthError, match="unknown or revoked access key"):
        verify_request({"OTHER": SK}, "POST", "/v2/p/training-jobs", "limit=5", headers, b"{}")
    _, headers = _signed(when=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(AuthError, match="away from the server's clock"):
        verify_request({AK: SK}, "POST", "/v2/p/training-jobs", "limit=5", headers, b"{}")
    with pytest.raises(AuthError, match="not signed"):
        verify_request({AK: SK}, "POST", "/v2/p/training-jobs", "limit=5", {}, b"{}")
    with pytest.raises(AuthError, match="scheme"):
        parse_authorization("Bearer abc")


def test_errors_never_hold_the_secret() -> None:
    _, headers = _signed(sk="wrong")
    with pytest.raises(AuthError) as info:
        verify_request({AK: SK}, "POST", "/v2/p/training-jobs", "limit=5", headers, b"{}")
    assert SK not in str(info.value) and "wrong" not in str(info.value)


def test_parse_keys() -> None:
    assert parse_keys("a:1, b:2") == {"a": "1", "b": "2"}
    assert parse_keys("# comment\na:1\n\nb: 2  # trailing\n") == {"a": "1", "b": "2"}
    with pytest.raises(ValueError, match="entry 2") as info:
        parse_keys("a:1,secretonly")
    assert "secretonly" not in str(info.value)


# ------------------------------------------------------------- issue 14: body and Host
def test_body_is_hashed_as_received_not_as_declared() -> None:
    """A declared X-Sdk-Content-Sha256 cannot vouch for a body the server did not see."""
    url = f"http://{HOST}/v2/p/training-jobs"
    body, evil = b'{"a": 1}', b'{"output": "file:///root/"}'
    # Declared and signed, but of another body: refused.
    headers = lower(sign_request(AK, SK, "POST", url, {
        "Content-Type": "application/json",
        "X-Sdk-Content-Sha256": hashlib.sha256(body).hexdigest()}, body))
    assert verify_request({AK: SK}, "POST", "/v2/p/training-jobs", "", headers, body) == AK
    with pytest.raises(AuthError, match="does not match the body"):
        verify_request({AK: SK}, "POST", "/v2/p/training-jobs", "", headers, evil)
    # Added unsigned to a captured request: refused before any hashing.
    captured = lower(sign_request(AK, SK, "POST", url, {"Content-Type": "application/json"},
                                  body))
    forged = {**captured, "x-sdk-content-sha256": "UNSIGNED-PAYLOAD"}
    with pytest.raises(AuthError, match="sent but not signed"):
        verify_request({AK: SK}, "POST", "/v2/p/training-jobs", "", forged, evil)


def test_unsigned_payload_only_where_allowed() -> None:
    url = f"http://{HOST}/v2/p/storage/object?url=obs%3A%2F%2Fb%2Fk"
    headers = lower(sign_request(AK, SK, "POST", url, {
        "Content-Type": "application/octet-stream", "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"},
        b"bytes"))
    with pytest.raises(AuthError, match="never for JSON bodies"):
        verify_request({AK: SK}, "POST", "/v2/p/storage/object", "url=obs%3A%2F%2Fb%2Fk",
                       headers, b"other bytes")
    assert verify_request({AK: SK}, "POST", "/v2/p/storage/object", "url=obs%3A%2F%2Fb%2Fk",
                          headers, b"other bytes", allow_unsigned_payload=True) == AK


def test_host_must_be_signed() -> None:
    url = f"http://{HOST}/v2/p/algorithms"
    headers = lower(sign_request(AK, SK, "GET", url, {}))
    auth = parse_authorization(headers["authorization"])
    unsigned_host = [h for h in auth.signed_headers if h != "host"]
    canonical = canonical_request("GET", "/v2/p/algorithms", [], headers, unsigned_host,
                                  EMPTY_HASH)
    sig = signature(SK, string_to_sign(canonical, headers["x-sdk-date"]))
    headers["authorization"] = (f"SDK-HMAC-SHA256 Access={AK}, "
                                f"SignedHeaders={';'.join(unsigned_host)}, Signature={sig}")
    with pytest.raises(AuthError, match="Host must be a signed header"):
        verify_request({AK: SK}, "GET", "/v2/p/algorithms", "", headers, b"")


def test_default_window_is_five_minutes() -> None:
    _, headers = _signed(when=datetime.now(UTC) - timedelta(minutes=6))
    with pytest.raises(AuthError, match="away from the server's clock"):
        verify_request({AK: SK}, "POST", "/v2/p/training-jobs", "limit=5", headers, b"{}",
                       max_skew=300)
