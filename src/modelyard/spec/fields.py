"""Field types shared by the spec models: a name, a description, a code directory and a set of
environment variables follow the same rule wherever they appear, so each rule is attached to
its type once here instead of as a validator repeated in every model.

The validators pass an empty field name: pydantic adds the field's own location, and
``errors.from_pydantic`` turns it into the SpecError's ``field``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from modelyard.spec.names import (
    check_description,
    check_environments,
    check_name,
    normalize_environments,
)
from modelyard.spec.paths import parse_location


def _name(value: Any) -> str:
    return check_name(value, "")


def _description(value: str | None) -> str | None:
    return check_description(value, "")


def _code_dir(value: str | None) -> str | None:
    """A storage location, normalized to a directory URL (a trailing ``/``)."""
    return None if value is None else parse_location(value, "").as_dir().url


def _environments(value: Any) -> dict[str, str]:
    return check_environments(normalize_environments(value, ""), "")


Name = Annotated[str, BeforeValidator(_name)]
"""1-64 letters, digits, '_' and '-' (seed S3.3); checked before any type coercion."""

Description = Annotated[str | None, AfterValidator(_description)]
"""At most 256 characters of letters, digits, spaces and a few marks (seed S3.8)."""

CodeDir = Annotated[str | None, AfterValidator(_code_dir)]
"""A code directory: a storage location the job's code is read from (seed S2.1)."""

Environments = Annotated[dict[str, str], BeforeValidator(_environments)]
"""User environment variables: a mapping or ModelArts' list of {key, value} (docs/contract.md)."""
