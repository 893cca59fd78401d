"""Datasets on PostgreSQL (the shared-server database): the migration, JSON columns and
the uniqueness rules hold there as on SQLite."""

from __future__ import annotations

import pytest

from fixtures.datasets import classification_tree, dataset_body, write_local
from modelyard.service import Service
from modelyard.service.errors import Conflict
from modelyard.settings import Settings

pytestmark = pytest.mark.slow


def test_import_and_publish_on_postgres(settings: Settings, pg_url: str) -> None:
    write_local(settings, "data", classification_tree("pets/", per_label=5))
    service = Service(settings.model_copy(update={"db_url": pg_url}))
    try:
        ds = service.datasets.create("p", dataset_body("pets", "obs://data/pets/",
                                                       "obs://data/w/"))
        assert (ds["total_sample_count"], ds["annotated_sample_count"]) == (16, 15)
        again = service.datasets.import_("p", "pets", {"import_path": "obs://data/pets/"})
        assert again["imported_sample_count"] == 0  # the same sources, one record each
        v = service.datasets.create_version("p", "pets", {"train_evaluate_sample_ratio": 0.8})
        assert (v["train_sample_count"], v["eval_sample_count"]) == (12, 3)
        with pytest.raises(Conflict):
            service.datasets.create_version("p", "pets", {"version_name": v["version_name"]})
        assert service.datasets.stats("p", "pets")["sample_stats"]["un_annotation"] == 1
    finally:
        service.close()
