"""Playing the attacker against real servers (issue 14): every attack of the issue is refused
with the right status. One server with keys (the tenants of conftest), one without."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.conftest import Tenants
from fixtures.server import ServerInfo, algorithm_body, start_server, stop_server
from modelyard.auth import (
    EMPTY_HASH,
    canonical_request,
    parse_authorization,
    sign_request,
    signature,
    string_to_sign,
)

pytestmark = pytest.mark.slow
MB = 1024 * 1024


def signed(t: Tenants, method: str, path: str, body: bytes = b"", user: str = "alice",
           extra: dict[str, str] | None = None, when: datetime | None = None
           ) -> dict[str, str]:
    ak, sk = t.keys[user]
    headers = {"Content-Type": "application/json", **(extra or {})}
    return sign_request(ak, sk, method, t.server.url + path, headers, body, when)


def algo(name: str, code: Path) -> bytes:
    return json.dumps(algorithm_body(name, code)).encode()


# --------------------------------------------------------------------- keyed server
def test_a_captured_request_cannot_be_sent_again(tenants: Tenants, test_code: Path) -> None:
    path, body = "/v2/teama/algorithms", algo("replayed", test_code)
    headers = signed(tenants, "POST", path, body)
    with httpx.Client(base_url=tenants.server.url) as http:
        assert http.post(path, content=body, headers=headers).status_code == 201
        again = http.post(path, content=body, headers=headers)
    assert again.status_code == 401 and "replay" in again.json()["error_msg"]
    # Reads may repeat (the official SDK's date has one-second resolution): GET, and the
    # POST that only lists jobs.
    search, query = "/v2/teama/training-job-searches", b'{"limit": 5}'
    for method, where, body in (("GET", path, b""), ("POST", search, query)):
        headers = signed(tenants, method, where, body)
        with httpx.Client(base_url=tenants.server.url) as http:
            for _ in range(2):
                r = http.request(method, where, content=body, headers=headers)
                assert r.status_code == 200, r.text


def test_a_body_cannot_be_changed_under_a_signature(tenants: Tenants, test_code: Path) -> None:
    path = "/v2/teama/algorithms"
    body, evil = algo("honest", test_code), algo("evil", test_code)
    digest = __import__("hashlib").sha256(body).hexdigest()
    with httpx.Client(base_url=tenants.server.url) as http:
        plain = signed(tenants, "POST", path, body)
        r = http.post(path, content=evil, headers=plain)
        assert r.status_code == 401 and "signature does not match" in r.json()["error_msg"]
        # X-Sdk-Content-Sha256 added, unsigned, to the captured request.
        for declared in ("UNSIGNED-PAYLOAD", __import__("hashlib").sha256(evil).hexdigest()):
            r = http.post(path, content=evil,
                          headers={**plain, "X-Sdk-Content-Sha256": declared})
            assert r.status_code == 401 and "not signed" in r.json()["error_msg"]
        # Signed, but of the other body.
        hashed = signed(tenants, "POST", path, body, extra={"X-Sdk-Content-Sha256": digest})
        r = http.post(path, content=evil, headers=hashed)
        assert r.status_code == 401 and "does not match the body" in r.json()["error_msg"]
        # UNSIGNED-PAYLOAD, signed, on a JSON body.
        unsigned = signed(tenants, "POST", path, body,
                          extra={"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"})
        r = http.post(path, content=evil, headers=unsigned)
        assert r.status_code == 401 and "never for JSON" in r.json()["error_msg"]
        names = [a["metadata"]["name"] for a in http.get(
            "/v2/teama/algorithms", headers=signed(tenants, "GET", "/v2/teama/algorithms")
        ).json()["items"]]
    assert "evil" not in names


def test_skewed_dates_and_an_unsigned_host_are_refused(tenants: Tenants) -> None:
    path = "/v2/teama/algorithms"
    with httpx.Client(base_url=tenants.server.url) as http:
        for minutes in (-6, 6):
            when = datetime.now(UTC) + timedelta(minutes=minutes)
            r = http.get(path, headers=signed(tenants, "GET", path, when=when))
            assert r.status_code == 401 and "clock" in r.json()["error_msg"]
        headers = signed(tenants, "GET", path)
        low = {k.lower(): v for k, v in headers.items()}
        names = [h for h in parse_authorization(low["authorization"]).signed_headers
                 if h != "host"]
        canonical = canonical_request("GET", path, [], low, names, EMPTY_HASH)
        sig = signature(tenants.keys["alice"][1], string_to_sign(canonical, low["x-sdk-date"]))
        ak = tenants.keys["alice"][0]
        headers["Authorization"] = (f"SDK-HMAC-SHA256 Access={ak}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={sig}")
        r = http.get(path, headers=headers)
        assert r.status_code == 401 and "Host must be a signed header" in r.json()["error_msg"]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _stream(total: int) -> Iterator[bytes]:
    chunk = b"x" * MB
    for _ in range(total // MB):
        yield chunk


def _post_quietly(url: str, content: Any, headers: dict[str, str], out: list[int]) -> None:
    try:
        with httpx.Client(timeout=60) as http:
            out.append(http.post(url, content=content, headers=headers).status_code)
    except httpx.HTTPError:
        out.append(0)  # the server closed the connection instead of reading on


def test_big_unsigned_bodies_are_refused_before_being_read(tenants: Tenants) -> None:
    server = tenants.server
    assert server.process is not None
    before = _rss_mb(server.process.pid)
    url = server.url + "/v2/teama/training-jobs"
    statuses: list[int] = []
    threads = [threading.Thread(target=_post_quietly, args=(
        url, _stream(250 * MB), {"Content-Type": "application/json"}, statuses))
        for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert statuses and all(s in (401, 0) for s in statuses), statuses
    assert _rss_mb(server.process.pid) - before < 64
    # A signed request announcing more than the limit: 413 before the body is read.
    big = signed(tenants, "POST", "/v2/teama/training-jobs", b"{}")
    status, answer = _announce(server.url, "/v2/teama/training-jobs", big, 50 * MB)
    assert status == 413 and "at most" in answer


def _announce(url: str, path: str, headers: dict[str, str], length: int) -> tuple[int, str]:
    """Sends only the head of a request whose Content-Length says ``length``; returns the
    status and body of the answer (the server must answer without waiting for the body)."""
    host, port = url.removeprefix("http://").split(":")
    head = [f"POST {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()
                                         if k.lower() != "content-length"]
    head.append(f"Content-Length: {length}")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"{")
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2].decode()


def test_console_tokens(tenants: Tenants) -> None:
    with httpx.Client(base_url=tenants.server.url) as http:
        assert http.post("/v3/auth/tokens", headers={"X-Auth-Token": "made-up"}
                         ).status_code == 401
        issued = http.post("/v3/auth/tokens", headers=signed(tenants, "POST",
                                                             "/v3/auth/tokens"))
        assert issued.status_code == 201, issued.text
        token = issued.json()["token"]
        assert issued.json()["projects"] == [{"id": "teama", "role": "member"}]
        session = {"X-Auth-Token": token}
        assert http.get("/v2/teama/algorithms", headers=session).status_code == 200
        assert http.get("/v2/teamb/algorithms", headers=session).status_code == 403
        # A token cannot mint tokens (only a proven key can).
        assert http.post("/v3/auth/tokens", headers=session).status_code == 403
        assert http.delete("/v3/auth/tokens", headers=session).status_code == 204
        assert http.get("/v2/teama/algorithms", headers=session).status_code == 401


# ------------------------------------------------------------------ keyless server
@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    info = start_server(tmp_path_factory.mktemp("keyless-home"))
    yield info
    stop_server(info)


def test_keyless_server_refuses_web_pages(keyless: ServerInfo, test_code: Path) -> None:
    port = keyless.url.rsplit(":", 1)[1]
    path = "/v2/default/algorithms"
    body = algo("from-a-page", test_code)
    json_type = {"Content-Type": "application/json"}
    with httpx.Client(base_url=keyless.url) as http:
        attacks = {
            "DNS rebinding": ({**json_type, "Host": f"rebind.evil.example:{port}"}, 403),
            "foreign Origin": ({**json_type, "Origin": "http://evil.example"}, 403),
            "null Origin": ({**json_type, "Origin": "null"}, 403),
            "cross-site fetch": ({**json_type, "Sec-Fetch-Site": "cross-site"}, 403),
            "simple request": ({"Content-Type": "text/plain"}, 415),
            "form post": ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        }
        for what, (headers, status) in attacks.items():
            r = http.post(path, content=body, headers=headers)
            assert r.status_code == status, (what, r.text)
            assert r.json()["error_code"].startswith("ModelYard."), what
        assert http.get(path, headers={"Host": "evil.example"}).status_code == 403
        # This machine's own user: loopback Host, same-origin page, JSON.
        ok = http.post(path, content=body, headers={
            **json_type, "Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"})
        assert ok.status_code == 201, ok.text
        assert http.get(path, headers={"Host": f"localhost:{port}"}).status_code == 200
        listed = http.get(path).json()["items"]
    assert [a["metadata"]["name"] for a in listed] == ["from-a-page"]


def test_keyless_big_body_is_cut_off_while_read(keyless: ServerInfo) -> None:
    statuses: list[int] = []
    _post_quietly(keyless.url + "/v2/default/algorithms", _stream(64 * MB),
                  {"Content-Type": "application/json"}, statuses)
    assert statuses in ([413], [0])


# ------------------------------------------------ one unfinished job per output location
def _race(url: str, project: str, test_code: Path, n: int = 10) -> list[int]:
    bucket = "race-" + uuid.uuid4().hex[:8]
    with httpx.Client(base_url=url, timeout=60) as http:
        r = http.post(f"/v2/{project}/algorithms", json=algorithm_body("race-algo", test_code))
        assert r.status_code == 201, r.text
    body = {"kind": "job", "metadata": {"name": "racer"},
            "algorithm": {"name": "race-algo",
                          "parameters": [{"name": "epochs", "value": 100},
                                         {"name": "sleep", "value": 0.1}],
                          "outputs": [{"name": "train_url", "remote": {
                              "obs": {"obs_url": f"obs://{bucket}/out/"}}}]}}
    statuses: list[int] = []
    created: list[str] = []
    barrier = threading.Barrier(n)

    def create() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            barrier.wait()
            r = http.post(f"/v2/{project}/training-jobs", json=body)
            statuses.append(r.status_code)
            if r.status_code == 201:
                created.append(r.json()["metadata"]["id"])
            else:
                assert "one output location serves one unfinished job" in r.json()["error_msg"]

    threads = [threading.Thread(target=create) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(180)
    with httpx.Client(base_url=url, timeout=60) as http:
        for job_id in created:
            http.post(f"/v2/{project}/training-jobs/{job_id}/actions",
                      json={"action_type": "terminate"})
    return sorted(statuses)


def test_concurrent_creates_with_one_output_on_sqlite(keyless: ServerInfo,
                                                      test_code: Path) -> None:
    assert _race(keyless.url, "race", test_code) == [201] + [409] * 9


def test_concurrent_creates_with_one_output_on_postgres(pg_url: str, tmp_path: Path,
                                                        test_code: Path) -> None:
    server = start_server(tmp_path / "home", db_url=pg_url)
    try:
        assert _race(server.url, "race", test_code) == [201] + [409] * 9
    finally:
        stop_server(server)
