"""Algorithms in the service: stored validated, scoped per project, never half-written."""

from __future__ import annotations

from typing import Any

import pytest

from modelyard.service import Conflict, NotFound, Service
from modelyard.spec import SpecError


def algorithm(name: str = "digits", **config: Any) -> dict[str, Any]:
    job_config = {
        "code_dir": "obs://demo/code/",
        "boot_file": "train.py",
        "parameters": [{"name": "lr", "value": 0.1, "constraint": {"type": "Float"}}],
        "inputs": [{"name": "data_url"}],
        "outputs": [{"name": "train_url"}],
        **config,
    }
    return {"metadata": {"name": name}, "job_config": job_config}


def test_create_get_by_name_and_id(service: Service) -> None:
    record, warnings = service.algorithms.create("p1", algorithm())
    assert warnings == []
    ident = record["metadata"]["id"]
    assert service.algorithms.get("p1", "digits")["metadata"]["id"] == ident
    assert service.algorithms.get("p1", ident)["job_config"]["boot_file"] == "train.py"


def test_projects_are_separate(service: Service) -> None:
    service.algorithms.create("p1", algorithm())
    service.algorithms.create("p2", algorithm())  # same name, other project: fine
    with pytest.raises(NotFound):
        service.algorithms.get("p3", "digits")
    assert service.algorithms.list("p1")[1] == 1


def test_duplicate_name_is_a_conflict_naming_the_field(service: Service) -> None:
    service.algorithms.create("p1", algorithm())
    with pytest.raises(Conflict, match=r"metadata\.name: 'digits'.*exists"):
        service.algorithms.create("p1", algorithm())


def test_invalid_algorithm_stores_nothing(service: Service) -> None:
    bad = algorithm(parameters=[{"name": "learning rate", "value": 1}])
    with pytest.raises(SpecError) as err:
        service.algorithms.create("p1", bad)
    assert err.value.field == "job_config.parameters[0].name"
    assert service.algorithms.list("p1")[1] == 0


def test_secret_looking_name_is_a_warning(service: Service) -> None:
    _, warnings = service.algorithms.create(
        "p1", algorithm(parameters=[{"name": "db_password", "value": "x"}])
    )
    assert len(warnings) == 1 and "db_password" in warnings[0] and "S3.9" in warnings[0]


def test_update_revalidates_and_keeps_name(service: Service) -> None:
    service.algorithms.create("p1", algorithm())
    updated = service.algorithms.update(
        "p1", "digits", {"job_config": {**algorithm()["job_config"], "boot_file": "main.py"}}
    )
    assert updated["job_config"]["boot_file"] == "main.py"
    with pytest.raises(SpecError):
        service.algorithms.update(
            "p1", "digits", {"job_config": {**algorithm()["job_config"], "boot_file": "x.sh"}}
        )
    assert service.algorithms.get("p1", "digits")["job_config"]["boot_file"] == "main.py"


def test_delete(service: Service) -> None:
    service.algorithms.create("p1", algorithm())
    service.algorithms.delete("p1", "digits")
    with pytest.raises(NotFound):
        service.algorithms.get("p1", "digits")
