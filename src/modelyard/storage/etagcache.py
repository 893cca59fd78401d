"""Which remote etag a local file version corresponds to, so incremental syncs skip
unchanged files without reading them.

Deciding "unchanged" by content means an MD5 over the local file; for a 1 GiB checkpoint
that costs more than a re-sync should. After every transfer the engine records
(path, size, mtime_ns, inode) -> etag as seen on the store; next time, if the file still
has that exact stat and the remote still has that etag, nothing is read. Anything else
falls back to hashing. The cache is an optimisation only: any failure disables it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS etags (
    path TEXT NOT NULL,
    etag TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    PRIMARY KEY (path, etag)
)
"""


class EtagCache:
    """One connection, used by one transfer call (the engine opens one per call)."""

    def __init__(self, db: Path | None) -> None:
        self._db = db
        self._conn: sqlite3.Connection | None = None
        self._pending: list[tuple[str, str, int, int, int]] = []
        self._lock = threading.Lock()
        self._broken = db is None
        self._seen: set[tuple[str, str, int, int, int]] = set()
        self._preloaded: str | None = None
        self._rows: set[tuple[str, str, int, int, int]] = set()

    def _connect(self) -> sqlite3.Connection | None:
        if self._broken or self._db is None:
            return None
        if self._conn is None:
            try:
                self._db.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self._db, timeout=10, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                # No fsync per transfer: losing the last rows to a power cut only means
                # hashing those files once more (an fsync here cost ~0.1 s per call while
                # the disk was busy with the transfer's own writes).
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(_SCHEMA)
                self._conn = conn
            except (sqlite3.Error, OSError) as exc:
                log.debug("etag cache disabled: %s", exc)
                self._broken = True
                return None
        return self._conn

    def preload(self, folder: Path) -> None:
        """Reads every row below ``folder`` in one query: a re-sync of 1000 unchanged files
        then asks SQLite once instead of 1000 times."""
        prefix = _key(folder).rstrip("/") + "/"
        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            try:
                rows = conn.execute(
                    "SELECT path, etag, size, mtime_ns, ino FROM etags "
                    "WHERE path >= ? AND path < ?", (prefix, prefix[:-1] + "0")).fetchall()
            except sqlite3.Error as exc:
                log.debug("etag cache disabled: %s", exc)
                self._broken = True
                return
            self._preloaded = prefix
            self._rows = {tuple(row) for row in rows}

    def known(self, path: str | Path, st: os.stat_result, etag: str) -> bool:
        row = (_key(path), etag, st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            if self._preloaded is not None and row[0].startswith(self._preloaded):
                if row in self._rows:
                    self._seen.add(row)
                    return True
                return False
            conn = self._connect()
            if conn is None:
                return False
            try:
                found = conn.execute(
                    "SELECT 1 FROM etags WHERE path=? AND etag=? AND size=? AND mtime_ns=? "
                    "AND ino=?", row).fetchone()
            except sqlite3.Error as exc:
                log.debug("etag cache disabled: %s", exc)
                self._broken = True
                return False
            if found is not None:
                self._seen.add(row)
            return found is not None

    def add(self, path: str | Path, st: os.stat_result, etag: str) -> None:
        row = (_key(path), etag, st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            if row not in self._seen:  # already stored: nothing to write
                self._pending.append(row)

    def flush(self) -> None:
        """Writes what was added; older versions of the same paths are forgotten."""
        with self._lock:
            rows, self._pending = self._pending, []
            conn = self._connect() if rows else None
            if conn is None:
                return
            try:
                with conn:
                    conn.executemany(
                        "DELETE FROM etags WHERE path=? AND NOT (size=? AND mtime_ns=? AND ino=?)",
                        [(p, s, m, i) for p, _, s, m, i in rows])
                    conn.executemany("INSERT OR REPLACE INTO etags VALUES (?, ?, ?, ?, ?)", rows)
            except sqlite3.Error as exc:
                log.debug("etag cache not updated: %s", exc)

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _key(path: str | Path) -> str:
    return os.path.abspath(path)
