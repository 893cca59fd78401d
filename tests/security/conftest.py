"""Fixtures of the hostile-job suite: a real server (running as whoever runs the tests: root
on CI) with a key file worth stealing, and the real bubblewrap sandbox."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.server import ServerInfo, start_server, stop_server
from modelyard.client.http import ModelYardClient


@pytest.fixture
def sandboxed() -> None:
    """The suite plays against the sandbox jobs really run in (CI has bubblewrap)."""
    from modelyard.runtime import sandbox

    bwrap = sandbox.find_bwrap()
    reason = "bubblewrap is not installed" if bwrap is None else sandbox.probe(bwrap)
    if reason:
        pytest.skip(f"the hostile-job suite needs the bubblewrap sandbox: {reason}")


@dataclass
class Target:
    """A server as an attacker finds it."""

    info: ServerInfo
    client: ModelYardClient
    key_file: Path
    """The server's API key file: the secret the attacks are after."""
    key_text: str

    @property
    def home(self) -> Path:
        return self.info.home

    def put_code(self, name: str, files: dict[str, str]) -> str:
        """Code in the server's embedded object store (obs://code/<name>/)."""
        folder = self.home / "obs" / "code" / name
        folder.mkdir(parents=True, exist_ok=True)
        for rel, text in files.items():
            (folder / rel).write_text(text)
        return f"obs://code/{name}/"

    def stored(self, url: str) -> list[str]:
        """Relative paths of the objects under an obs:// prefix of the embedded store."""
        root = self.home / "obs" / url.removeprefix("obs://")
        if not root.exists():
            return []
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                      if p.is_file() or p.is_symlink())


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    home = tmp_path_factory.mktemp("victim-home")
    ak, sk = "HOSTILE" + secrets.token_hex(4).upper(), "SK-" + secrets.token_urlsafe(24)
    key_file = home / "api-keys.txt"
    key_text = f"{ak}:{sk}\n"
    key_file.write_text(key_text)
    key_file.chmod(0o600)
    info = start_server(home, extra_env={"MODELYARD_API_KEYS_FILE": str(key_file)})
    client = ModelYardClient(info.url, access_key=ak, secret_key=sk, project="attacker")
    try:
        yield Target(info, client, key_file, key_text)
    finally:
        client.close()
        stop_server(info)
