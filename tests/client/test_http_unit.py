"""ModelYardClient and HttpBackend over a mock transport: paging, errors, log decoding."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from modelyard.client.http import ApiError, HttpBackend, ModelYardClient


def backend(handler: Any) -> HttpBackend:
    client = ModelYardClient("http://yard.test", project="p",
                             transport=httpx.MockTransport(handler))
    return HttpBackend(client=client)


def test_pages_until_total_and_pops_warnings() -> None:
    jobs = [{"metadata": {"id": str(i)}} for i in range(120)]
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/p/training-job-searches":
            body = json.loads(request.content)
            seen.append(body)
            page = jobs[body["offset"]:body["offset"] + body["limit"]]
            return httpx.Response(200, json={"total": len(jobs), "items": page})
        assert request.url.path == "/v2/p/algorithms" and request.method == "POST"
        return httpx.Response(201, json={"metadata": {"id": "a"}, "warnings": ["w1"]})

    b = backend(handler)
    assert [j["metadata"]["id"] for j in b.list_jobs("Running")] == [str(i) for i in range(120)]
    assert [s["offset"] for s in seen] == [0, 50, 100]
    assert seen[0]["filters"] == [{"key": "phase", "operator": "in", "value": ["Running"]}]
    assert b.create_algorithm({"x": 1}) == ({"metadata": {"id": "a"}}, ["w1"])


def test_error_answers_become_api_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/json"):
            return httpx.Response(409, json={"error_code": "ModelYard.Conflict",
                                             "error_msg": "busy", "field": "x"})
        return httpx.Response(502, text="bad gateway")

    b = backend(handler)
    with pytest.raises(ApiError) as info:
        b.get_job("json")
    assert (info.value.status, info.value.code, str(info.value), info.value.field) == (
        409, "ModelYard.Conflict", "busy", "x")
    assert info.value.message == "busy"
    with pytest.raises(ApiError) as info:
        b.get_job("plain")
    assert info.value.status == 502 and "bad gateway" in info.value.message


def test_log_stream_decodes_characters_split_across_chunks() -> None:
    text = "训练 epoch 1 ✓\n"
    data = text.encode()

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["follow"] == "true"
        return httpx.Response(200, content=iter([data[:1], data[1:4], data[4:]]))

    assert "".join(backend(handler).follow_log("j", follow=True)) == text


def test_ids_are_escaped_in_paths() -> None:
    paths = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(200, json={"metadata": {}})

    backend(handler).get_algorithm("a/b c")
    assert paths == ["/v2/p/algorithms/a%2Fb%20c"]
