"""Faults (issue 3 item 6) with a real SeaweedFS that is killed and brought back mid-transfer:
the engine retries with backoff, the transfer completes and nothing is corrupt; if the
store never comes back, the engine gives up within its deadline, naming the location."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from modelyard.settings import Settings
from modelyard.storage.base import TransferError
from modelyard.storage.seaweed import SeaweedServer
from modelyard.storage.transfer import TransferEngine

pytestmark = pytest.mark.slow
MiB = 1024 * 1024


def _tree(root: Path, files: int = 150, big_mib: int = 24) -> dict[str, str]:
    """Many small files and one multipart-sized file; returns rel -> md5."""
    out = {}
    for i in range(files):
        path = root / f"part{i % 7}" / f"f{i:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(50_000 + 997 * i))
    with (root / "model.ckpt").open("wb") as fh:
        for _ in range(big_mib):
            fh.write(os.urandom(MiB))
    for path in root.rglob("*"):
        if path.is_file():
            out[path.relative_to(root).as_posix()] = hashlib.md5(path.read_bytes()).hexdigest()
    return out


def _md5s(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


@pytest.fixture(autouse=True)
def _small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("modelyard.storage.s3._RANGE_MIN", 4 * MiB)  # several ranges


def _patient(settings: Settings) -> TransferEngine:
    settings = settings.model_copy(update={"transfer_multipart_threshold": 5 * MiB,
                                           "transfer_multipart_chunksize": 5 * MiB})
    return TransferEngine(settings, attempts=200, retry_deadline=150, backoff=(0.2, 2.0))


def _with_restart(seaweed: SeaweedServer, transfer: Any) -> Any:
    """Runs ``transfer(progress)`` in a thread; kills the server once bytes flow, restarts
    it (same folder and ports) and returns the transfer's result."""
    flowing = threading.Event()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["report"] = transfer(lambda n: flowing.set())
        except BaseException as exc:
            result["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    assert flowing.wait(60), "the transfer never started"
    seaweed.stop()
    time.sleep(1.0)
    assert worker.is_alive(), "the transfer finished before the server was killed"
    seaweed.start(timeout=90)
    worker.join(240)
    assert not worker.is_alive()
    if "error" in result:
        raise result["error"]
    return result["report"]


def test_when_the_store_never_comes_back_the_engine_says_where(
        s3_settings: Settings, s3_bucket: str, s3_prefix: str, seaweed: SeaweedServer,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "outputs"
    out.mkdir()
    (out / "ckpt.pt").write_bytes(b"weights" * 1000)
    url = f"obs://{s3_bucket}/{s3_prefix}train_url/"
    engine = TransferEngine(s3_settings, attempts=1000, retry_deadline=3.0, backoff=(0.1, 0.5))
    caplog.set_level(logging.DEBUG, logger="modelyard")
    seaweed.stop()
    try:
        t0 = time.monotonic()
        with pytest.raises(TransferError) as err:
            engine.upload(out, url)
        assert time.monotonic() - t0 < 20
    finally:
        seaweed.start(timeout=90)
    text = str(err.value)
    assert err.value.transient and url in text and "cannot reach" in text
    assert seaweed.endpoint_url in text
    assert (out / "ckpt.pt").read_bytes() == b"weights" * 1000  # kept for a later upload
    for secret in (seaweed.access_key, seaweed.secret_key):
        assert secret not in text and secret not in caplog.text
    assert engine.upload(out, url).files == 1  # and it goes once the store is back


def test_an_upload_survives_a_restart_of_the_store(
        s3_settings: Settings, s3_bucket: str, s3_prefix: str, seaweed: SeaweedServer,
        tmp_path: Path) -> None:
    sums = _tree(tmp_path / "src")
    url = f"s3://{s3_bucket}/{s3_prefix}"
    engine = _patient(s3_settings)
    report = _with_restart(seaweed, lambda progress: engine.upload(tmp_path / "src", url,
                                                                   progress))
    assert report.retries > 0 and report.files + report.skipped == len(sums)
    TransferEngine(s3_settings).download(url, tmp_path / "back")
    assert _md5s(tmp_path / "back") == sums


def test_a_download_survives_a_restart_of_the_store(
        s3_settings: Settings, s3_bucket: str, s3_prefix: str, seaweed: SeaweedServer,
        tmp_path: Path) -> None:
    sums = _tree(tmp_path / "src")
    url = f"s3://{s3_bucket}/{s3_prefix}"
    engine = _patient(s3_settings)
    engine.upload(tmp_path / "src", url)
    report = _with_restart(seaweed, lambda progress: engine.download(url, tmp_path / "dst",
                                                                     progress))
    assert report.retries > 0 and report.files + report.skipped == len(sums)
    assert _md5s(tmp_path / "dst") == sums
