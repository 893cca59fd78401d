"""The gallery's request bodies (seed S1.1): publishing a version, subscribing to an asset.

``Publication`` is the official ``create_algorithm_version_to_gallery`` body
(``/gallery-algorithm-publication``); ``SubscriptionRequest`` is ours.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelyard.spec.errors import SpecError
from modelyard.spec.fields import Description

VERSION_NUM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
IDENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_ident(value: Any, field: str) -> str:
    """Ids are what we hand out (uuids, ``modelyard-digits``): short and path-safe."""
    if not isinstance(value, str) or not IDENT.fullmatch(value):
        raise SpecError(field, value, "an id has 1-64 characters of letters, digits, '_' and '-'")
    return value


class ContentInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version_num: str | None = None
    desc: Description = None

    @field_validator("version_num", mode="before")
    @classmethod
    def _version_num(cls, v: Any) -> str | None:
        if v is None:
            return None
        if not isinstance(v, str | int) or not VERSION_NUM.fullmatch(str(v)):
            raise SpecError("", v, "a version number has 1-32 characters of letters, digits, "
                            "'.', '_' and '-', starting with a letter or digit (e.g. 1.0.0)")
        return str(v)


class AlgorithmRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        if not isinstance(v, str) or not v or len(v) > 64:
            raise SpecError("", v, "names the algorithm to publish (its id or name, in this "
                            "project)")
        return v


class Publication(BaseModel):
    """Publish ``algorithm.id`` as a new asset (no ``content_id``) or as a new version of
    the asset ``content_id``."""

    model_config = ConfigDict(extra="ignore")

    content_id: str | None = None
    content_info: ContentInfo = Field(default_factory=ContentInfo)
    algorithm: AlgorithmRef

    @field_validator("content_id", mode="before")
    @classmethod
    def _content_id(cls, v: Any) -> str | None:
        return None if v is None or v == "" else check_ident(v, "")


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    content_id: str

    @field_validator("content_id", mode="before")
    @classmethod
    def _content_id(cls, v: Any) -> str:
        return check_ident(v, "")
