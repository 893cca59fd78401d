"""Opening the database: SQLite in WAL mode by default, PostgreSQL for shared servers.

Migrations run on open, under a file lock for SQLite so two CLI processes starting at once
do not race to create the schema.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("sqlite:///", 1)[-1]
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url, connect_args={"timeout": 30, "check_same_thread": False}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            # No pool_pre_ping: it is a round trip before every session. A connection the
            # server dropped fails its statement once, SQLAlchemy then invalidates the whole
            # pool, and pool_recycle retires connections before the server's idle timeouts.
            self.engine = create_engine(url, pool_size=10, max_overflow=20, pool_recycle=1800)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migrate()

    def migrate(self) -> None:
        """Brings the schema to the newest revisions (idempotent). Areas add their own
        revisions off 0001, so several heads are normal."""
        with self._migration_lock():
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if not self.is_sqlite:
            yield
            return
        lock_path = Path(self.url.split("sqlite:///", 1)[-1] + ".migrate.lock")
        with lock_path.open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error, so a failure never
        leaves a half-written record."""
        s = self._sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for a read on the request path: no ORM session around it, which
        costs about three times the lookup itself (issue 20). Its transaction is rolled
        back when the connection returns to the pool; never write through it."""
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
