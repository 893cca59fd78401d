"""The database: migrations on open, concurrent writers, no half-written records."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from modelyard.store import AlgorithmRow, Database


def test_open_creates_schema_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    Database(url).dispose()
    db = Database(url)  # second open: migrations already applied
    tables = set(inspect(db.engine).get_table_names())
    assert {"algorithms", "jobs", "job_events", "alembic_version"} <= tables


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_failed_unit_of_work_leaves_nothing(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(AlgorithmRow(id="x", project_id="p", name="n", body={}, created_at=0,
                           updated_at=0))
        s.flush()
        raise RuntimeError("crash in the middle")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AlgorithmRow)) == 0


WRITER = """
import sys, time, uuid
from modelyard.store import AlgorithmRow, Database
db = Database(sys.argv[1])
for i in range(40):
    with db.session() as s:
        s.add(AlgorithmRow(id=str(uuid.uuid4()), project_id="p", name=f"{sys.argv[2]}-{i}",
                           body={"i": i}, created_at=time.time(), updated_at=time.time()))
"""


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    """Two CLI processes at once (each migrating on open) do not corrupt anything."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, name]) for name in "ab"]
    deadline = time.time() + 120
    for p in procs:
        assert p.wait(timeout=max(1, deadline - time.time())) == 0
    db = Database(url)
    with db.session() as s:
        names = set(s.scalars(select(AlgorithmRow.name)))
    assert names == {f"{w}-{i}" for w in "ab" for i in range(40)}
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
