"""The etag cache answers the same whether rows are looked up one by one or preloaded."""

from __future__ import annotations

from pathlib import Path

from modelyard.storage.etagcache import EtagCache


def _files(root: Path) -> list[Path]:
    paths = [root / "a.bin", root / "sub" / "b.bin", root / "sub" / "c.bin"]
    for i, path in enumerate(paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (i + 1))
    return paths


def test_preloaded_and_single_lookups_agree(tmp_path: Path) -> None:
    root, other = tmp_path / "root", tmp_path / "root-other"  # same prefix, not below root
    paths = _files(root) + _files(other)
    db = tmp_path / "cache.sqlite3"
    cache = EtagCache(db)
    for path in paths[:-1]:  # the last one is never recorded
        cache.add(path, path.stat(), f"etag-{path.name}")
    cache.close()
    (root / "sub" / "b.bin").write_bytes(b"changed")  # recorded, then changed

    def answers(preload: Path | None) -> list[bool]:
        cache = EtagCache(db)
        if preload is not None:
            cache.preload(preload)
        try:
            return [cache.known(p, p.stat(), f"etag-{p.name}") for p in paths] + [
                cache.known(paths[0], paths[0].stat(), "another-etag")]
        finally:
            cache.close()

    expected = [True, False, True, True, True, False, False]
    assert answers(None) == expected
    assert answers(root) == expected
    assert answers(other) == expected


def test_a_broken_cache_knows_nothing(tmp_path: Path) -> None:
    (tmp_path / "cache.sqlite3").mkdir()  # cannot be opened as a database
    path = _files(tmp_path / "root")[0]
    cache = EtagCache(tmp_path / "cache.sqlite3")
    cache.preload(tmp_path / "root")
    cache.add(path, path.stat(), "e")
    assert not cache.known(path, path.stat(), "e")
    cache.close()
