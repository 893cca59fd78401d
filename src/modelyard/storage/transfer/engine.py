"""The transfer engine: every path that moves bytes goes through here (code download,
inputs, outputs, prefetch, ``modelyard storage cp``).

What every call does, whatever the backend:

- **parallel** across files (``Settings.transfer_workers`` threads); large files are also
  split into parts by the S3 backend (``transfer_part_concurrency`` requests per endpoint);
- **incremental**: a file is skipped when the other side already has it. The rule: same
  size, and then
  * against S3 (objects have an ETag): the same ETag. The local side's ETag is known without
    reading the file when this file version (path, size, mtime, inode) was transferred
    before (``etagcache``); otherwise it is computed (MD5, or the multipart form);
  * against the local folder store and ``file://`` (no ETag): the same modification time
    (copies keep the source's mtime);
- **retries** with exponential backoff and jitter on ``TransientError``, at most
  ``transfer_attempts`` tries per file and never longer than ``transfer_retry_deadline``
  seconds of continuous failure (one success anywhere in the call resets that clock); when
  a file gives up, the whole call stops and raises ``TransferError`` naming the location;
- a **consistency check** at the end: every file that should be there is listed again and
  must have the expected size, otherwise ``TransferError``;
- **progress** in bytes (thread-safe; a failed attempt is rolled back with a negative
  amount so the sum equals ``report.bytes``).

Uploads of folders that are still being written (a job's outputs) use ``settle_seconds``:
a file modified less than that long ago is left for the next round, and a file that
changes while it is being sent is not counted and goes again next round.
"""

from __future__ import annotations

import builtins

from modelyard.spec.code_dir import check_code_dir_listing
from modelyard.spec.paths import Location, parse_location
from modelyard.storage.base import ObjectInfo
from modelyard.storage.transfer.copy import Copies
from modelyard.storage.transfer.workers import Run, as_loc


class TransferEngine(Copies):
    """Moves files between local folders and object stores: ``download``, ``upload``,
    ``copy`` (each in its own module), ``list`` and the code-directory check."""

    def list(self, url: str | Location) -> list[ObjectInfo]:
        """The object at ``url``, or else every object below it (keys are full keys)."""
        loc = as_loc(url)
        store = self.store(loc)
        run = Run(None)
        if not loc.is_dir:
            info = self._retry(run, lambda: store.stat(loc.bucket, loc.key), "reading",
                               loc.url)
            if info is not None:
                return [info]
        prefix = loc.as_dir().key
        return self._retry(run, lambda: list(store.list(loc.bucket, prefix)), "listing",
                           loc.as_dir().url)

    def check_code_dir_limits(self, url: str | Location) -> builtins.list[str]:
        """Seed S2.3 (``spec.code_dir``) by listing only, so that a 5 GB mistake fails in
        a second, not after an hour of copying. Raises SpecError naming ``code_dir``;
        returns warnings when the directory looks like it holds data."""
        loc = (parse_location(url, "code_dir") if isinstance(url, str) else url).as_dir()
        store = self.store(loc)

        def scan() -> builtins.list[str]:
            listing = ((info.key[len(loc.key):], info.size)
                       for info in store.list(loc.bucket, loc.key))
            return check_code_dir_listing(loc.url, listing)

        return self._retry(Run(None), scan, "listing", loc.url)
