"""Loading algorithms and jobs from YAML or JSON files, or from plain dicts (API bodies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from modelyard.spec.algorithm import Algorithm
from modelyard.spec.errors import SpecError, from_pydantic
from modelyard.spec.job import TrainingJob
from modelyard.spec.limits import check_document

M = TypeVar("M", bound=BaseModel)


def read_document(path: str | Path) -> dict[str, Any]:
    """Reads a YAML or JSON file (JSON is YAML, but its errors read better as JSON)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError("file", str(p), f"cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SpecError("file", str(p), "is not UTF-8 text") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError("file", str(p), f"is not valid {p.suffix.lstrip('.') or 'YAML'}: {exc}")\
            from None
    if not isinstance(data, dict):
        raise SpecError("file", str(p), "must hold a mapping at the top level")
    return data


def parse(model: type[M], data: Any) -> M:
    """Validates ``data`` into ``model``; the first broken rule becomes one SpecError."""
    check_document(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc) from None


def parse_algorithm(data: Any) -> Algorithm:
    return parse(Algorithm, data)


def parse_job(data: Any) -> TrainingJob:
    return parse(TrainingJob, data)


def load_algorithm(path: str | Path) -> Algorithm:
    return parse_algorithm(read_document(path))


def load_job(path: str | Path) -> TrainingJob:
    return parse_job(read_document(path))
