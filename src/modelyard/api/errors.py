"""Every error leaves the API as ``{error_code, error_msg}`` (the ModelArts shape) with the
right status, so clients, including the official SDK, read one shape and never a traceback.

Ours on top: ``field`` (and ``rule``) when the error is about one input field.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelyard.service.errors import ServiceError
from modelyard.spec.errors import SpecError

log = logging.getLogger("modelyard.api")

INVALID = "ModelYard.InvalidArgument"
INTERNAL = "ModelYard.InternalError"
UNAUTHORIZED = "ModelYard.Unauthorized"
FORBIDDEN = "ModelYard.Forbidden"


class ApiError(Exception):
    """An error raised by a router for a condition that is the API's own (not a rule)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error_code": code, "error_msg": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status)


def spec_error_response(exc: SpecError) -> JSONResponse:
    return error_response(400, INVALID, exc.message, field=exc.field, rule=exc.rule)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'filters', 0, 'key') -> 'filters[0].key'; ('query', 'limit') -> 'limit'."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def validation_error(exc: RequestValidationError) -> SpecError:
    """FastAPI's first complaint, said the way the spec layer says it."""
    errors = exc.errors()
    if not errors:
        return SpecError("body", None, "invalid request")
    err = errors[0]
    kind = err.get("type", "")
    value = err.get("input")
    msg = str(err.get("msg", "invalid"))
    if kind == "missing":
        msg, value = "this field is required", None
    elif kind == "json_invalid":
        msg = "the body is not valid JSON"
        value = None
    return SpecError(_field(tuple(err.get("loc", ()))), value, msg)


def install(app: FastAPI) -> None:
    @app.exception_handler(SpecError)
    async def _spec(_: Request, exc: SpecError) -> JSONResponse:
        return spec_error_response(exc)

    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return spec_error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"no such endpoint: {request.method} {request.url.path}"
            return error_response(404, "ModelYard.NotFound", message)
        if exc.status_code == 405:
            return error_response(405, "ModelYard.MethodNotAllowed",
                                  f"{request.method} is not allowed on {request.url.path}")
        return error_response(exc.status_code, f"ModelYard.Http{exc.status_code}",
                              str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return error_response(500, INTERNAL,
                              f"internal error ({type(exc).__name__}); see the server log")
