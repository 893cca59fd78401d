"""``modelyard server``: the control plane over HTTP (FastAPI + uvicorn).

Without API keys it is a single-user local server: it binds to loopback only, accepts
unsigned requests from this machine's user only (see api/security.py), and refuses any other
address, because anyone who can reach it could run code as this user. With keys
(MODELYARD_API_KEYS, MODELYARD_API_KEYS_FILE, or users' keys made by ``modelyard admin``)
every request must be signed (or carry a console session token) and any address may be used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from modelyard.cli.errors import UserFacingError

if TYPE_CHECKING:
    from modelyard.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # here and below: 'modelyard --help' lists this command too

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: str | None = typer.Option(None, "--host", help="Address (default 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="Port (default 8000)"),
    db: str | None = typer.Option(
        None, "--db", help="Database URL, e.g. postgresql+psycopg://user:pw@host/db "
        "(default: SQLite in MODELYARD_HOME)"),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=64, help="Processes serving the API, each on its own "
        "SO_REUSEPORT socket (default 1; MODELYARD_WORKERS)"),
    worker: int = typer.Option(0, "--worker", hidden=True, help="Internal: worker index"),
    parent: int = typer.Option(0, "--parent", hidden=True, help="Internal: worker 0's pid"),
) -> None:
    """Serve the REST API (ModelArts v2 shape) and run jobs."""
    import gc
    import logging

    import uvicorn

    from modelyard.api import create_app
    from modelyard.cli import workers as pool
    from modelyard.service.app import Service
    from modelyard.service.watcher import Watcher
    from modelyard.settings import Settings

    if worker:
        pool.end_with_parent(parent)
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if db is not None:
        overrides["db_url"] = db
    if workers is not None:
        overrides["workers"] = workers
    settings = Settings(**overrides)  # type: ignore[arg-type]
    try:
        settings.api_key_map()
    except (OSError, ValueError) as exc:
        raise UserFacingError(f"API keys: {exc}") from None
    service = Service(settings)
    keyed = service.identity.has_keys()  # bootstrap keys or users' keys (modelyard admin)
    if not keyed and not is_loopback(settings.host):
        service.close()
        raise UserFacingError(
            f"--host: {settings.host!r} is not allowed: without API keys the server serves "
            "loopback only; set MODELYARD_API_KEYS=AK:SK (or MODELYARD_API_KEYS_FILE, or "
            "create a user's key with 'modelyard admin key create') to listen on other "
            "addresses")
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings, service)
    app.state.worker = worker
    where = f"http://{settings.host}:{settings.port}"
    if worker == 0:
        if keyed:
            typer.echo(f"ModelYard server on {where} (API keys; requests must be signed with "
                       "SDK-HMAC-SHA256 or carry a console session token)")
        else:
            typer.echo(f"ModelYard server on {where}: no API keys configured, single-user "
                       "local mode (loopback only, unsigned requests accepted)")
        typer.echo(f"API docs: {where}/docs · home: {settings.home} · "
                   f"database: {_safe_url(settings.database_url)}"
                   + (f" · {settings.workers} workers" if settings.workers > 1 else ""))
    sock = children = None
    watcher = Watcher(service, settings.watch_interval)
    try:
        if settings.workers > 1:
            try:
                sock = pool.reuseport_socket(settings.host, settings.port)
            except OSError as exc:
                raise UserFacingError(f"--port: {settings.port} cannot be bound on "
                                      f"{settings.host}: {exc}") from None
            if worker == 0:
                children = pool.start_workers(settings)
        if worker == 0:
            watcher.start()
        else:  # worker 0's watcher keeps the table current: reads only read it
            service.jobs.watched = True
        # Everything made so far lives as long as the server: keep it out of the collector's
        # generations, whose full passes over it were 65-200 ms pauses (issue 20: list p99).
        gc.collect()
        gc.freeze()
        if sock is None:
            uvicorn.run(app, **uvicorn_options(settings))
        else:
            options = uvicorn_options(settings)
            uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
    finally:
        if children:
            pool.stop_workers(children)
        watcher.stop()
        service.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The fast defaults (issue 20): httptools' parser and uvloop's event loop ("auto" takes
    them, and the server extra installs them), no access log unless MODELYARD_ACCESS_LOG."""
    return {"host": settings.host, "port": settings.port, "log_level": "info",
            "access_log": settings.access_log, "http": "auto", "loop": "auto",
            "timeout_graceful_shutdown": 5}


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]
