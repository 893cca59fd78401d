"""Hyperparameters: the four types of seed S3.4 with coercion, and constraints (S3.6)."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelyard.spec.errors import SpecError
from modelyard.spec.fields import Description, Name

Value = str | int | float | bool


class ParamType(StrEnum):
    STRING = "String"
    INTEGER = "Integer"
    FLOAT = "Float"
    BOOLEAN = "Boolean"


class ValidType(StrEnum):
    NONE = "None"
    RANGE = "Range"
    ENUM = "Enum"


_TRUE = {"true", "True", "1", "TRUE"}
_FALSE = {"false", "False", "0", "FALSE"}
_TYPE_ALIASES = {t.value.lower(): t for t in ParamType} | {
    "str": ParamType.STRING, "int": ParamType.INTEGER, "float": ParamType.FLOAT,
    "bool": ParamType.BOOLEAN,
}


_INTEGER_RULE = "an Integer is a whole number, e.g. 3 (seed S3.4)"
_FLOAT_RULE = "a Float is a finite number, e.g. 0.01 (not nan or inf) (seed S3.4)"


def coerce(value: Any, kind: ParamType, field: str) -> Value:
    """Converts a user-given value to its type; raises SpecError naming the rule."""
    if kind is ParamType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip() in _TRUE | _FALSE:
            return value.strip() in _TRUE
        raise SpecError(field, value, "a Boolean is true, false, True, False, 1 or 0 (seed S3.4)")
    if kind is ParamType.INTEGER:
        if isinstance(value, bool):
            raise SpecError(field, value, _INTEGER_RULE)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise SpecError(field, value, _INTEGER_RULE)
    if kind is ParamType.FLOAT:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise SpecError(field, value, _FLOAT_RULE)
        try:
            out = float(value)
        except (ValueError, OverflowError):  # OverflowError: an int beyond float range
            raise SpecError(field, value, _FLOAT_RULE) from None
        if not math.isfinite(out):
            raise SpecError(field, value, _FLOAT_RULE)
        return out
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str | int | float):
        return str(value)
    raise SpecError(field, value, "a String is text (seed S3.4)")


def render(value: Value) -> str:
    """How a value appears on the command line: Booleans as True/False (docs/contract.md)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


class Constraint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ParamType = ParamType.STRING
    editable: bool = True
    required: bool = False
    sensitive: bool = False
    valid_type: ValidType = ValidType.NONE
    valid_range: list[Value] = Field(default_factory=list)

    @field_validator("type", mode="before")
    @classmethod
    def _type_alias(cls, v: Any) -> Any:
        if isinstance(v, str) and v.lower() in _TYPE_ALIASES:
            return _TYPE_ALIASES[v.lower()]
        if isinstance(v, str):
            raise SpecError("", v, "the type is one of String, Integer, Float, Boolean (seed S3.4)")
        return v

    @field_validator("valid_type", mode="before")
    @classmethod
    def _valid_type(cls, v: Any) -> Any:
        if v is None:
            return ValidType.NONE
        if isinstance(v, str):
            for t in ValidType:
                if v.lower() == t.value.lower():
                    return t
            raise SpecError("", v, "valid_type is one of None, Range, Enum (seed S3.6)")
        return v

    @model_validator(mode="after")
    def _range_shape(self) -> Constraint:
        if self.valid_type is ValidType.RANGE:
            if self.type not in (ParamType.INTEGER, ParamType.FLOAT):
                raise SpecError(
                    "valid_type", "Range",
                    "a Range constraint applies to Integer and Float only (seed S3.6)",
                )
            if len(self.valid_range) != 2:
                raise SpecError(
                    "valid_range", self.valid_range,
                    "a Range constraint is [minimum, maximum] (seed S3.6)",
                )
            lo, hi = (coerce(v, self.type, f"valid_range[{i}]") for i, v in
                      enumerate(self.valid_range))
            assert isinstance(lo, int | float) and isinstance(hi, int | float)
            if lo > hi:
                raise SpecError(
                    "valid_range", self.valid_range,
                    "the minimum of a Range is not above its maximum (seed S3.6)",
                )
            self.valid_range = [lo, hi]
        elif self.valid_type is ValidType.ENUM:
            if not self.valid_range:
                raise SpecError(
                    "valid_range", [], "an Enum constraint lists at least one value (seed S3.6)"
                )
            self.valid_range = [
                coerce(v, self.type, f"valid_range[{i}]") for i, v in enumerate(self.valid_range)
            ]
        return self

    def check(self, value: Value, field: str) -> Value:
        """Coerces ``value`` and checks it against the range or enumeration."""
        typed = coerce(value, self.type, field)
        if self.valid_type is ValidType.RANGE:
            lo, hi = self.valid_range
            assert isinstance(typed, int | float)
            if not (lo <= typed <= hi):  # type: ignore[operator]
                raise SpecError(field, value, f"the value must lie in [{lo}, {hi}] (seed S3.6)")
        elif self.valid_type is ValidType.ENUM and typed not in self.valid_range:
            allowed = ", ".join(render(v) for v in self.valid_range)
            raise SpecError(field, value, f"the value must be one of: {allowed} (seed S3.6)")
        return typed


class Parameter(BaseModel):
    """A hyperparameter defined on an algorithm (seed S3)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    value: Value | None = None
    description: Description = None
    i18n_description: list[dict[str, Any]] | None = None
    constraint: Constraint = Field(default_factory=Constraint)

    @model_validator(mode="after")
    def _default_obeys_constraint(self) -> Parameter:
        if self.value is not None and self.value != "":
            self.value = self.constraint.check(self.value, "value")
        elif self.value == "" and self.constraint.type is not ParamType.STRING:
            self.value = None
        return self


class ParameterValue(BaseModel):
    """A value a job sets for a hyperparameter (``{"name": ..., "value": ...}``)."""

    model_config = ConfigDict(extra="ignore")

    name: Name
    value: Value | None = None
    description: str | None = None
    constraint: Constraint | None = None
