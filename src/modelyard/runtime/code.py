"""Staging the code directory (seed S2.2, S2.3).

The limits (at most 1000 files and folders, 5 GB, depth 32) are checked by the transfer
engine by listing the remote code directory, before a single byte is downloaded: a 5 GB
mistake fails in a second, not after an hour of copying. The code then lands in
``${MA_JOB_DIR}/<last component of code_dir>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from modelyard.runtime.layout import Layout
from modelyard.runtime.report import Reporter, StagingError, human_size, plural
from modelyard.spec.paths import parse_location
from modelyard.storage import TransferEngine


@dataclass(frozen=True)
class StagedCode:
    name: str
    """The folder under ``MA_JOB_DIR`` (seed S2.2)."""
    files: int
    bytes: int


def stage_code(url: str, boot_file: str | None, layout: Layout, engine: TransferEngine,
               reporter: Reporter, progress: Callable[[int], None],
               check_stop: Callable[[], None]) -> StagedCode:
    """Checks the S2.3 limits (SpecError naming ``code_dir``), reports data-like bulk as
    warnings, downloads the code and checks that the boot file is in it."""
    loc = parse_location(url, "code_dir").as_dir()
    for warning in engine.check_code_dir_limits(loc):
        reporter.warning(warning[0].upper() + warning[1:])
    check_stop()
    dest = layout.host.code_dir(loc.name)
    dest.mkdir(parents=True, exist_ok=True)
    reporter.info(f"Downloading code from {loc.url} to {layout.job.code_dir(loc.name)}")
    report = engine.download(loc, dest, progress, beneath=layout.host.root_of(dest))
    if report.files + report.skipped == 0:
        raise StagingError(f"The code directory {loc.url} is empty or does not exist")
    reporter.info(f"Downloaded code: {plural(report.files, 'file')} "
                  f"({human_size(report.bytes)}) in {report.seconds:.1f} s"
                  + (f", {report.skipped} already there" if report.skipped else ""))
    if boot_file and not (dest / boot_file).is_file():
        raise StagingError(f"The boot file {boot_file} is not in the code directory {loc.url}")
    return StagedCode(loc.name, report.files, report.bytes)
