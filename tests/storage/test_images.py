"""The image store against a real registry (docker-registry), skopeo and umoci (issue 15 (b))."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from fixtures.images import BuiltImage, Registry
from fixtures.server import free_port
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.storage.images import ImageError, ImageStore

pytestmark = pytest.mark.slow


@pytest.fixture
def store(settings: Settings, registry: Registry) -> ImageStore:
    return ImageStore(settings.model_copy(update={"insecure_registries": registry.host}))


def test_pull_unpacks_once_per_digest(store: ImageStore, registry: Registry,
                                      tiny_image: BuiltImage) -> None:
    url = registry.push(tiny_image, "test/tiny")
    record, cached = store.pull(url)
    assert not cached and record.digest == tiny_image.digest
    assert record.references == [url] and record.size > 0
    root = store.rootfs(record)
    assert (root / "bin" / "sh").is_file() and record.unpacked_size > 0
    assert record.env[:2] == ["PATH=/usr/local/bin:/usr/bin:/bin", "IMAGE_VAR=from-image"]
    assert record.config["WorkingDir"] == "/srv"
    # whiteout and opaque folder of the second layer applied
    assert not (root / "opt" / "gone.txt").exists()
    assert sorted(os.listdir(root / "opt" / "old")) == ["b.txt"]
    # nothing a job could gain from: setuid cleared, device node gone
    assert not (root / "usr/bin/suid-tool").stat().st_mode & stat.S_ISUID
    evil = root / "dev" / "evil"  # rootless unpacking leaves an empty file for a device
    assert not evil.exists() or (stat.S_ISREG(evil.lstat().st_mode) and evil.stat().st_size == 0)
    assert any("suid-tool" in c for c in record.cleared)
    inode = root.stat().st_ino
    again, cached = store.pull(url)
    assert cached and again.digest == record.digest and store.rootfs(again).stat().st_ino == inode
    assert [r.digest for r in store.images()] == [record.digest]


def test_two_tags_share_one_image_and_a_moved_tag_is_pruned(
        store: ImageStore, registry: Registry, tiny_image: BuiltImage,
        python_image: BuiltImage) -> None:
    a = registry.push(tiny_image, "test/moving", "a")
    b = registry.push(tiny_image, "test/moving", "b")
    first, _ = store.pull(a)
    second, cached = store.pull(b)
    assert cached and first.digest == second.digest
    assert store.find(b) is not None and store.find(b).references == [a, b]  # type: ignore[union-attr]
    registry.push(python_image, "test/moving", "a")  # the tag moves
    moved, cached = store.pull(a)
    assert not cached and moved.digest == python_image.digest
    old = store.find(first.digest)
    assert old is not None and old.references == [b]
    store.pull(b)  # still named by b: prune keeps it
    assert store.prune()[0] == []
    registry.push(python_image, "test/moving", "b")
    store.pull(b)
    old = store.find(first.digest)
    assert old is not None and old.references == []
    with store.use(old):  # a job holds it: prune leaves it
        removed, busy = store.prune()
        assert removed == [] and [r.digest for r in busy] == [first.digest]
    removed, busy = store.prune()
    assert [r.digest for r in removed] == [first.digest] and busy == []
    assert not store.rootfs(old).exists() and store.find(first.digest) is None
    blobs = os.listdir(store.layout / "blobs" / "sha256")
    assert first.digest.split(":")[1] not in blobs  # gc'd with its layers
    assert store.find(a) is not None and store.rootfs(store.find(a)).is_dir()  # type: ignore[arg-type]


def test_a_pinned_digest_needs_no_registry_once_here(store: ImageStore, registry: Registry,
                                                     tiny_image: BuiltImage) -> None:
    url = registry.push(tiny_image, "test/pinned")
    store.pull(url)
    gone = f"127.0.0.1:{free_port()}/test/pinned@{tiny_image.digest}"
    record, cached = store.pull(gone)
    assert cached and record.digest == tiny_image.digest


def test_no_such_image_names_it_and_the_registrys_answer(store: ImageStore,
                                                         registry: Registry) -> None:
    with pytest.raises(ImageError) as err:
        store.pull(f"{registry.host}/test/nothing:1")
    text = str(err.value)
    assert f"{registry.host}/test/nothing:1" in text and "manifest unknown" in text.lower()
    assert not err.value.transient
    assert store.images() == []


def test_a_registry_that_is_down_is_a_transient_failure(store: ImageStore) -> None:
    with pytest.raises(ImageError) as err:
        store.pull(f"127.0.0.1:{free_port()}/test/x:1")
    assert err.value.transient and "connection refused" in str(err.value).lower()


def test_plain_http_needs_insecure_registries(settings: Settings, registry: Registry,
                                              tiny_image: BuiltImage) -> None:
    url = registry.push(tiny_image, "test/tls")
    with pytest.raises(ImageError) as err:
        ImageStore(settings).pull(url)
    assert "insecure_registries" in str(err.value)


def test_a_malformed_reference_is_a_spec_error(store: ImageStore) -> None:
    with pytest.raises(SpecError):
        store.pull("Not A Reference")


@pytest.mark.parametrize("kind", ["docker-archive", "oci-archive"])
def test_import_an_archive(store: ImageStore, tiny_image: BuiltImage, tmp_path: Path,
                           kind: str) -> None:
    archive = tmp_path / "image.tar"
    dest = f"{kind}:{archive}" + (":test/tiny:1" if kind == "docker-archive" else "")
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{tiny_image.layout}:1", dest],
                   check=True, capture_output=True)
    record = store.import_archive(archive, "offline.example.com/team/tiny:1")
    assert record.source == "archive" and record.references == [
        "offline.example.com/team/tiny:1"]
    assert (store.rootfs(record) / "bin" / "sh").is_file()
    assert store.find("offline.example.com/team/tiny:1") is not None


def test_import_refuses_what_is_not_an_image(store: ImageStore, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar")
    with pytest.raises(ImageError, match="not a tar archive"):
        store.import_archive(junk)


def test_each_project_gets_its_own_credentials_or_none(settings: Settings) -> None:
    """skopeo gets the project's auth file, else the installation's, else an empty one
    (never the service user's own docker login)."""
    own = settings.home / "registry-auth" / "team-a.json"
    own.parent.mkdir(parents=True)
    own.write_text('{"auths": {}}')
    store = ImageStore(settings)
    from modelyard.spec.images import parse_image_ref

    ref = parse_image_ref("reg.example.com/x/y:1")
    assert f"--authfile={own}" in store._registry_args(ref, "team-a", "")
    empty = store._registry_args(ref, "team-b", "src-")
    assert empty == [f"--src-authfile={store.root / 'no-auth.json'}"]
    assert (store.root / "no-auth.json").read_text() == "{}"
    assert settings.registry_auth_path("../team-a") is None


def test_an_imported_reference_needs_no_registry(store: ImageStore, tiny_image: BuiltImage,
                                                 tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{tiny_image.layout}:1",
                    f"oci-archive:{archive}"], check=True, capture_output=True)
    store.import_archive(archive, "nowhere.invalid/team/tiny:1")
    record, cached = store.pull("nowhere.invalid/team/tiny:1")
    assert cached and record.source == "archive"


def test_a_registry_gone_down_falls_back_to_the_copy_pulled_before(
        settings: Settings, tiny_image: BuiltImage, tmp_path: Path) -> None:
    own = Registry(tmp_path / "reg")
    (tmp_path / "reg").mkdir()
    own.start()
    try:
        url = own.push(tiny_image, "test/fallback")
        store = ImageStore(settings.model_copy(update={"insecure_registries": own.host}))
        first, _ = store.pull(url)
    finally:
        own.stop()
    notes: list[str] = []
    again, cached = store.pull(url, notes=notes)
    assert cached and again.digest == first.digest
    assert len(notes) == 1 and "the registry did not answer" in notes[0]
    with pytest.raises(ImageError):  # a reference never pulled has no copy to fall back to
        store.pull(f"{own.host}/test/other:1")
