"""The gate every request passes before FastAPI parses anything: body limits, who is calling,
and (without keys) that the caller is this machine's own user and not a web page.

A pure ASGI middleware rather than a dependency: it must see the exact body bytes (they are
part of the signature) before FastAPI parses anything, so a bad signature is a 401 even when
the body is also malformed, and the body is then replayed unchanged to the app.

In order, for every request outside the public paths:

1. ``Content-Length`` over the limit is a 413 before a byte is read; a body without a length
   is counted while it is read and cut off at the limit (413). Memory stays bounded by the
   limit, whoever sends what.
2. With keys (``MODELYARD_API_KEYS`` or any user key), the caller proves who it is:
   ``X-Auth-Token`` (a console session) or an ``SDK-HMAC-SHA256`` signature. Everything about
   a signature except the body hash (key, date, signed ``Host``) is checked before the body
   is read; the signature is then checked over the SHA-256 of the bytes actually received;
   and a state-changing request whose signature was already seen within the date window is
   refused as a replay.
3. Without keys (single-user local mode): only loopback ``Host`` names (DNS rebinding), no
   foreign ``Origin`` or cross-site ``Sec-Fetch-Site`` (CSRF), and state-changing requests
   must be ``application/json`` (an ``application/octet-stream`` upload), which a web page
   cannot send cross-origin without a CORS preflight that this server never grants.

The caller is left in ``scope["state"]["caller"]`` for the routers' project checks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from modelyard.auth import (
    CONTENT_HASH_HEADER,
    UNSIGNED_PAYLOAD,
    AuthError,
    check_envelope,
    verify_signature,
)
from modelyard.service.identity import LOCAL, TOKEN_HEADER, Caller, IdentityService
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.limits import check_json_depth

log = logging.getLogger("modelyard.api.auth")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Reachable without a signature: liveness, the API's documentation and the console's static
# files (they hold no data; the console's own API calls are authenticated like any other).
PUBLIC_PATHS = frozenset({"/", "/health", "/docs", "/docs/oauth2-redirect", "/redoc",
                          "/openapi.json", "/console"})
PUBLIC_PREFIXES = ("/console/",)
# The one route whose body is streamed (an object upload): it alone may be UNSIGNED-PAYLOAD,
# as the official SDK signs non-JSON bodies, and it has its own, larger size limit.
UPLOAD_PATH = re.compile(r"^/v2/[^/]+/storage/object$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_POSTS = ("/training-job-searches",)


class Refused(Exception):
    """A request the gate turns away, with the status and the words the caller gets."""

    def __init__(self, status: int, code: str, message: str,
                 access_key: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.access_key = access_key


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


class ReplayCache:
    """Signatures seen within the date window: a captured state-changing request cannot be
    sent again while its date would still be accepted (and after that the date is stale).
    One server process holds it in memory; entries expire with the window."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._seen: dict[str, float] = {}
        self._next_prune = 0.0

    def first_use(self, signature: str) -> bool:
        now = time.monotonic()
        if now >= self._next_prune:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            self._next_prune = now + min(self.window, 60.0)
        if self._seen.get(signature, 0.0) > now:
            return False
        self._seen[signature] = now + 2 * self.window  # the date may be ahead or behind
        return True


def host_name(value: str) -> str:
    """'127.0.0.1:8000' → '127.0.0.1'; '[::1]:80' → '::1'; lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.rpartition(":")[0] if value.count(":") == 1 else value


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, identity: IdentityService, settings: Settings) -> None:
        self.app = app
        self.identity = identity
        self.settings = settings
        self.max_skew = settings.signature_max_skew
        self.replays = ReplayCache(settings.signature_max_skew)
        self.local_hosts = LOOPBACK_HOSTS | {h.lower() for h in settings.allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = _headers(scope)
        try:
            keyed = self.identity.has_keys()
            if not keyed:
                self._check_local(scope, headers)
            if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
                await self.app(scope, receive, send)
                return
            upload = scope["method"] == "POST" and bool(UPLOAD_PATH.match(path))
            limit = self.settings.max_upload_bytes if upload else self.settings.max_body_bytes
            _check_length(headers, limit)
            if keyed:
                caller, receive = await self._authenticate(scope, headers, receive, upload,
                                                           limit)
            elif upload:
                caller, receive = LOCAL, _limited(receive, limit)
            else:
                caller, receive = LOCAL, _replay(await _read_body(receive, limit), receive)
        except Refused as exc:
            client = scope.get("client") or ("?", 0)
            log.warning("%d %s %s from %s: %s (access key %s)", exc.status, scope["method"],
                        path, client[0], exc.message, exc.access_key or "-")
            await _send_json(send, exc.status, {"error_code": exc.code,
                                                "error_msg": exc.message})
            return
        scope.setdefault("state", {})["caller"] = caller
        try:
            await self.app(scope, receive, send)
        except Refused as exc:  # an upload grew past its limit while the app read it
            await _send_json(send, exc.status, {"error_code": exc.code,
                                                "error_msg": exc.message})

    # ------------------------------------------------------------- keyless mode
    def _check_local(self, scope: Scope, headers: dict[str, str]) -> None:
        """Single-user mode serves this machine's user only, never a web page they visit."""
        host = host_name(headers.get("host", ""))
        if host not in self.local_hosts:
            raise Refused(403, "ModelYard.Forbidden",
                          f"Host {host!r} is not allowed: a server without API keys answers "
                          "only to 127.0.0.1, localhost and [::1] (and MODELYARD_ALLOWED_HOSTS)")
        origin = headers.get("origin")
        if origin is not None and origin != "null":
            origin_host = host_name(urlsplit(origin).netloc)
            if origin_host not in self.local_hosts:
                raise Refused(403, "ModelYard.Forbidden",
                              f"Origin {origin!r} is not allowed: a server without API keys "
                              "takes no requests from other web sites")
        elif origin == "null":
            raise Refused(403, "ModelYard.Forbidden",
                          "Origin 'null' is not allowed: a server without API keys takes no "
                          "requests from sandboxed or file:// pages")
        if scope["method"] in SAFE_METHODS:
            return
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            raise Refused(403, "ModelYard.Forbidden",
                          f"Sec-Fetch-Site {site!r} is not allowed: a server without API keys "
                          "takes no state-changing requests from other sites")
        if _has_body(headers):
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            upload = scope["method"] == "POST" and UPLOAD_PATH.match(scope.get("path", ""))
            allowed = ("application/json", "application/octet-stream") if upload \
                else ("application/json",)
            if media not in allowed:
                raise Refused(415, "ModelYard.UnsupportedMediaType",
                              f"Content-Type {media or '(none)'!r} is not allowed: send "
                              f"{' or '.join(allowed)} (a web page cannot, without a CORS "
                              "preflight this server never grants)")

    # --------------------------------------------------------------- keyed mode
    async def _authenticate(self, scope: Scope, headers: dict[str, str], receive: Receive,
                            upload: bool, limit: int) -> tuple[Caller, Receive]:
        token = headers.get(TOKEN_HEADER.lower())
        if token and "authorization" not in headers:
            caller = self.identity.caller_for_token(token.strip())
            if caller is None:
                raise Refused(401, "ModelYard.Unauthorized",
                              f"{TOKEN_HEADER}: unknown or expired session token; sign in again")
            return caller, _limited(receive, limit)
        try:
            auth, secret = check_envelope(self.identity.secret_of, scope["method"], headers,
                                          max_skew=self.max_skew)
            raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            query = scope.get("query_string", b"").decode("latin-1")
            streamed = upload and headers.get(CONTENT_HASH_HEADER.lower()) == UNSIGNED_PAYLOAD
            if streamed:
                verify_signature(auth, secret, scope["method"], raw_path, query, headers, None,
                                 allow_unsigned_payload=True)
                body_receive = _limited(receive, limit)
            else:
                body = await _read_body(receive, limit)
                verify_signature(auth, secret, scope["method"], raw_path, query, headers,
                                 hashlib.sha256(body).hexdigest())
                body_receive = _replay(body, receive)
            if _changes_state(scope) and not self.replays.first_use(auth.signature):
                raise AuthError("this signed request was already used (a replay); sign each "
                                "request anew", auth.access_key)
        except AuthError as exc:
            # The access key is an identifier, never a secret; the secret is never logged.
            raise Refused(401, "ModelYard.Unauthorized", exc.message,
                          access_key=exc.access_key) from None
        return self.identity.caller_for_key(auth.access_key), body_receive


def _changes_state(scope: Scope) -> bool:
    """Whether a replay could do harm: not for GET/HEAD, nor the POST that only lists jobs
    (the official SDK may poll it twice within the one-second resolution of its date)."""
    return scope["method"] not in SAFE_METHODS and not scope.get("path", "").endswith(
        READ_ONLY_POSTS)


def _has_body(headers: dict[str, str]) -> bool:
    length = headers.get("content-length", "").strip()
    return bool(headers.get("transfer-encoding")) or (length not in ("", "0"))


def _check_length(headers: dict[str, str], limit: int) -> None:
    length = headers.get("content-length")
    if length is None:
        return
    try:
        size = int(length)
    except ValueError:
        raise Refused(400, "ModelYard.InvalidArgument",
                      f"Content-Length {length[:32]!r} is not a number") from None
    if size > limit:
        raise Refused(413, "ModelYard.PayloadTooLarge",
                      f"body: {size} bytes is not allowed: at most {limit} bytes "
                      "(MODELYARD_MAX_BODY_BYTES / MODELYARD_MAX_UPLOAD_BYTES)")


def _too_large(limit: int) -> Refused:
    return Refused(413, "ModelYard.PayloadTooLarge",
                   f"body: more than {limit} bytes is not allowed (MODELYARD_MAX_BODY_BYTES / "
                   "MODELYARD_MAX_UPLOAD_BYTES)")


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "ModelYard.InvalidArgument", "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            body = b"".join(chunks)
            try:  # before any parser recurses into it, whichever route parses it
                check_json_depth(body)
            except SpecError as exc:
                raise Refused(400, "ModelYard.InvalidArgument", exc.message) from None
            return body


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that counts the body and stops it at ``limit`` bytes."""
    size = 0

    async def limited() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise _too_large(limit)
        return message

    return limited


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
