"""HTTP to a ModelYard server: ``ModelYardClient`` (one method per endpoint, JSON in and out,
optional AK/SK signing) and ``HttpBackend`` (the CLI's Backend protocol over it).

Every error answer becomes ``ApiError`` carrying the server's ``error_code`` and
``error_msg``. It is a SpecError so that callers which already show rule violations (the CLI)
print the server's words exactly as they print the embedded service's.
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Generator, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from modelyard.auth import sign_request
from modelyard.client.paging import every_item
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError

PAGE = 50  # training-job-searches allows at most 50 per page


class ApiError(SpecError):
    """An error answer from the server (or no answer at all, ``status`` 0)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 rule: str | None = None) -> None:
        self.status = status
        self.code = code
        self._message = message
        super().__init__(field or "", None, rule or message)

    @property
    def message(self) -> str:
        return self._message

    def __str__(self) -> str:
        return self._message


class SdkHmacAuth(httpx.Auth):
    """Signs each request like the official SDK: Host, Content-Type, X-Project-Id and
    X-Sdk-Date are signed, and so is the body. A random ``X-Request-Id`` is signed too, so
    two identical requests within one second (the date's resolution) have different
    signatures and the server's replay cache refuses only true replays."""

    requires_request_body = True

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key = access_key
        self.secret_key = secret_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        wanted = ("host", "content-type", "x-project-id", "x-request-id")
        if "x-request-id" not in request.headers:
            request.headers["X-Request-Id"] = uuid.uuid4().hex
        headers = {k: v for k, v in request.headers.items() if k.lower() in wanted}
        signed = sign_request(self.access_key, self.secret_key, request.method,
                              str(request.url), headers, request.content)
        for name in ("X-Sdk-Date", "Authorization"):
            request.headers[name] = signed[name]
        yield request


def _seg(text: str) -> str:
    return quote(text, safe="")


class ModelYardClient:
    """The REST API, one method per endpoint; ``url`` etc. default to the settings
    (MODELYARD_URL, MODELYARD_ACCESS_KEY, MODELYARD_SECRET_KEY, MODELYARD_PROJECT)."""

    def __init__(self, url: str | None = None, *, access_key: str | None = None,
                 secret_key: str | None = None, project: str | None = None,
                 timeout: float = 60.0, settings: Settings | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        s = settings or Settings()
        self.url = (url or s.url or "http://127.0.0.1:8000").rstrip("/")
        self.project = project or s.project
        ak = access_key or s.access_key
        sk = secret_key or (s.secret_key.get_secret_value() if s.secret_key else None)
        auth = SdkHmacAuth(ak, sk) if ak and sk else None
        self._http = httpx.Client(base_url=self.url, auth=auth, timeout=timeout,
                                  headers={"X-Project-Id": self.project}, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ModelYardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------- plumbing
    def _path(self, rest: str) -> str:
        return f"/v2/{_seg(self.project)}{rest}"

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        """Sends one request; returns the decoded JSON (None for an empty body)."""
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as exc:
            raise ApiError(0, "ModelYard.Unreachable",
                           f"cannot reach the ModelYard server at {self.url}: {exc}") from None
        _raise_for(response)
        return response.json() if response.content else None

    # ----------------------------------------------------------- algorithms
    def create_algorithm(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", self._path("/algorithms"), json=body)
        return result

    def list_algorithms(self, offset: int = 0, limit: int = 50, name: str | None = None,
                        order: str = "desc") -> dict[str, Any]:
        params: dict[str, Any] = {"offset": offset, "limit": limit, "order": order}
        if name:
            params["searches"] = f"name:{name}"
        result: dict[str, Any] = self.request("GET", self._path("/algorithms"), params=params)
        return result

    def get_algorithm(self, ident: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", self._path(f"/algorithms/{_seg(ident)}"))
        return result

    def update_algorithm(self, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("PUT", self._path(f"/algorithms/{_seg(ident)}"),
                                              json=body)
        return result

    def delete_algorithm(self, ident: str) -> None:
        self.request("DELETE", self._path(f"/algorithms/{_seg(ident)}"))

    # --------------------------------------------------------- training jobs
    def _job(self, job_id: str, rest: str = "") -> str:
        return self._path(f"/training-jobs/{_seg(job_id)}{rest}")

    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", self._path("/training-jobs"), json=body)
        return result

    def search_jobs(self, offset: int = 0, limit: int = PAGE, sort_by: str = "create_time",
                    order: str = "desc", filters: list[dict[str, Any]] | None = None
                    ) -> dict[str, Any]:
        body = {"offset": offset, "limit": limit, "sort_by": sort_by, "order": order,
                "filters": filters or []}
        result: dict[str, Any] = self.request("POST", self._path("/training-job-searches"),
                                              json=body)
        return result

    def get_job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", self._job(job_id))
        return result

    def update_job(self, job_id: str, description: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("PUT", self._job(job_id),
                                              json={"description": description})
        return result

    def stop_job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", self._job(job_id, "/actions"),
                                              json={"action_type": "terminate"})
        return result

    def delete_job(self, job_id: str) -> None:
        self.request("DELETE", self._job(job_id))

    def job_events(self, job_id: str, offset: int = 0, limit: int = 1000,
                   level: str | None = None, source: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if level:
            params["level"] = level
        if source:
            params["source"] = source
        result: dict[str, Any] = self.request("GET", self._job(job_id, "/events"),
                                              params=params)
        return result

    def log_preview(self, job_id: str, task: str = "worker-0") -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", self._job(job_id, f"/tasks/{_seg(task)}/logs/preview"))
        return result

    def stream_log(self, job_id: str, task: str = "worker-0", follow: bool = False,
                   offset: int = 0) -> Iterator[str]:
        """The log from byte ``offset``; with ``follow``, until the job reaches a final
        phase (the server closes the stream then)."""
        path = self._job(job_id, f"/tasks/{_seg(task)}/logs/stream")
        params = {"follow": "true" if follow else "false", "offset": offset}
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            with self._http.stream("GET", path, params=params,
                                   timeout=httpx.Timeout(60.0, read=None)) as response:
                if response.is_error:
                    response.read()
                    _raise_for(response)
                for chunk in response.iter_bytes():
                    text = decoder.decode(chunk)
                    if text:
                        yield text
        except httpx.HTTPError as exc:
            raise ApiError(0, "ModelYard.Unreachable",
                           f"log stream from {self.url} broke off: {exc}") from None
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    # ------------------------------------------------------------------ meta
    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/health")
        return result

    def flavors(self) -> list[dict[str, Any]]:
        result = self.request("GET", self._path("/training-job-flavors"))
        return list(result["flavors"])

    def engines(self) -> list[dict[str, Any]]:
        result = self.request("GET", self._path("/training-job-engines"))
        return list(result["items"])


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    raise ApiError(response.status_code,
                   str(body.get("error_code") or f"HTTP.{response.status_code}"),
                   str(body.get("error_msg") or response.text or response.reason_phrase),
                   body.get("field"), body.get("rule"))


class HttpBackend:
    """The CLI's Backend over HTTP: same methods, same return shapes as EmbeddedBackend."""

    def __init__(self, url: str | None = None, *, client: ModelYardClient | None = None,
                 **kwargs: Any) -> None:
        self.client = client or ModelYardClient(url, **kwargs)

    def create_algorithm(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        record = dict(self.client.create_algorithm(data))
        warnings = list(record.pop("warnings", None) or [])
        return record, warnings

    def list_algorithms(self) -> list[dict[str, Any]]:
        return list(every_item(
            lambda offset: self.client.list_algorithms(offset=offset, limit=1000)))

    def get_algorithm(self, ident: str) -> dict[str, Any]:
        return self.client.get_algorithm(ident)

    def delete_algorithm(self, ident: str) -> None:
        self.client.delete_algorithm(ident)

    def create_job(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.client.create_job(data)

    def list_jobs(self, phase: str | None = None) -> list[dict[str, Any]]:
        filters = [{"key": "phase", "operator": "in", "value": [phase]}] if phase else []
        return list(every_item(
            lambda offset: self.client.search_jobs(offset=offset, limit=PAGE, filters=filters)))

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self.client.get_job(job_id)

    def stop_job(self, job_id: str) -> dict[str, Any]:
        return self.client.stop_job(job_id)

    def delete_job(self, job_id: str) -> None:
        self.client.delete_job(job_id)

    def job_events(self, job_id: str) -> list[dict[str, Any]]:
        return list(every_item(
            lambda offset: self.client.job_events(job_id, offset=offset, limit=1000), "events"))

    def follow_log(self, job_id: str, follow: bool, task: str = "worker-0"
                   ) -> Iterator[str]:
        return self.client.stream_log(job_id, task=task, follow=follow)

    def list_flavors(self) -> list[dict[str, Any]]:
        return self.client.flavors()
