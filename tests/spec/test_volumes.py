"""Mount rules of ``spec.volumes`` (seed S5.2/S5.3, docs/contract.md): each broken rule is one
SpecError naming the field, the value and the rule."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.spec import SpecError
from modelyard.spec.volumes import (
    MAX_VOLUMES,
    VolumeKind,
    check_mount_path,
    parse_mount_option,
    parse_volumes,
)

from .builders import quick


def fs(name: str = "images", local_path: str = "/mnt/data", **extra: Any) -> dict[str, Any]:
    return {"filesystem": {"name": name, "local_path": local_path, **extra}}


def error(volumes: Any) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_volumes(volumes)
    return info.value


def test_a_valid_filesystem_volume() -> None:
    (vol,) = parse_volumes([fs(storage_location="/train/", read_only=True)])
    assert vol.kind == VolumeKind.FILESYSTEM
    assert (vol.name, vol.storage_location, vol.local_path, vol.read_only) == (
        "images", "train", "/mnt/data", True)
    assert vol.field == "spec.volumes[0].filesystem"


def test_defaults_root_location_and_writable() -> None:
    (vol,) = parse_volumes([fs()])
    assert vol.storage_location == ""
    assert vol.read_only is False


def test_none_and_empty_mean_no_mounts() -> None:
    assert parse_volumes(None) == []
    assert parse_volumes([]) == []


def test_read_only_accepts_true_false_strings() -> None:
    assert parse_volumes([fs(read_only="True")])[0].read_only is True
    assert parse_volumes([fs(read_only="false")])[0].read_only is False


def test_nfs_volume() -> None:
    (vol,) = parse_volumes([{"nfs": {"nfs_server_path": "10.0.0.2:/export/data",
                                     "local_path": "/home/ma-user/work", "read_only": True}}])
    assert vol.kind == VolumeKind.NFS
    assert vol.server_path == "10.0.0.2:/export/data"
    assert vol.local_path == "/home/ma-user/work"


# ------------------------------------------------------------------ count and shape
def test_at_most_eight() -> None:
    ok = [fs(f"fs{i}", f"/mnt/d{i}") for i in range(MAX_VOLUMES)]
    assert len(parse_volumes(ok)) == MAX_VOLUMES
    err = error([*ok, fs("fs9", "/mnt/d9")])
    assert err.field == "spec.volumes"
    assert err.value == MAX_VOLUMES + 1
    assert "at most 8" in err.rule


def test_volumes_must_be_a_list() -> None:
    err = error({"filesystem": {}})
    assert err.field == "spec.volumes"


@pytest.mark.parametrize("entry", [
    "images", 3, {}, {"filesystem": {}, "nfs": {}}, {"sfs_turbo": {"name": "x"}},
])
def test_each_entry_has_exactly_one_known_kind(entry: Any) -> None:
    err = error([fs(), entry])
    assert err.field == "spec.volumes[1]"
    assert "exactly one of 'filesystem', 'nfs' or 'obs'" in err.rule


def test_body_must_be_a_map() -> None:
    err = error([{"filesystem": "images:/mnt"}])
    assert err.field == "spec.volumes[0].filesystem"


def test_unknown_fields_are_refused_not_ignored() -> None:
    err = error([fs(readonly=True)])
    assert err.field == "spec.volumes[0].filesystem.readonly"
    assert "unknown field" in err.rule and "'read_only'" in err.rule


@pytest.mark.parametrize(("missing", "entry"), [
    ("name", {"filesystem": {"local_path": "/mnt/a"}}),
    ("local_path", {"filesystem": {"name": "images"}}),
    ("nfs_server_path", {"nfs": {"local_path": "/mnt/a"}}),
    ("local_path", {"nfs": {"nfs_server_path": "h:/x"}}),
])
def test_required_fields(missing: str, entry: dict[str, Any]) -> None:
    err = error([entry])
    kind = next(iter(entry))
    assert err.field == f"spec.volumes[0].{kind}.{missing}"
    assert err.rule == "this field is required"


def test_bad_filesystem_name() -> None:
    err = error([fs(name="my images")])
    assert err.field == "spec.volumes[0].filesystem.name"
    assert "seed S3.3" in err.rule


def test_bad_read_only() -> None:
    err = error([fs(read_only="yes")])
    assert err.field == "spec.volumes[0].filesystem.read_only"


@pytest.mark.parametrize("server", ["", "   ", 5, "host:/x\n"])
def test_bad_nfs_server_path(server: Any) -> None:
    err = error([{"nfs": {"nfs_server_path": server, "local_path": "/mnt/a"}}])
    assert err.field == "spec.volumes[0].nfs.nfs_server_path"


def test_obs_volumes_are_refused_with_a_way_out() -> None:
    err = error([fs(), {"obs": {"obs_url": "obs://bkt/data/", "local_path": "/mnt/obs"}}])
    assert err.field == "spec.volumes[1].obs"
    assert "not supported" in err.rule
    assert "input channel" in err.rule and "modelyard fs preload" in err.rule


# ------------------------------------------------------------------ mount paths
@pytest.mark.parametrize(("path", "words"), [
    ("/", "must not be '/'"),
    ("/cache", "'/cache'"),
    ("/home/ma-user/modelarts", "at or under /home/ma-user/modelarts"),
    ("/home/ma-user/modelarts/inputs/x", "at or under /home/ma-user/modelarts"),
    ("/home/ma-user", "must not contain /home/ma-user/modelarts"),
    ("/home", "must not contain /home/ma-user/modelarts"),
    ("/proc", "/proc, /sys or /dev"),
    ("/dev/shm/data", "/proc, /sys or /dev"),
    ("/sys/x", "/proc, /sys or /dev"),
    ("mnt/data", "absolute path"),
    ("", "absolute path"),
    ("/mnt/data/", "write '/mnt/data'"),
    ("/mnt/./data", "write '/mnt/data'"),
    ("/mnt/x/../data", "write '/mnt/data'"),
    ("//mnt/data", "write '/mnt/data'"),
    ("/mnt//data", "write '/mnt/data'"),
    ("/mnt/da\nta", "absolute path"),
])
def test_mount_path_rules(path: str, words: str) -> None:
    err = error([fs(local_path=path)])
    assert err.field == "spec.volumes[0].filesystem.local_path"
    assert err.value == path
    assert words in err.rule


@pytest.mark.parametrize("path", [
    "/mnt/data", "/home/ma-user/work", "/home/ma-user/modelarts-data", "/cache/data",
    "/data", "/opt/dataset", "/home/ma-user/modelartsx",
])
def test_allowed_mount_paths(path: str) -> None:
    assert check_mount_path(path, "f") == path


def test_mount_path_not_a_string() -> None:
    err = error([fs(local_path=["/mnt"])])
    assert err.field == "spec.volumes[0].filesystem.local_path"


def test_each_mount_path_once() -> None:
    err = error([fs("a", "/mnt/data"), fs("b", "/mnt/other"), fs("c", "/mnt/data")])
    assert err.field == "spec.volumes[2].filesystem.local_path"
    assert err.value == "/mnt/data"
    assert "each mount path is used once" in err.rule
    assert "spec.volumes[0]" in err.rule


def test_mount_paths_do_not_nest() -> None:
    err = error([fs("a", "/mnt/data"), fs("b", "/mnt/data/train")])
    assert err.field == "spec.volumes[1].filesystem.local_path"
    assert "inside another mount path" in err.rule
    err = error([fs("a", "/mnt/data/train"), fs("b", "/mnt/data")])
    assert err.field == "spec.volumes[1].filesystem.local_path"


def test_siblings_with_a_common_prefix_are_fine() -> None:
    assert len(parse_volumes([fs("a", "/mnt/data"), fs("b", "/mnt/data2")])) == 2


def test_same_file_system_once() -> None:
    err = error([fs("images", "/mnt/a", storage_location="/train"),
                 fs("images", "/mnt/b", storage_location="/val")])
    assert err.field == "spec.volumes[1].filesystem.name"
    assert err.value == "images"
    assert "same file system is mounted at most once" in err.rule


def test_same_nfs_export_once() -> None:
    nfs = [{"nfs": {"nfs_server_path": "h:/export/", "local_path": "/mnt/a"}},
           {"nfs": {"nfs_server_path": "h:/export", "local_path": "/mnt/b"}}]
    err = error(nfs)
    assert err.field == "spec.volumes[1].nfs.nfs_server_path"


# ------------------------------------------------------------------ storage locations
@pytest.mark.parametrize(("text", "rel"), [
    ("/", ""), ("", ""), (None, ""), ("/train", "train"), ("train/cats/", "train/cats"),
    ("/a/b/c", "a/b/c"),
])
def test_storage_locations(text: Any, rel: str) -> None:
    entry = fs()
    entry["filesystem"]["storage_location"] = text
    assert parse_volumes([entry])[0].storage_location == rel


@pytest.mark.parametrize("text", ["/../etc", "/a/../../b", "a//b", "/./a", "a\\b", 7, "a\nb"])
def test_bad_storage_locations(text: Any) -> None:
    err = error([fs(storage_location=text)])
    assert err.field == "spec.volumes[0].filesystem.storage_location"
    assert err.value == text


@quick
@given(st.text(alphabet="/.ab", max_size=12))
def test_accepted_locations_never_climb_out(text: str) -> None:
    try:
        (vol,) = parse_volumes([fs(storage_location=text)])
    except SpecError:
        return
    assert ".." not in vol.storage_location.split("/")
    assert not vol.storage_location.startswith("/")


@quick
@given(st.text(alphabet="/.ahm-", min_size=1, max_size=16))
def test_accepted_mount_paths_are_normal_and_outside_reserved(path: str) -> None:
    try:
        check_mount_path(path, "f")
    except SpecError:
        return
    assert path.startswith("/") and path != "/"
    assert "/../" not in path + "/" and "/./" not in path + "/" and "//" not in path
    assert not path.endswith("/")


# ------------------------------------------------------------------ --mount
def test_mount_option() -> None:
    assert parse_mount_option("images:/train:/mnt/data:ro") == {"filesystem": {
        "name": "images", "storage_location": "/train", "local_path": "/mnt/data",
        "read_only": True}}
    assert parse_mount_option("images:/:/mnt/data")["filesystem"]["read_only"] is False
    assert parse_mount_option("images:/:/mnt/data:rw")["filesystem"]["read_only"] is False


@pytest.mark.parametrize("text", ["images", "images:/mnt", "a:b:c:d", "images::/mnt",
                                  ":/x:/mnt", "a:b:c:x:ro"])
def test_bad_mount_option(text: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_mount_option(text)
    assert info.value.field == "--mount"
    assert "INSTANCE:DIR_IN_FS:MOUNT_PATH" in info.value.rule


def test_mount_option_entries_go_through_the_same_rules() -> None:
    err = error([parse_mount_option("images:/:/cache")])
    assert err.field == "spec.volumes[0].filesystem.local_path"
