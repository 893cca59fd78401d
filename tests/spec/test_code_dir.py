"""Seed S2.3 on a listing, without any store: each limit, the warnings, and that the rule
stops at the first entry past a limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelyard.spec import code_dir
from modelyard.spec.code_dir import check_code_dir_listing
from modelyard.spec.errors import SpecError

URL = "obs://bucket/code/"
MiB = 1024**2


def test_a_small_code_dir_passes_without_warnings() -> None:
    assert check_code_dir_listing(URL, [("train.py", 100), ("lib/util.py", 100)]) == []


def test_more_than_1000_files_and_folders_names_the_field_and_the_rule() -> None:
    # 998 files + the folders a/ and a/b/ implied by one key = 1001 entries
    listing = [(f"f{i}.py", 1) for i in range(998)] + [("a/b/x.py", 1)]
    with pytest.raises(SpecError) as err:
        check_code_dir_listing(URL, listing)
    assert (err.value.field, err.value.value) == ("code_dir", URL)
    assert "more than 1000 files and folders (seed S2.3)" in err.value.rule
    assert check_code_dir_listing(URL, listing[1:]) == []  # exactly 1000 is allowed


def test_folder_markers_count_once() -> None:
    listing = [("empty/", 0), ("empty/x.py", 1), ("", 0)]
    assert check_code_dir_listing(URL, listing) == []


def test_depth_over_32_levels() -> None:
    deep = "/".join(f"d{i}" for i in range(32)) + "/x.py"  # 33 components
    with pytest.raises(SpecError, match="33 levels deep; a code directory may be at most 32"):
        check_code_dir_listing(URL, [(deep, 1)])
    check_code_dir_listing(URL, [(deep.split("/", 1)[1], 1)])  # 32 components pass


def test_more_than_5_gb() -> None:
    with pytest.raises(SpecError, match="more than 5 GB; at most 5 GB are allowed"):
        check_code_dir_listing(URL, [("a.bin", 3 * 1024**3), ("b.bin", 3 * 1024**3)])


def test_data_and_large_files_are_warnings() -> None:
    data = check_code_dir_listing(URL, [("data/x.npy", 60 * MiB), ("data/y.CSV", 60 * MiB)])
    assert len(data) == 2  # data-like bulk, and two files over 50 MB
    assert "2 data-like file(s) (120 MB)" in data[0] and "input channel" in data[0]
    assert "data/x.npy, data/y.CSV" in data[1] and "(seed S2.3)" in data[1]


def test_the_rule_stops_at_the_first_entry_past_a_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_dir, "CODE_DIR_MAX_ENTRIES", 3)
    seen: list[str] = []

    def listing() -> Iterator[tuple[str, int]]:
        for i in range(100):
            seen.append(f"f{i}")
            yield f"f{i}.py", 1

    with pytest.raises(SpecError):
        check_code_dir_listing(URL, listing())
    assert len(seen) == 4
