"""The gallery's migration (0006_gallery): it creates exactly the tables the models
describe, its constraints hold, and it downgrades cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from modelyard.store.db import MIGRATIONS, Database
from modelyard.store.gallery_models import (
    GalleryAssetRow,
    GallerySubscriptionRow,
    GalleryVersionRow,
)

TABLES = {"gallery_assets": GalleryAssetRow, "gallery_versions": GalleryVersionRow,
          "gallery_subscriptions": GallerySubscriptionRow}


def test_the_migration_creates_the_models_tables(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    inspector = inspect(db.engine)
    for table, model in TABLES.items():
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert columns == set(model.__table__.columns.keys()), table
    db.dispose()


def test_constraints_hold(tmp_path: Path) -> None:
    check_constraints(Database(f"sqlite:///{tmp_path / 'g.db'}"))


@pytest.mark.slow
def test_constraints_hold_on_postgresql(pg_url: str) -> None:
    check_constraints(Database(pg_url))


def check_constraints(db: Database) -> None:
    with db.session() as s:
        s.add(GalleryAssetRow(id="a", project_id="p", name="n", created_at=0, updated_at=0))
    version = {"content_id": "a", "version_num": "1.0.0", "algorithm": {},
               "source_algorithm_id": "x", "state": "published", "created_at": 0}
    with db.session() as s:
        s.add(GalleryVersionRow(id="v1", **version))
    with pytest.raises(IntegrityError), db.session() as s:  # one 1.0.0 per asset
        s.add(GalleryVersionRow(id="v2", **version))
    with db.session() as s:
        s.add(GallerySubscriptionRow(id="s1", project_id="q", content_id="a", created_at=0))
    with pytest.raises(IntegrityError), db.session() as s:  # one subscription per project
        s.add(GallerySubscriptionRow(id="s2", project_id="q", content_id="a", created_at=0))
    with pytest.raises(IntegrityError), db.session() as s:  # only to an asset that exists
        s.add(GallerySubscriptionRow(id="s3", project_id="q", content_id="nope", created_at=0))
    db.dispose()


def test_downgrade_removes_the_tables(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006_gallery-1")
    assert not set(TABLES) & set(inspect(db.engine).get_table_names())
    db.dispose()
