"""The models and the migrations agree, and the migrations have one head (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import modelyard.store.fs_models
import modelyard.store.identity_models
import modelyard.store.search_models  # noqa: F401  (every table in Base.metadata)
from modelyard.store.db import MIGRATIONS, Database
from modelyard.store.models import Base


def _differences(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        return list(compare_metadata(context, Base.metadata))


def test_one_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


def test_models_match_migrations_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'schema.db'}")
    try:
        assert _differences(db) == []
    finally:
        db.dispose()


@pytest.mark.slow
def test_models_match_migrations_on_postgres(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        assert _differences(db) == []
    finally:
        db.dispose()
