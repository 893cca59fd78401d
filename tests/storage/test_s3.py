"""What only the S3 backend has: endpoint routing, error mapping, credential hygiene,
pagination, folder markers and hostile keys. Against a real SeaweedFS."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import parse_location
from modelyard.storage.base import StorageError, TransferError
from modelyard.storage.local import FolderStore
from modelyard.storage.registry import store_for
from modelyard.storage.s3 import S3Store
from modelyard.storage.s3_boto import BotoS3Store
from modelyard.storage.s3_lean import LeanS3Store
from modelyard.storage.seaweed import SeaweedServer, free_ports
from modelyard.storage.transfer import TransferEngine

pytestmark = pytest.mark.slow


def test_obs_goes_to_the_endpoint_only_when_configured(settings: Settings,
                                                       s3_settings: Settings) -> None:
    obs, s3 = parse_location("obs://bucket/x"), parse_location("s3://bucket/x")
    assert isinstance(store_for(obs, settings.model_copy(update={"obs_backend": "local"})),
                      FolderStore)
    assert isinstance(store_for(s3, s3_settings), S3Store)
    store = store_for(obs, s3_settings)
    assert isinstance(store, S3Store) and store.scheme == "obs"


def _secrets(seaweed: SeaweedServer) -> list[str]:
    return [seaweed.access_key, seaweed.secret_key]


def test_wrong_secret_is_a_clear_error_without_credentials(
        s3_settings: Settings, s3_bucket: str, seaweed: SeaweedServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "WrongSecret-" + seaweed.secret_key[::-1]
    monkeypatch.setenv("MODELYARD_S3_SECRET_KEY", wrong)
    settings = Settings(home=s3_settings.home, obs_backend="s3")
    caplog.set_level(logging.DEBUG, logger="modelyard")
    url = f"s3://{s3_bucket}/private/"
    with pytest.raises(StorageError) as err:
        TransferEngine(settings, attempts=2).download(url, tmp_path / "d")
    text = str(err.value)
    assert "access denied" in text and url in text and not err.value.transient
    for secret in [*_secrets(seaweed), wrong]:
        assert secret not in text and secret not in repr(err.value)
        assert secret not in caplog.text
    store = store_for(parse_location(url), settings)
    for secret in [*_secrets(seaweed), wrong]:
        assert secret not in repr(store) and secret not in repr(settings.s3)


def test_a_missing_bucket_names_the_location(s3_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(StorageError) as err:
        TransferEngine(s3_settings).download("obs://no-such-bucket-here/data/", tmp_path)
    assert "no-such-bucket-here" in str(err.value) and "does not exist" in str(err.value)
    assert not err.value.transient


def test_an_unreachable_endpoint_is_transient_and_names_the_location(
        home: Path, seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_ports(1)[0]
    monkeypatch.setenv("MODELYARD_S3_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MODELYARD_S3_ACCESS_KEY", seaweed.access_key)
    monkeypatch.setenv("MODELYARD_S3_SECRET_KEY", seaweed.secret_key)
    settings = Settings(home=home, obs_backend="s3")
    caplog.set_level(logging.DEBUG, logger="modelyard")
    engine = TransferEngine(settings, attempts=3, backoff=(0.01, 0.02))
    with pytest.raises(TransferError) as err:
        engine.upload(tmp_path, "obs://somebucket/out/")
    text = str(err.value)
    assert err.value.transient and "obs://somebucket/" in text and f"127.0.0.1:{port}" in text
    assert "retry 1/2" in caplog.text
    for secret in _secrets(seaweed):
        assert secret not in text and secret not in caplog.text


def test_thousand_and_one_files(s3_settings: Settings, s3_bucket: str, s3_prefix: str,
                                tmp_path: Path) -> None:
    """More than one listing page; and seed S2.3's real limit (1000 entries)."""
    src = tmp_path / "code"
    src.mkdir()
    for i in range(1001):
        (src / f"m{i:04d}.py").write_text(f"x = {i}\n")
    url = f"obs://{s3_bucket}/{s3_prefix}"
    engine = TransferEngine(s3_settings)
    assert engine.upload(src, url).files == 1001
    assert len(engine.list(url)) == 1001
    with pytest.raises(SpecError) as err:
        engine.check_code_dir_limits(url)
    assert err.value.field == "code_dir" and "1000 files and folders" in err.value.rule
    report = engine.download(url, tmp_path / "back")
    assert report.files == 1001 and len(list((tmp_path / "back").iterdir())) == 1001
    assert engine.upload(src, url).skipped == 1001


def test_folder_markers(s3_settings: Settings, s3_bucket: str, s3_prefix: str,
                        seaweed: SeaweedServer, tmp_path: Path) -> None:
    """Consoles create empty 'folder/' objects: they become folders, and count as one."""
    client = seaweed.client()
    client.put_object(Bucket=s3_bucket, Key=f"{s3_prefix}code/empty/", Body=b"")
    client.put_object(Bucket=s3_bucket, Key=f"{s3_prefix}code/a/train.py", Body=b"print(1)")
    engine = TransferEngine(s3_settings)
    url = f"s3://{s3_bucket}/{s3_prefix}code"
    engine.download(url + "/", tmp_path / "code")
    assert (tmp_path / "code" / "empty").is_dir()
    assert (tmp_path / "code" / "a" / "train.py").read_text() == "print(1)"
    assert engine.check_code_dir_limits(url) == []


@pytest.mark.parametrize("client", [LeanS3Store, BotoS3Store])
def test_refusals_on_single_requests(s3_settings: Settings, s3_bucket: str,
                                     seaweed: SeaweedServer, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     client: type[S3Store]) -> None:
    """Both clients map the store's answers alike, and keep the keys out of messages."""
    src = tmp_path / "f"
    src.write_bytes(b"data")
    good = client(s3_settings.s3)
    with pytest.raises(FileNotFoundError):
        good.get(s3_bucket, "no/such/key", tmp_path / "x", size=4)
    with pytest.raises(StorageError, match="does not exist"):
        list(good.list("no-such-bucket-listed", ""))
    wrong = "Wrong-" + seaweed.secret_key
    monkeypatch.setenv("MODELYARD_S3_SECRET_KEY", wrong)
    bad = client(Settings(home=s3_settings.home).s3)
    for call in (lambda: bad.put(src, s3_bucket, "k"), lambda: list(bad.list(s3_bucket, "")),
                 lambda: bad.stat(s3_bucket, "k")):
        with pytest.raises(StorageError) as err:
            call()
        assert "access denied" in str(err.value) and not err.value.transient
        for secret in (seaweed.access_key, seaweed.secret_key, wrong):
            assert secret not in str(err.value)


def test_small_transfers_do_not_need_boto3(s3_settings: Settings, s3_bucket: str,
                                           s3_prefix: str, tmp_path: Path) -> None:
    """Importing boto3 costs about a second of CPU per process: the common path of a
    self-hosted endpoint never pays it."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    script = (
        "import sys; from pathlib import Path\n"
        "from modelyard.settings import Settings\n"
        "from modelyard.storage.transfer import TransferEngine\n"
        "e = TransferEngine(Settings())\n"
        f"url = 's3://{s3_bucket}/{s3_prefix}'\n"
        f"e.upload(Path({str(tmp_path / 'src')!r}), url)\n"
        f"e.download(url, Path({str(tmp_path / 'dst')!r}))\n"
        "e.check_code_dir_limits(url)\n"
        "print(sorted(m for m in ('boto3', 'botocore', 's3transfer') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env=dict(os.environ, MODELYARD_HOME=str(s3_settings.home)))
    assert out.stdout.strip() == "[]", out.stderr
    assert (tmp_path / "dst" / "a.txt").read_text() == "a"


class _ChangesBetweenReads:
    """A file whose bytes change (same size) after the first full read: what the store
    receives no longer matches the Content-MD5 computed from the first read."""

    def __init__(self, size: int) -> None:
        self.size, self.reads, self.pos = size, 0, 0

    def seek(self, pos: int) -> None:
        if pos == 0 and self.pos:
            self.reads += 1
        self.pos = pos

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n < 0 else min(n, self.size - self.pos)
        self.pos += n
        return (b"a" if self.reads == 0 else b"b") * n


@pytest.mark.parametrize("size", [1000, 3 * 1024 * 1024])
def test_the_store_refuses_a_body_that_does_not_match_its_md5(
        s3_settings: Settings, s3_bucket: str, s3_prefix: str,
        monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """The payload is sent unsigned; the signed Content-MD5 is what keeps corruption out.
    (Bodies above SMALL_BODY are read twice: hash, then send; made small here.)"""
    from modelyard.storage import sigv4

    monkeypatch.setattr(sigv4, "SMALL_BODY", 1024 * 1024)
    store = store_for(parse_location(f"s3://{s3_bucket}/"), s3_settings)
    assert isinstance(store, LeanS3Store)
    key = f"{s3_prefix}changed.bin"
    body = _ChangesBetweenReads(size)
    if size <= sigv4.SMALL_BODY:  # read once: what was hashed is what is sent
        assert store.client.put_file(s3_bucket, key, body, size)  # type: ignore[arg-type]
        assert store.stat(s3_bucket, key) is not None
        return
    with pytest.raises(sigv4.S3Failure) as err:
        store.client.put_file(s3_bucket, key, body, size)  # type: ignore[arg-type]
    assert err.value.status == 400 and "Digest" in err.value.code
    assert store.stat(s3_bucket, key) is None
