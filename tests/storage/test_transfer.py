"""The transfer engine on both backends (embedded obs:// folder store and S3 on SeaweedFS):
parallel, incremental, retries, consistency check, multipart, progress, copy, code-dir
limits."""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from modelyard.settings import Settings
from modelyard.spec import code_dir as code_dir_rule
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import parse_location
from modelyard.storage.base import (
    ObjectInfo,
    ObjectStore,
    Progress,
    StorageError,
    TransferError,
    TransientError,
)
from modelyard.storage.registry import store_for
from modelyard.storage.transfer import TransferEngine

from .wrappers import Flaky, Slow, Wrapper

MiB = 1024 * 1024


@dataclass
class Backend:
    name: str
    home: Path
    url: str
    """A fresh folder-like location (ends with '/')."""
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home, obs_backend="s3" if self.name == "s3" else "local",
                        **self.overrides)

    def engine(self, wrap: Callable[[ObjectStore], ObjectStore] | None = None,
               **kw: Any) -> TransferEngine:
        settings = self.settings
        factory = None
        if wrap is not None:
            def factory(loc: Any) -> ObjectStore:
                return wrap(store_for(loc, settings))
        return TransferEngine(settings, store_factory=factory, **kw)

    def store(self, engine: TransferEngine) -> Any:
        return engine.store(parse_location(self.url))


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, home: Path) -> Backend:
    if request.param == "local":
        return Backend("local", home, f"obs://bucket/run-{random.getrandbits(32):08x}/")
    request.getfixturevalue("s3_settings")
    bucket = request.getfixturevalue("s3_bucket")
    prefix = request.getfixturevalue("s3_prefix")
    return Backend("s3", home, f"obs://{bucket}/{prefix}")


def make_tree(root: Path, n: int = 40, seed: int = 1) -> dict[str, bytes]:
    rnd = random.Random(seed)
    files = {}
    for i in range(n):
        rel = f"d{i % 3}/sub{i % 5}/f{i}.bin" if i % 4 else f"top{i}.txt"
        data = rnd.randbytes(rnd.randint(0, 20_000)) if i else b""
        files[rel] = data
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    old = time.time() - 60  # settled
    for rel in files:
        os.utime(root / rel, (old, old))
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file()}


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_round_trip_with_progress(backend: Backend, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src")
    total = sum(map(len, files.values()))
    engine = backend.engine()
    up: list[int] = []
    report = engine.upload(tmp_path / "src", backend.url, up.append)
    assert (report.files, report.bytes, report.skipped, report.errors) == (
        len(files), total, 0, [])
    assert sum(up) == total
    down: list[int] = []
    report = engine.download(backend.url, tmp_path / "dst", down.append)
    assert (report.files, report.bytes) == (len(files), total)
    assert sum(down) == total
    assert read_tree(tmp_path / "dst") == files
    listed = engine.list(backend.url)
    assert len(listed) == len(files) and sum(i.size for i in listed) == total


def test_second_sync_moves_nothing(backend: Backend, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src")
    engine = backend.engine()
    engine.upload(tmp_path / "src", backend.url)
    again = engine.upload(tmp_path / "src", backend.url)
    assert (again.files, again.bytes, again.skipped) == (0, 0, len(files))
    engine.download(backend.url, tmp_path / "dst")
    again = engine.download(backend.url, tmp_path / "dst")
    assert (again.files, again.skipped) == (0, len(files))

    # Same size, new content: found by mtime (folder store) or etag (S3).
    changed = tmp_path / "src" / "d1/sub1/f1.bin"
    changed.write_bytes(bytes(b ^ 0xFF for b in changed.read_bytes()))
    report = engine.upload(tmp_path / "src", backend.url)
    assert (report.files, report.skipped) == (1, len(files) - 1)
    report = engine.download(backend.url, tmp_path / "dst")
    assert report.files == 1
    assert read_tree(tmp_path / "dst") == read_tree(tmp_path / "src")


def test_resync_without_the_etag_cache_compares_content(backend: Backend,
                                                         tmp_path: Path) -> None:
    """A new machine (no cache) still recognises unchanged files, by hashing them."""
    files = make_tree(tmp_path / "src", n=10)
    backend.engine().upload(tmp_path / "src", backend.url)
    for p in (backend.home / "cache").glob("*"):
        p.unlink()
    report = backend.engine().upload(tmp_path / "src", backend.url)
    assert (report.files, report.skipped) == (0, len(files))


def test_files_move_in_parallel(backend: Backend, tmp_path: Path) -> None:
    make_tree(tmp_path / "src", n=24)
    engine = backend.engine(wrap=Slow, workers=4)
    engine.upload(tmp_path / "src", backend.url)
    slow = backend.store(engine)
    assert 2 <= slow.peak <= 4


def test_transient_errors_are_retried(backend: Backend, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src", n=12)
    total = sum(map(len, files.values()))
    engine = backend.engine(wrap=lambda s: Flaky(s, failures=2,
                                                 which=lambda k: k.endswith("5.bin")),
                            backoff=(0.01, 0.05))
    progress: list[int] = []
    report = engine.upload(tmp_path / "src", backend.url, progress.append)
    assert report.files == len(files) and report.retries >= 2
    assert sum(progress) == total  # failed attempts were rolled back
    report = engine.download(backend.url, tmp_path / "dst", progress.append)
    assert report.retries >= 2
    assert read_tree(tmp_path / "dst") == files


def test_gives_up_naming_the_location(backend: Backend, tmp_path: Path) -> None:
    make_tree(tmp_path / "src", n=8)
    engine = backend.engine(
        wrap=lambda s: Flaky(s, failures=99, which=lambda k: k.endswith("/f5.bin")),
        attempts=3, backoff=(0.01, 0.02))
    with pytest.raises(TransferError) as err:
        engine.upload(tmp_path / "src", backend.url)
    text = str(err.value)
    assert backend.url in text and "f5.bin" in text and "gave up after 3 attempt" in text
    assert err.value.location == backend.url and err.value.transient
    assert err.value.report is not None


def test_retry_deadline_bounds_an_outage(backend: Backend, tmp_path: Path) -> None:
    make_tree(tmp_path / "src", n=4)
    engine = backend.engine(wrap=lambda s: Flaky(s, failures=10**6), attempts=10**6,
                            retry_deadline=0.5, backoff=(0.01, 0.1))
    t0 = time.monotonic()
    with pytest.raises(TransferError, match="gave up"):
        engine.upload(tmp_path / "src", backend.url)
    assert time.monotonic() - t0 < 5


class Interrupting(Wrapper):
    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        raise KeyboardInterrupt


@pytest.mark.parametrize("files", [1, 5])
def test_ctrl_c_stays_ctrl_c(backend: Backend, tmp_path: Path, files: int) -> None:
    """A single file is sent from the calling thread: Ctrl-C there must reach the caller as
    KeyboardInterrupt. Worker threads never get signals; whatever escapes one is a failure
    of the call, never a file silently left out."""
    make_tree(tmp_path / "src", n=files)
    engine = backend.engine(wrap=Interrupting)
    if files == 1:
        with pytest.raises(KeyboardInterrupt):
            engine.upload(tmp_path / "src", backend.url)
    else:
        with pytest.raises(TransferError, match="KeyboardInterrupt"):
            engine.upload(tmp_path / "src", backend.url)


class Refusing(Wrapper):
    calls = 0

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        Refusing.calls += 1
        raise StorageError(f"uploading to {self.url(bucket, key)}: access denied", key)


def test_permanent_errors_are_not_retried(backend: Backend, tmp_path: Path) -> None:
    make_tree(tmp_path / "src", n=1)
    Refusing.calls = 0
    with pytest.raises(TransferError, match="access denied"):
        backend.engine(wrap=Refusing).upload(tmp_path / "src", backend.url)
    assert Refusing.calls == 1


class ListingFails(Wrapper):
    """The listing (which an upload runs on its own thread, next to the local walk) fails
    ``failures`` times, transiently, or for good when ``refuse``."""

    def __init__(self, inner: ObjectStore, failures: int = 1, refuse: bool = False) -> None:
        super().__init__(inner)
        self.failures, self.refuse, self.calls = failures, refuse, 0

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        self.calls += 1
        if self.refuse:
            raise StorageError(f"listing {self.url(bucket, prefix)}: access denied", prefix)
        if self.calls <= self.failures:
            raise TransientError(f"injected listing failure {self.calls}", prefix)
        return self.inner.list(bucket, prefix)


def test_the_listing_beside_the_walk_is_retried(backend: Backend, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src", n=6)
    stores: list[ListingFails] = []
    engine = backend.engine(wrap=lambda s: stores.append(ListingFails(s, 2)) or stores[-1],
                            backoff=(0.01, 0.02))
    report = engine.upload(tmp_path / "src", backend.url)
    assert report.files == len(files) and report.retries == 2
    assert stores[0].calls == 4  # two failures, the listing, and the consistency check


def test_a_refused_listing_fails_the_upload_naming_it(backend: Backend,
                                                      tmp_path: Path) -> None:
    make_tree(tmp_path / "src", n=3)
    engine = backend.engine(wrap=lambda s: ListingFails(s, refuse=True))
    with pytest.raises(TransferError, match="access denied") as err:
        engine.upload(tmp_path / "src", backend.url)
    assert backend.url in str(err.value)
    assert backend.engine().list(backend.url) == []  # nothing sent without knowing what is there


class CountingBucketChecks(Wrapper):
    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.checks = 0

    def ensure_bucket(self, bucket: str) -> None:
        self.checks += 1
        self.inner.ensure_bucket(bucket)


def test_a_missing_bucket_is_created_and_a_listed_one_not_checked(backend: Backend,
                                                                   tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src", n=3)
    url = f"obs://new-{random.getrandbits(32):08x}/x/"
    stores: list[CountingBucketChecks] = []
    engine = backend.engine(wrap=lambda s: stores.append(CountingBucketChecks(s)) or stores[-1])
    assert engine.upload(tmp_path / "src", url).files == len(files)
    assert stores[0].checks == 1
    assert engine.upload(tmp_path / "src", url).skipped == len(files)
    assert stores[0].checks == 1  # the listing found the files: the bucket is there
    engine.download(url, tmp_path / "back")
    assert read_tree(tmp_path / "back") == files


class Truncating(Wrapper):
    """Stores one byte less than it was given, and says nothing."""

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        # Not next to ``src``: the engine hands stores a /proc/self/fd path (see nofollow).
        fd, name = tempfile.mkstemp(suffix=".short")
        os.close(fd)
        short = Path(name)
        short.write_bytes(src.read_bytes()[:-1])
        try:
            return self.inner.put(short, bucket, key, progress)
        finally:
            short.unlink()

    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None,
            *, size: int | None = None) -> None:
        self.inner.get(bucket, key, dest, progress, size=size)
        dest.write_bytes(dest.read_bytes()[:-1])


def test_consistency_check_catches_short_objects(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.pt").write_bytes(b"x" * 1000)
    with pytest.raises(TransferError, match="consistency check") as err:
        backend.engine(wrap=Truncating).upload(tmp_path / "src", backend.url)
    assert backend.url in str(err.value) and "999 bytes, expected 1000" in str(err.value)
    backend.engine().upload(tmp_path / "src", backend.url)
    with pytest.raises(TransferError, match="consistency check") as err:
        backend.engine(wrap=Truncating).download(backend.url, tmp_path / "dst")
    assert backend.url in str(err.value)


def test_large_file_multipart(backend: Backend, tmp_path: Path) -> None:
    backend.overrides.update(transfer_multipart_threshold=5 * MiB,
                             transfer_multipart_chunksize=5 * MiB)
    src = tmp_path / "src"
    src.mkdir()
    big = src / "big.bin"
    with big.open("wb") as fh:
        for _ in range(20):
            fh.write(os.urandom(MiB))
    fh.close()
    engine = backend.engine()
    progress: list[int] = []
    report = engine.upload(src, backend.url, progress.append)
    assert report.bytes == sum(progress) == 20 * MiB
    [info] = engine.list(backend.url)
    if backend.name == "s3":
        assert info.etag is not None and info.etag.endswith("-4")  # 4 parts of 5 MiB
    down: list[int] = []
    engine.download(backend.url, tmp_path / "dst", down.append)
    assert sum(down) == 20 * MiB
    assert md5(tmp_path / "dst" / "big.bin") == md5(big)
    assert engine.upload(src, backend.url).skipped == 1
    for p in (backend.home / "cache").glob("*"):
        p.unlink()
    assert backend.engine().upload(src, backend.url).skipped == 1  # multipart etag computed


def test_settle_seconds_leaves_fresh_files_for_the_next_round(backend: Backend,
                                                              tmp_path: Path) -> None:
    make_tree(tmp_path / "out", n=3)
    fresh = tmp_path / "out" / "ckpt.pt"
    fresh.write_bytes(b"being written")
    engine = backend.engine()
    report = engine.upload(tmp_path / "out", backend.url, settle_seconds=5)
    assert (report.files, report.deferred) == (3, 1)
    old = time.time() - 10
    os.utime(fresh, (old, old))
    report = engine.upload(tmp_path / "out", backend.url, settle_seconds=5)
    assert (report.files, report.skipped, report.deferred) == (1, 3, 0)


class Growing(Wrapper):
    """The job appends to the file while its first bytes are on the way (once)."""

    done = False

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        def grow(n: int) -> None:
            if not Growing.done and src.resolve().name == "log.txt":  # a /proc/self/fd path
                Growing.done = True
                with src.open("ab") as fh:
                    fh.write(b"more lines\n")
            if progress:
                progress(n)
        return self.inner.put(src, bucket, key, grow)


def test_a_file_changing_during_upload_goes_again(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    log = tmp_path / "out" / "log.txt"
    log.write_bytes(b"first line\n")
    os.utime(log, (time.time() - 10, time.time() - 10))
    Growing.done = False
    engine = backend.engine(wrap=Growing)
    report = engine.upload(tmp_path / "out", backend.url)
    assert (report.files, report.deferred) == (0, 1)
    report = engine.upload(tmp_path / "out", backend.url)
    assert report.files == 1
    engine.download(backend.url, tmp_path / "back")
    assert (tmp_path / "back" / "log.txt").read_bytes() == b"first line\nmore lines\n"


def test_download_of_nothing_is_empty(backend: Backend, tmp_path: Path) -> None:
    backend.engine().upload(_one(tmp_path), backend.url)  # the bucket exists
    report = backend.engine().download(backend.url + "nothing-here/", tmp_path / "dst")
    assert (report.files, report.skipped) == (0, 0)


def _one(tmp_path: Path, name: str = "one.txt", data: bytes = b"one") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_copy_in_every_direction(backend: Backend, tmp_path: Path) -> None:
    engine = backend.engine()
    url = backend.url
    src = _one(tmp_path, "a.txt", b"alpha")
    # local -> url: exact key, and into a "folder"
    assert engine.copy(str(src), url + "exact.txt").files == 1
    assert engine.copy(src, url + "into/").files == 1
    assert {i.key.rsplit("/", 1)[-1] for i in engine.list(url)} == {"exact.txt", "a.txt"}
    # url -> local: a file, and into a folder
    engine.copy(url + "exact.txt", str(tmp_path / "got.txt"))
    assert (tmp_path / "got.txt").read_bytes() == b"alpha"
    (tmp_path / "dir").mkdir()
    engine.copy(url + "into/a.txt", str(tmp_path / "dir"))
    assert (tmp_path / "dir" / "a.txt").read_bytes() == b"alpha"
    # url -> url inside one store, then recursively
    engine.copy(url + "exact.txt", url + "copied/again.txt")
    engine.copy(url + "into/", url + "tree/", recursive=True)
    keys = sorted(i.key[len(parse_location(url).key):] for i in engine.list(url))
    assert keys == ["copied/again.txt", "exact.txt", "into/a.txt", "tree/a.txt"]
    assert engine.copy(url + "into/", url + "tree/", recursive=True).skipped == 1
    # local tree -> url -> local tree
    files = make_tree(tmp_path / "t", n=6)
    engine.copy(str(tmp_path / "t"), url + "t2/", recursive=True)
    engine.copy(url + "t2/", str(tmp_path / "t3"), recursive=True)
    assert read_tree(tmp_path / "t3") == files
    # local -> local
    engine.copy(str(tmp_path / "t"), str(tmp_path / "t4"), recursive=True)
    assert read_tree(tmp_path / "t4") == files
    with pytest.raises(StorageError, match="recursively"):
        engine.copy(str(tmp_path / "t"), url + "x/")
    with pytest.raises(FileNotFoundError):
        engine.copy(url + "no-such-object", str(tmp_path / "n"))


def test_copy_between_stores(backend: Backend, tmp_path: Path) -> None:
    """obs:// (here the configured store) to file:// and back, through a temporary file."""
    engine = backend.engine()
    engine.upload(_one(tmp_path, "x.bin", b"between"), backend.url)
    target = f"file://{tmp_path}/exported/"
    assert engine.copy(backend.url, target, recursive=True).files == 1
    assert (tmp_path / "exported" / "x.bin").read_bytes() == b"between"
    assert engine.copy(target, backend.url + "back/", recursive=True).files == 1
    assert engine.copy(target, backend.url + "back/", recursive=True).skipped == 1


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_dir_rule, "CODE_DIR_MAX_ENTRIES", 10)
    monkeypatch.setattr(code_dir_rule, "CODE_DIR_MAX_BYTES", 10_000)
    monkeypatch.setattr(code_dir_rule, "CODE_DIR_MAX_DEPTH", 4)
    monkeypatch.setattr(code_dir_rule, "DATA_BULK_BYTES", 3000)
    monkeypatch.setattr(code_dir_rule, "LARGE_FILE_BYTES", 2500)


def _code(tmp_path: Path, files: dict[str, int]) -> Path:
    root = tmp_path / f"code{random.getrandbits(32)}"
    for rel, size in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x" * size)
    return root


@pytest.mark.usefixtures("small_limits")
def test_code_dir_limits_by_listing(backend: Backend, tmp_path: Path) -> None:
    engine = backend.engine()

    def check(files: dict[str, int]) -> list[str]:
        url = backend.url + f"code{random.getrandbits(32)}/"
        engine.upload(_code(tmp_path, files), url)
        return engine.check_code_dir_limits(url)

    assert check({"train.py": 100, "lib/util.py": 100}) == []
    # 7 files + 4 folders implied by the keys = 11 entries > 10
    with pytest.raises(SpecError) as err:
        check({f"a/b/c/d{i}.py": 1 for i in range(4)} | {"e/f.py": 1, "g.py": 1, "h.py": 1})
    assert err.value.field == "code_dir" and "1000" not in err.value.rule
    assert "10 files and folders" in err.value.rule and "S2.3" in err.value.rule
    with pytest.raises(SpecError, match="levels deep"):
        check({"a/b/c/d/e.py": 1})
    with pytest.raises(SpecError, match="5 GB"):
        check({"a.py": 6000, "b.py": 6000})
    warnings = check({"train.py": 10, "data/x.npy": 2000, "data/y.csv": 2000})
    assert len(warnings) == 1 and "data-like" in warnings[0] and "input" in warnings[0]
    warnings = check({"train.py": 10, "model.weird": 2600})
    assert len(warnings) == 1 and "model.weird" in warnings[0]


def test_code_dir_limit_counts_early(backend: Backend, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing stops at the first object past the limit: a huge prefix fails fast."""
    monkeypatch.setattr(code_dir_rule, "CODE_DIR_MAX_ENTRIES", 3)
    engine = backend.engine()
    engine.upload(_code(tmp_path, {f"f{i}.py": 1 for i in range(6)}), backend.url)
    seen: list[str] = []

    class Counting(Wrapper):
        def list(self, bucket: str, prefix: str):  # type: ignore[no-untyped-def]
            for info in self.inner.list(bucket, prefix):
                seen.append(info.key)
                yield info

    with pytest.raises(SpecError):
        backend.engine(wrap=Counting).check_code_dir_limits(backend.url)
    assert len(seen) == 4


class Hostile(Wrapper):
    """A listing with keys that are not safe relative paths (S3 allows any string)."""

    def list(self, bucket: str, prefix: str):  # type: ignore[no-untyped-def]
        yield from self.inner.list(bucket, prefix)
        for evil in ("../../escape.txt", "a//b.txt", "./dot.txt"):
            yield ObjectInfo(key=prefix + evil, size=4)


def test_keys_that_are_not_paths_are_refused(home: Path, tmp_path: Path) -> None:
    backend = Backend("local", home, "obs://bucket/hostile/")
    backend.engine().upload(_one(tmp_path, "ok.txt", b"fine"), backend.url)
    dest = tmp_path / "a" / "b" / "dest"
    with pytest.raises(TransferError, match="cannot be a local path") as err:
        backend.engine(wrap=Hostile).download(backend.url, dest)
    assert "3 object(s)" in str(err.value)
    assert (dest / "ok.txt").read_bytes() == b"fine"
    assert not [p for p in tmp_path.rglob("*") if p.name in ("escape.txt", "b.txt", "dot.txt")]
