"""The web console: static files (plain ES modules, no build step) at ``/`` and
``/console/...``. The console talks to the server only through the public REST API."""

from __future__ import annotations

import mimetypes
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from modelyard.api.errors import error_response

router = APIRouter(include_in_schema=False)

STATIC = Path(str(files("modelyard") / "console" / "static"))
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
         ".json": "application/json", ".html": "text/html", ".svg": "image/svg+xml",
         ".png": "image/png", ".ico": "image/x-icon"}
# The browser revalidates every file (cheap: ETag + 304), so an upgraded server never
# serves a page mixed from two versions.
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# Only the console's own files run, load and connect (no inline script, no other origin), and
# no other site may frame the console (clickjacking). Styles set from script (element.style)
# are CSSOM and stay allowed.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS.update({"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer"})


def _index() -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers=HEADERS)


@router.api_route("/", methods=["GET", "HEAD"])
def root() -> Response:
    return _index()


@router.api_route("/console", methods=["GET", "HEAD"])
def console_no_slash() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.api_route("/console/", methods=["GET", "HEAD"])
def console_index() -> Response:
    return _index()


@router.api_route("/console/{path:path}", methods=["GET", "HEAD"])
def console_file(path: str) -> Response:
    """A static file of the console; never anything outside the static folder."""
    root = STATIC.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return error_response(404, "ModelYard.NotFound", f"no such console file: {path}")
    media = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
    if media and (media.startswith("text/") or media == "application/json"):
        media += "; charset=utf-8"
    return FileResponse(target, media_type=media or "application/octet-stream",
                        headers=HEADERS)
