"""SpecError: one shape for every broken rule (field, value, rule)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from modelyard.spec import SpecError
from modelyard.spec.errors import from_pydantic


def test_message_names_field_value_and_rule() -> None:
    err = SpecError("job_config.parameters[2].name", "learning rate", "a rule (seed S3.3)")
    assert err.message == (
        "job_config.parameters[2].name: 'learning rate' is not allowed: a rule (seed S3.3)"
    )
    assert str(err) == err.message
    assert isinstance(err, ValueError)


def test_long_values_are_shortened_in_the_message_only() -> None:
    err = SpecError("description", "x" * 1000, "too long")
    assert len(err.message) < 300
    assert "x... is not allowed: too long" in err.message
    assert err.value == "x" * 1000


def test_to_dict_is_json_friendly() -> None:
    assert SpecError("a", 3, "r").to_dict() == {"field": "a", "value": 3, "rule": "r"}
    assert SpecError("a", [1], "r").to_dict() == {"field": "a", "value": "[1]", "rule": "r"}
    assert SpecError("a", None, "r").to_dict()["value"] is None


class _Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str

    @field_validator("name")
    @classmethod
    def _check(cls, v: str) -> str:
        if v == "bad":
            raise SpecError("", v, "bad rule")
        if v == "deep":
            raise SpecError("[0].x", v, "deep rule")
        return v


class _Outer(BaseModel):
    items: list[_Inner]


def _error_of(data: object, prefix: str = "") -> SpecError:
    try:
        _Outer.model_validate(data)
    except Exception as exc:
        return from_pydantic(exc, prefix)
    raise AssertionError("no error")


def test_from_pydantic_keeps_our_rule_and_adds_the_location() -> None:
    err = _error_of({"items": [{"name": "ok"}, {"name": "bad"}]})
    assert (err.field, err.value, err.rule) == ("items[1].name", "bad", "bad rule")


def test_from_pydantic_joins_index_fields_without_a_dot() -> None:
    err = _error_of({"items": [{"name": "deep"}]}, "algorithm")
    assert err.field == "algorithm.items[0].name[0].x"


def test_from_pydantic_missing_field_has_no_value() -> None:
    err = _error_of({"items": [{}]}, "algorithm")
    assert (err.field, err.value, err.rule) == (
        "algorithm.items[0].name", None, "this field is required",
    )


def test_from_pydantic_unknown_field() -> None:
    err = _error_of({"items": [{"name": "a", "nmae": "b"}]})
    assert (err.field, err.value, err.rule) == ("items[0].nmae", "b", "unknown field")


def test_from_pydantic_other_exceptions() -> None:
    err = from_pydantic(RuntimeError("boom"), "job")
    assert (err.field, err.value, err.rule) == ("job", None, "boom")
