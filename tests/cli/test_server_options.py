"""``modelyard server``'s uvicorn defaults are the fast ones (issue 20)."""

from __future__ import annotations

import importlib.util

from modelyard.cli.server import uvicorn_options
from modelyard.settings import Settings


def test_access_log_is_off_by_default_and_a_setting_turns_it_on() -> None:
    assert uvicorn_options(Settings())["access_log"] is False
    assert uvicorn_options(Settings(access_log=True))["access_log"] is True


def test_httptools_and_uvloop_are_installed_so_auto_takes_them() -> None:
    """uvicorn's "auto" falls back to h11 and asyncio silently when these are missing; the
    server extra installs them."""
    options = uvicorn_options(Settings(host="127.0.0.1", port=9123))
    assert (options["http"], options["loop"]) == ("auto", "auto")
    assert (options["host"], options["port"]) == ("127.0.0.1", 9123)
    assert importlib.util.find_spec("httptools") is not None
    assert importlib.util.find_spec("uvloop") is not None
