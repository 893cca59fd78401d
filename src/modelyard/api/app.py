"""The app factory: one FastAPI app over one Service, routers from the registry."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from modelyard.api import errors
from modelyard.api.dependencies import BODY_MODELS
from modelyard.api.routers import ROUTERS
from modelyard.api.security import SecurityMiddleware
from modelyard.service.app import Service
from modelyard.settings import Settings

DESCRIPTION = """\
ModelYard's training API in the shape of the ModelArts v2 training API: the same paths and
JSON field names, so ModelArts clients (including the official `huaweicloudsdkmodelarts`)
work against it. Errors are `{error_code, error_msg}` plus the `field` at fault.

When the server has API keys, every request except `/health` and these docs must be signed
with `SDK-HMAC-SHA256` (the official SDK's scheme) or carry a console session token
(`X-Auth-Token`), and the caller needs a role in the path's project; without keys it serves
this machine's own user only (loopback Host, no foreign Origin, JSON bodies).
"""


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    settings = settings or (service.settings if service else Settings())
    service = service or Service(settings)
    app = FastAPI(title="ModelYard", version=_version(), description=DESCRIPTION,
                  docs_url="/docs", redoc_url=None)
    app.state.service = service
    app.state.settings = settings
    errors.install(app)
    for name in ROUTERS:
        app.include_router(importlib.import_module(name).router)
    app.add_middleware(SecurityMiddleware, identity=service.identity, settings=settings)

    def openapi() -> dict[str, Any]:
        """FastAPI's document plus the spec models that document the raw JSON bodies."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for path in schema.get("paths", {}).values():
                for operation in path.values():  # bad input is a 400 here, never a 422
                    operation.get("responses", {}).pop("422", None)
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            for name, model in BODY_MODELS.items():
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for def_name, definition in body.pop("$defs", {}).items():
                    components.setdefault(def_name, definition)
                components.setdefault(name, body)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _version() -> str:
    from modelyard.api.routers.meta import _version as v

    return v()
