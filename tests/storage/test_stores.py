"""Every ObjectStore backend runs the same conformance suite: the embedded obs:// folder
store, file://, and S3 against a real SeaweedFS."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.settings import Settings
from modelyard.spec.paths import parse_location
from modelyard.storage.base import ObjectStore
from modelyard.storage.local import FolderStore
from modelyard.storage.registry import store_for
from modelyard.storage.s3 import S3Store

from .conformance import StoreConformance

MiB = 1024 * 1024


class TestFolderStoreObs(StoreConformance):
    @pytest.fixture
    def store(self, settings: Settings) -> ObjectStore:
        store = store_for(parse_location("obs://bucket/x"), settings)
        assert isinstance(store, FolderStore)
        return store

    @pytest.fixture
    def bucket(self, store: ObjectStore) -> str:
        store.ensure_bucket("bucket")
        return "bucket"


class TestFolderStoreFile(StoreConformance):
    @pytest.fixture
    def store(self, settings: Settings) -> ObjectStore:
        return store_for(parse_location("file:///tmp"), settings)

    @pytest.fixture
    def bucket(self) -> str:
        return ""

    @pytest.fixture
    def prefix(self, tmp_path: Path) -> str:
        root = tmp_path / "filestore"
        root.mkdir()
        return root.as_posix().lstrip("/") + "/"


@pytest.mark.slow
class TestS3Store(StoreConformance):
    @pytest.fixture
    def store(self, s3_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> ObjectStore:
        monkeypatch.setattr("modelyard.storage.s3._RANGE_MIN", 4 * MiB)  # several ranges
        settings = s3_settings.model_copy(update={"transfer_multipart_threshold": 5 * MiB,
                                                  "transfer_multipart_chunksize": 5 * MiB})
        store = store_for(parse_location("s3://any-bucket/x"), settings)
        assert isinstance(store, S3Store) and store._fast is not None
        yield store
        store.close()

    @pytest.fixture
    def bucket(self, s3_bucket: str) -> str:
        return s3_bucket


@pytest.mark.slow
class TestS3StoreBotocore(StoreConformance):
    """The same store without the lean SigV4 client: what AWS endpoints, virtual-hosted
    buckets and credential chains use."""

    @pytest.fixture
    def store(self, s3_settings: Settings) -> ObjectStore:
        store = S3Store(s3_settings.s3, "s3", fast_path=False, multipart_threshold=5 * MiB,
                        multipart_chunksize=5 * MiB)
        assert store._fast is None
        yield store
        store.close()

    @pytest.fixture
    def bucket(self, s3_bucket: str) -> str:
        return s3_bucket
