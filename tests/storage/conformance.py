"""The object-store conformance suite: what every ObjectStore backend must do.

A backend's test module subclasses ``StoreConformance`` and provides two fixtures:
``store`` (the ObjectStore) and ``bucket`` (an existing, empty bucket; '' for file://, with
``prefix`` then pointing into a temporary folder). The engine relies on exactly these
behaviours, so a new backend that passes here works everywhere.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from modelyard.storage.base import ObjectStore
from modelyard.storage.local import PART_PREFIX


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


class StoreConformance:
    @pytest.fixture
    def prefix(self) -> str:
        """Where this test's keys live inside ``bucket`` (unique: buckets may be shared)."""
        return f"conf-{uuid.uuid4().hex[:12]}/"

    def test_put_stat_get_round_trip(self, store: ObjectStore, bucket: str, prefix: str,
                                     tmp_path: Path) -> None:
        data = os.urandom(300_000)
        src = _write(tmp_path / "src.bin", data)
        key = prefix + "a/b/c.bin"
        info = store.put(src, bucket, key)
        assert (info.key, info.size) == (key, len(data))
        st = store.stat(bucket, key)
        assert st is not None and (st.key, st.size) == (key, len(data))
        dest = tmp_path / "out" / "deep" / "c.bin"
        store.get(bucket, key, dest)
        assert dest.read_bytes() == data
        assert not [p for p in dest.parent.iterdir() if p.name.startswith(PART_PREFIX)]

    def test_missing_object(self, store: ObjectStore, bucket: str, prefix: str,
                            tmp_path: Path) -> None:
        assert store.stat(bucket, prefix + "nope") is None
        with pytest.raises(FileNotFoundError):
            store.get(bucket, prefix + "nope", tmp_path / "x")
        assert not (tmp_path / "x").exists()

    def test_list_is_recursive_and_prefix_based(self, store: ObjectStore, bucket: str,
                                                prefix: str, tmp_path: Path) -> None:
        src = _write(tmp_path / "f", b"12345")
        for rel in ("data/train.csv", "data/sub/x.npy", "data/tr/y", "dataset/z", "other"):
            store.put(src, bucket, prefix + rel)
        keys = lambda p: sorted(i.key[len(prefix):] for i in store.list(bucket, prefix + p))  # noqa: E731
        assert keys("data/") == ["data/sub/x.npy", "data/tr/y", "data/train.csv"]
        assert keys("data/tr") == ["data/tr/y", "data/train.csv"]
        assert keys("data") == ["data/sub/x.npy", "data/tr/y", "data/train.csv", "dataset/z"]
        assert keys("data/train.csv") == ["data/train.csv"]
        assert keys("missing/") == []
        assert all(i.size == 5 for i in store.list(bucket, prefix))

    def test_listing_and_stat_agree(self, store: ObjectStore, bucket: str, prefix: str,
                                    tmp_path: Path) -> None:
        src = _write(tmp_path / "f", b"hello")
        store.put(src, bucket, prefix + "k")
        [listed] = list(store.list(bucket, prefix + "k"))
        st = store.stat(bucket, prefix + "k")
        assert st is not None
        assert (listed.size, listed.etag) == (st.size, st.etag)
        assert listed.mtime is not None and st.mtime is not None

    def test_overwrite_replaces(self, store: ObjectStore, bucket: str, prefix: str,
                                tmp_path: Path) -> None:
        store.put(_write(tmp_path / "a", b"first version"), bucket, prefix + "k")
        store.put(_write(tmp_path / "b", b"v2"), bucket, prefix + "k")
        st = store.stat(bucket, prefix + "k")
        assert st is not None and st.size == 2
        store.get(bucket, prefix + "k", tmp_path / "out")
        assert (tmp_path / "out").read_bytes() == b"v2"

    def test_empty_file_and_odd_names(self, store: ObjectStore, bucket: str, prefix: str,
                                      tmp_path: Path) -> None:
        empty = _write(tmp_path / "empty", b"")
        key = prefix + "dir with space/naïve ü+%.txt"
        store.put(empty, bucket, key)
        st = store.stat(bucket, key)
        assert st is not None and st.size == 0
        assert [i.key for i in store.list(bucket, prefix + "dir with space/")] == [key]
        store.get(bucket, key, tmp_path / "got")
        assert (tmp_path / "got").read_bytes() == b""

    def test_delete_is_idempotent(self, store: ObjectStore, bucket: str, prefix: str,
                                  tmp_path: Path) -> None:
        store.put(_write(tmp_path / "f", b"x"), bucket, prefix + "gone")
        store.delete(bucket, prefix + "gone")
        assert store.stat(bucket, prefix + "gone") is None
        store.delete(bucket, prefix + "gone")

    def test_ensure_bucket_is_idempotent(self, store: ObjectStore, bucket: str) -> None:
        store.ensure_bucket(bucket)
        store.ensure_bucket(bucket)

    def test_progress_adds_up(self, store: ObjectStore, bucket: str, prefix: str,
                              tmp_path: Path) -> None:
        data = os.urandom(3 * 1024 * 1024 + 17)
        src = _write(tmp_path / "f", data)
        up: list[int] = []
        store.put(src, bucket, prefix + "p", up.append)
        assert sum(up) == len(data)
        down: list[int] = []
        store.get(bucket, prefix + "p", tmp_path / "g", down.append, size=len(data))
        assert sum(down) == len(data)

    def test_content_comparison(self, store: ObjectStore, bucket: str, prefix: str,
                                tmp_path: Path) -> None:
        """Backends with etags recognise their own uploads; the others say 'unknown'."""
        src = _write(tmp_path / "f", b"content A")
        store.put(src, bucket, prefix + "c")
        st = store.stat(bucket, prefix + "c")
        assert st is not None
        same = store.same_content(src, st)
        if st.etag is None:
            assert same is None
        else:
            assert same is True
            assert store.local_etag(src) == st.etag
            _write(src, b"content B")
            assert store.same_content(src, st) is False

    def test_server_copy(self, store: ObjectStore, bucket: str, prefix: str,
                         tmp_path: Path) -> None:
        store.put(_write(tmp_path / "f", b"copy me"), bucket, prefix + "from")
        if not store.server_copy(bucket, prefix + "from", bucket, prefix + "to/there"):
            pytest.skip("this backend has no server-side copy")
        store.get(bucket, prefix + "to/there", tmp_path / "g")
        assert (tmp_path / "g").read_bytes() == b"copy me"

    def test_large_object_in_parts(self, store: ObjectStore, bucket: str, prefix: str,
                                   tmp_path: Path) -> None:
        """Over the multipart threshold (the S3 fixtures lower it to 5 MiB): parts arrive
        complete and in order, progress adds up, and the etag is predictable."""
        data = os.urandom(11 * 1024 * 1024 + 17)
        src = _write(tmp_path / "big", data)
        up: list[int] = []
        info = store.put(src, bucket, prefix + "big", up.append)
        assert info.size == len(data) and sum(up) == len(data)
        down: list[int] = []
        store.get(bucket, prefix + "big", tmp_path / "back", down.append, size=len(data))
        assert sum(down) == len(data)
        assert (tmp_path / "back").read_bytes() == data
        st = store.stat(bucket, prefix + "big")
        assert st is not None and st.size == len(data)
        if st.etag is not None:
            assert store.local_etag(src) == st.etag
            assert store.same_content(src, st) is True
