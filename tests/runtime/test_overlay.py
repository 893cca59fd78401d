"""The writable layer over an image's home: writes land in the job's folder, the image is
untouched, and the host never sees the mount (a private mount namespace)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelyard.runtime.overlay import can_overlay

pytestmark = pytest.mark.skipif(not can_overlay(), reason="overlay mounts need root and "
                                "overlayfs (the documented fallback is used otherwise)")


def test_writes_go_to_the_upper_layer_only(tmp_path: Path) -> None:
    lower, upper, work, merged = (tmp_path / n for n in ("lower", "upper", "work", "merged"))
    (lower / "anaconda").mkdir(parents=True)
    (lower / "anaconda" / "image.txt").write_text("from the image")
    code = textwrap.dedent(f"""
        from pathlib import Path
        from modelyard.runtime.overlay import mount_overlay, private_mount_namespace
        private_mount_namespace()
        mount_overlay(Path({str(lower)!r}), Path({str(upper)!r}), Path({str(work)!r}),
                      Path({str(merged)!r}))
        m = Path({str(merged)!r})
        assert (m / "anaconda" / "image.txt").read_text() == "from the image"
        (m / "anaconda" / "installed.txt").write_text("pip install")
        (m / "anaconda" / "image.txt").write_text("changed by the job")
        print("ok")
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout.strip() == "ok", res.stderr
    assert (lower / "anaconda" / "image.txt").read_text() == "from the image"
    assert not (lower / "anaconda" / "installed.txt").exists()
    assert (upper / "anaconda" / "installed.txt").read_text() == "pip install"
    assert (upper / "anaconda" / "image.txt").read_text() == "changed by the job"
    assert list(merged.iterdir()) == []  # the host's view: nothing mounted there
