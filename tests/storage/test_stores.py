"""Every ObjectStore backend runs the same conformance suite: the embedded obs:// folder
store, file://, and S3 against a real SeaweedFS."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.settings import S3Settings, Settings
from modelyard.spec.paths import parse_location
from modelyard.storage.base import ObjectStore
from modelyard.storage.local import FolderStore
from modelyard.storage.registry import store_for
from modelyard.storage.s3_boto import BotoS3Store
from modelyard.storage.s3_lean import LeanS3Store
from modelyard.storage.s3_obstore import ObstoreS3Store

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
        assert isinstance(store, LeanS3Store)
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
        store = BotoS3Store(s3_settings.s3, "s3", multipart_threshold=5 * MiB,
                            multipart_chunksize=5 * MiB)
        yield store
        store.close()

    @pytest.fixture
    def bucket(self, s3_bucket: str) -> str:
        return s3_bucket


@pytest.mark.slow
class TestS3StoreObstore(StoreConformance):
    """The same suite with obstore as the wire client (issue 21's trial)."""

    @pytest.fixture
    def store(self, s3_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> ObjectStore:
        monkeypatch.setattr("modelyard.storage.s3._RANGE_MIN", 4 * MiB)  # several ranges
        monkeypatch.setenv("MODELYARD_S3_CLIENT", "obstore")
        settings = s3_settings.model_copy(update={
            "s3": S3Settings(), "transfer_multipart_threshold": 5 * MiB,
            "transfer_multipart_chunksize": 5 * MiB})
        store = store_for(parse_location("s3://any-bucket/x"), settings)
        assert isinstance(store, ObstoreS3Store)
        yield store
        store.close()

    @pytest.fixture
    def bucket(self, s3_bucket: str) -> str:
        return s3_bucket
