"""Copying a published algorithm's code directory into the server's home.

A version must run the code as it was when published, whatever the publisher does to its
code directory afterwards (seed S1.1). So the code is copied, once, into
``<home>/gallery/<content_id>/<version_id>/<name of the code directory>/``: a place no job
and no user-visible URL can write to. The last component keeps its name because a job finds
its code in ``${MA_JOB_DIR}/<that name>`` (seed S2.2).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from modelyard.settings import Settings
from modelyard.spec.paths import parse_location


def gallery_root(settings: Settings) -> Path:
    return settings.home / "gallery"


def version_dir(settings: Settings, content_id: str, version_id: str) -> Path:
    return gallery_root(settings) / content_id / version_id


def copy_code(settings: Settings, code_dir: str, dest: Path) -> str:
    """Copies ``code_dir`` (obs://, s3:// or file://) below ``dest``; returns the copy's
    ``file://`` URL. The seed's limits (S2.3) are checked by listing before anything is
    copied. Raises SpecError naming ``code_dir`` when the directory is empty."""
    from modelyard.spec.errors import SpecError
    from modelyard.storage.transfer import TransferEngine

    loc = parse_location(code_dir, "job_config.code_dir").as_dir()
    target = dest / loc.name
    engine = TransferEngine(settings)
    try:
        engine.check_code_dir_limits(loc)
        report = engine.download(loc, target)
    finally:
        engine.close()
    if report.files == 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise SpecError("job_config.code_dir", loc.url,
                        "the code directory is empty; there is nothing to publish")
    return parse_location(f"file://{target}").as_dir().url


def remove(path: Path) -> None:
    """Removes a snapshot whose record could not be written."""
    shutil.rmtree(path, ignore_errors=True)
