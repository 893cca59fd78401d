"""A real `modelyard server` with the digits example in its object store, and headless
Debian chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.server import ARTIFACTS, ServerInfo, start_server, stop_server

CHROMIUM = Path(os.environ.get("MODELYARD_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ARTIFACTS / "screenshots"
DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is missing (pip install -e '.[test]')"
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return "scikit-learn is missing (the digits example needs the 'examples' extra)"
    return None


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    """One local (loopback, no keys) server for the console tests, seeded through the
    storage API with the digits code and data, exactly as a user would upload them."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("console-home")
    # Generous: on a busy 2-core CI machine the first start (migrations) can take a while.
    info = start_server(home, extra_env={"MODELYARD_STOP_GRACE_PERIOD": "2"}, timeout=120)
    try:
        data = Path(tempfile.mkdtemp(prefix="digits-data-"))
        subprocess.run([sys.executable, str(DIGITS / "prepare_data.py"), str(data)], check=True)
        uploads = [(p, f"obs://demo/digits/data/{p.name}") for p in sorted(data.glob("*.npz"))]
        uploads += [(p, f"obs://demo/digits/code/{p.relative_to(DIGITS / 'code')}")
                    for p in sorted((DIGITS / "code").rglob("*")) if p.is_file()
                    and "__pycache__" not in p.parts]
        with httpx.Client(base_url=info.url, timeout=30) as client:
            for path, url in uploads:
                r = client.post("/v2/default/storage/object", params={"url": url},
                                content=path.read_bytes(),
                                headers={"Content-Type": "application/octet-stream"})
                assert r.status_code == 201, r.text
        shutil.rmtree(data, ignore_errors=True)
        yield info
    finally:
        stop_server(info)
        ARTIFACTS.mkdir(exist_ok=True)
        if info.log and info.log.exists():
            shutil.copy(info.log, ARTIFACTS / "console-server.log")


@pytest.fixture(scope="session")
def api(console_server: ServerInfo) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console_server.url + "/v2/default", timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def browser(console_server: ServerInfo) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # launch() gives every run a fresh temporary profile (a fresh --user-data-dir).
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                               args=CHROMIUM_ARGS)
        yield b
        b.close()


class Console:
    """A page on the console plus what went wrong in it (uncaught errors, failed loads)."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                if m.type == "error" and "Failed to load resource" not in m.text else None)
        page.on("dialog", lambda d: d.accept())

    def open(self, hash_path: str = "#/") -> Any:
        self.page.goto(f"{self.base}/{hash_path}")
        self.page.wait_for_selector("#main:not(:has(.loading))", timeout=15000)
        return self.page

    def shot(self, name: str, full_page: bool = True) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def console(browser: Any, console_server: ServerInfo) -> Iterator[Console]:
    """A fresh browser context (fresh storage, English, 1280 px) per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                                  accept_downloads=True)
    context.set_default_timeout(15000)
    c = Console(context.new_page(), console_server.url)
    log_start = console_server.log.stat().st_size if console_server.log else 0
    yield c
    context.close()
    # pytest shows this only when the test failed: what the server said meanwhile.
    print("--- server log during this test (last 80 lines) ---")
    print("\n".join(console_server.log_text()[log_start:].splitlines()[-80:]))
    assert not c.errors, c.errors
