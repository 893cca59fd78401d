"""Which backend the CLI talks to: a server when MODELYARD_URL is set, else embedded.

Settings, backends and rich are imported when first asked for, not here: every command
imports this module, and ``storage cp`` needs neither the service (SQLAlchemy...) nor, for
``--help``, the settings (pydantic-settings), nor, for ``--json``, rich.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from modelyard.cli.backend import Backend
    from modelyard.settings import Settings


@cache
def console() -> Console:
    """Where commands print. Made on first use: importing rich costs a command ~0.07 s on
    a two-core machine, and some commands never print through it (``storage cp --json``,
    or ``storage cp`` into a pipe)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@cache
def err_console() -> Console:
    """Where errors and warnings go (standard error); made on first use, like ``console``."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@cache
def settings() -> Settings:
    from modelyard.settings import Settings

    return Settings()


@cache
def backend() -> Backend:
    s = settings()
    if s.url:
        from modelyard.client.http import HttpBackend  # the client layer (issue 4)

        return HttpBackend(s.url)
    from modelyard.cli.backend import EmbeddedBackend  # the service in this process

    return EmbeddedBackend()


def parse_pairs(items: list[str] | None, option: str) -> list[tuple[str, str]]:
    """``name=value`` options; a value may itself contain '='."""
    from modelyard.cli.errors import UserFacingError

    out = []
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UserFacingError(f"{option}: {item!r} is not allowed: use NAME=VALUE")
        out.append((name, value))
    return out


def short(record: dict[str, Any]) -> str:
    return str(record.get("metadata", {}).get("id", ""))
