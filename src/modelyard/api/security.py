"""Signature check for every request when API keys are configured.

A pure ASGI middleware rather than a dependency: it must see the exact body bytes (they are
part of the signature) before FastAPI parses anything, so a bad signature is a 401 even when
the body is also malformed, and the body is then replayed unchanged to the app.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from modelyard.auth import AuthError, verify_request

log = logging.getLogger("modelyard.api.auth")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Reachable without a signature: liveness, the API's documentation and the console's static
# files (they hold no data; the console's own API calls are signed like any other).
PUBLIC_PATHS = frozenset({"/", "/health", "/docs", "/docs/oauth2-redirect", "/redoc",
                          "/openapi.json", "/console"})
PUBLIC_PREFIXES = ("/console/",)


def _headers(scope: Scope) -> dict[str, str]:
    """Lower-case names → values as the sender meant them: the official signer hashes the
    unicode value and sends its UTF-8 bytes, so decode UTF-8 here (latin-1 as a fallback)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        try:
            value = raw_value.decode("utf-8")
        except UnicodeDecodeError:
            value = raw_value.decode("latin-1")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


class SignatureMiddleware:
    def __init__(self, app: ASGIApp, keys: Mapping[str, str], max_skew: float) -> None:
        self.app = app
        self.keys = dict(keys)
        self.max_skew = max_skew

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] != "http" or not self.keys or path in PUBLIC_PATHS
                or path.startswith(PUBLIC_PREFIXES)):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = _headers(scope)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        try:
            verify_request(self.keys, scope["method"], raw_path.decode("latin-1"),
                           scope.get("query_string", b"").decode("latin-1"), headers, body,
                           max_skew=self.max_skew)
        except AuthError as exc:
            client = scope.get("client") or ("?", 0)
            # The access key is an identifier, never a secret; the secret is never logged.
            log.warning("401 %s %s from %s: %s (access key %s)", scope["method"], scope["path"],
                        client[0], exc.message, exc.access_key or "-")
            await _send_json(send, 401, {"error_code": "ModelYard.Unauthorized",
                                         "error_msg": exc.message})
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
