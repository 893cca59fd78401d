"""Hyperparameters: the four types with coercion (S3.4), constraints (S3.6), defaults (S3.5)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.spec import Constraint, Parameter, ParamType, SpecError, parse_algorithm
from modelyard.spec.parameters import ValidType, coerce, render
from spec.builders import algorithm_doc, expect_error, param, quick

BOOL, INT, FLT, STR = ParamType.BOOLEAN, ParamType.INTEGER, ParamType.FLOAT, ParamType.STRING


# --- coercion (S3.4) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_", "expected"),
    [("true", True), ("false", False), ("True", True), ("False", False), ("1", True),
     ("0", False), ("TRUE", True), (" true ", True), (True, True), (False, False),
     (1, True), (0, False)],
)
def test_boolean_accepts(given_: Any, expected: bool) -> None:
    out = coerce(given_, BOOL, "value")
    assert out is expected


@pytest.mark.parametrize("bad", ["yes", "no", "on", "", "2", "tru", 2, -1, 1.0, 0.5, None, []])
def test_boolean_refuses(bad: Any) -> None:
    expect_error(lambda: coerce(bad, BOOL, "value"), "value", bad,
                 "true, false, True, False, 1 or 0", "(seed S3.4)")


def test_booleans_render_as_python_literals() -> None:
    assert render(True) == "True"
    assert render(False) == "False"
    assert render(coerce("true", BOOL, "v")) == "True"
    assert render(coerce("0", BOOL, "v")) == "False"


@pytest.mark.parametrize(
    ("given_", "expected"),
    [(3, 3), ("3", 3), (" 42 ", 42), ("-7", -7), (2.0, 2), (0, 0), (10**20, 10**20)],
)
def test_integer_accepts(given_: Any, expected: int) -> None:
    out = coerce(given_, INT, "value")
    assert out == expected
    assert type(out) is int


@pytest.mark.parametrize(
    "bad", [1.5, "1.5", "abc", "", "1e3", True, False, None, float("nan"), float("inf"), [1]]
)
def test_integer_refuses(bad: Any) -> None:
    expect_error(lambda: coerce(bad, INT, "value"), "value", bad, "whole number", "(seed S3.4)")


@pytest.mark.parametrize(
    ("given_", "expected"),
    [(0.1, 0.1), ("0.1", 0.1), (1, 1.0), ("3", 3.0), ("1e-3", 0.001), (" -2.5 ", -2.5),
     (1e308, 1e308)],
)
def test_float_accepts(given_: Any, expected: float) -> None:
    out = coerce(given_, FLT, "value")
    assert out == expected
    assert type(out) is float


@pytest.mark.parametrize(
    "bad",
    ["nan", "NaN", "inf", "-inf", "Infinity", float("nan"), float("inf"), float("-inf"),
     10**400, "1e999", "abc", "", True, None, [0.1]],
)
def test_float_refuses(bad: Any) -> None:
    expect_error(lambda: coerce(bad, FLT, "value"), "value", bad, "finite number",
                 "(seed S3.4)")


@pytest.mark.parametrize(
    ("given_", "expected"), [("adam", "adam"), (1, "1"), (0.5, "0.5"), (True, "True"), ("", "")]
)
def test_string_accepts(given_: Any, expected: str) -> None:
    assert coerce(given_, STR, "value") == expected


@pytest.mark.parametrize("bad", [None, [1], {"a": 1}])
def test_string_refuses(bad: Any) -> None:
    expect_error(lambda: coerce(bad, STR, "value"), "value", bad, "a String is text")


# --- coercion properties -----------------------------------------------------------------


@quick
@given(st.integers())
def test_integer_round_trip(n: int) -> None:
    assert coerce(render(n), INT, "v") == n
    assert coerce(n, INT, "v") == n
    assert coerce(str(n), FLT, "v") == float(n)


@quick
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_round_trip(x: float) -> None:
    out = coerce(render(x), FLT, "v")
    assert out == x
    assert coerce(render(out), FLT, "v") == out


@quick
@given(st.booleans(), st.sampled_from([str, lambda b: str(b).lower(), int, lambda b: b]))
def test_boolean_round_trip(b: bool, spell: Any) -> None:
    assert coerce(spell(b), BOOL, "v") is b
    assert render(coerce(spell(b), BOOL, "v")) == str(b)


@quick
@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()))
def test_fractions_are_not_integers(x: float) -> None:
    with pytest.raises(SpecError):
        coerce(x, INT, "v")
    with pytest.raises(SpecError):
        coerce(repr(x), INT, "v")


@quick
@given(st.text(max_size=20))
def test_coercion_never_raises_anything_but_spec_error(text: str) -> None:
    for kind in ParamType:
        try:
            out = coerce(text, kind, "v")
        except SpecError as err:
            assert err.field == "v"
        else:
            if kind is FLT:
                assert math.isfinite(out)  # type: ignore[arg-type]


# --- types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [("String", STR), ("Integer", INT), ("Float", FLT), ("Boolean", BOOL), ("integer", INT),
     ("FLOAT", FLT), ("int", INT), ("bool", BOOL), ("str", STR), ("float", FLT)],
)
def test_type_spellings(spelling: str, kind: ParamType) -> None:
    assert Constraint(type=spelling).type is kind  # type: ignore[arg-type]


def test_type_defaults_to_string() -> None:
    assert Constraint().type is STR


@pytest.mark.parametrize("bad", ["Double", "list", "", "number"])
def test_unknown_type(bad: str) -> None:
    doc = algorithm_doc(parameters=[param("lr", None, bad)])
    expect_error(lambda: parse_algorithm(doc), "job_config.parameters[0].constraint.type", bad,
                 "String, Integer, Float, Boolean", "(seed S3.4)")


def test_unknown_constraint_key() -> None:
    doc = algorithm_doc(parameters=[param("lr", None, "Float", minimum=0)])
    expect_error(lambda: parse_algorithm(doc), "job_config.parameters[0].constraint.minimum",
                 0, "unknown field")


# --- constraints (S3.6) ----------------------------------------------------------------


def test_range_accepts_its_bounds_and_refuses_beyond() -> None:
    c = Constraint(type=INT, valid_type=ValidType.RANGE, valid_range=[1, 10])
    assert c.check(1, "v") == 1
    assert c.check("10", "v") == 10
    expect_error(lambda: c.check(0, "v"), "v", 0, "[1, 10]", "(seed S3.6)")
    expect_error(lambda: c.check("11", "v"), "v", "11", "[1, 10]", "(seed S3.6)")
    expect_error(lambda: c.check("abc", "v"), "v", "abc", "whole number")


def test_float_range_coerces_bounds() -> None:
    c = Constraint(type=FLT, valid_type="Range", valid_range=["0", 1])  # type: ignore[arg-type]
    assert c.valid_range == [0.0, 1.0]
    assert c.check("0.5", "v") == 0.5
    expect_error(lambda: c.check(1.0001, "v"), "v", 1.0001, "must lie in [0.0, 1.0]")
    expect_error(lambda: c.check(-0.1, "v"), "v", -0.1, "(seed S3.6)")


@pytest.mark.parametrize("spelling", ["Range", "range", "RANGE"])
def test_valid_type_spellings(spelling: str) -> None:
    c = Constraint(type=INT, valid_type=spelling, valid_range=[1, 2])  # type: ignore[arg-type]
    assert c.valid_type is ValidType.RANGE


def test_valid_type_none_means_no_constraint() -> None:
    assert Constraint(valid_type=None).valid_type is ValidType.NONE  # type: ignore[arg-type]
    c = Constraint(type=INT, valid_type="None", valid_range=[1, 2])  # type: ignore[arg-type]
    assert c.check(100, "v") == 100


@pytest.mark.parametrize(
    ("constraint", "field", "value", "phrase"),
    [
        ({"valid_type": "Between"}, "valid_type", "Between", "None, Range, Enum"),
        ({"type": "String", "valid_type": "Range", "valid_range": ["a", "b"]},
         "valid_type", "Range", "Integer and Float only"),
        ({"type": "Boolean", "valid_type": "Range", "valid_range": [0, 1]},
         "valid_type", "Range", "Integer and Float only"),
        ({"type": "Integer", "valid_type": "Range", "valid_range": [1]},
         "valid_range", [1], "[minimum, maximum]"),
        ({"type": "Integer", "valid_type": "Range", "valid_range": [1, 2, 3]},
         "valid_range", [1, 2, 3], "[minimum, maximum]"),
        ({"type": "Integer", "valid_type": "Range"}, "valid_range", [], "[minimum, maximum]"),
        ({"type": "Integer", "valid_type": "Range", "valid_range": [10, 1]},
         "valid_range", [10, 1], "not above its maximum"),
        ({"type": "Integer", "valid_type": "Range", "valid_range": [0.5, 10]},
         "valid_range[0]", 0.5, "whole number"),
        ({"type": "Float", "valid_type": "Range", "valid_range": [0, "inf"]},
         "valid_range[1]", "inf", "finite number"),
        ({"type": "String", "valid_type": "Enum", "valid_range": []},
         "valid_range", [], "at least one value"),
        ({"type": "Integer", "valid_type": "Enum", "valid_range": [1, "x"]},
         "valid_range[1]", "x", "whole number"),
    ],
)
def test_malformed_constraints(
    constraint: dict[str, Any], field: str, value: Any, phrase: str
) -> None:
    doc = algorithm_doc(parameters=[{"name": "p", "constraint": constraint}])
    expect_error(lambda: parse_algorithm(doc), f"job_config.parameters[0].constraint.{field}",
                 value, phrase, "(seed S3.")


def test_enum() -> None:
    c = Constraint(type=STR, valid_type=ValidType.ENUM, valid_range=["adam", "sgd"])
    assert c.check("sgd", "v") == "sgd"
    expect_error(lambda: c.check("rmsprop", "v"), "v", "rmsprop", "one of: adam, sgd",
                 "(seed S3.6)")
    expect_error(lambda: c.check("Adam", "v"), "v", "Adam", "one of")


def test_enum_values_are_coerced() -> None:
    c = Constraint(type=INT, valid_type="Enum", valid_range=["16", 32, 64.0])  # type: ignore[arg-type]
    assert c.valid_range == [16, 32, 64]
    assert c.check("32", "v") == 32
    expect_error(lambda: c.check(48, "v"), "v", 48, "one of: 16, 32, 64")
    b = Constraint(type=BOOL, valid_type="Enum", valid_range=["true"])  # type: ignore[arg-type]
    assert b.check(1, "v") is True
    expect_error(lambda: b.check("false", "v"), "v", "false", "one of: True")


@quick
@given(lo=st.integers(-100, 100), width=st.integers(0, 50), value=st.integers(-200, 200))
def test_integer_range_property(lo: int, width: int, value: int) -> None:
    c = Constraint(type=INT, valid_type=ValidType.RANGE, valid_range=[lo, lo + width])
    if lo <= value <= lo + width:
        assert c.check(str(value), "v") == value
    else:
        with pytest.raises(SpecError, match=r"seed S3\.6"):
            c.check(str(value), "v")


# --- parameters and their defaults (S3.3, S3.5) ------------------------------------------


def test_parameter_defaults_are_coerced() -> None:
    assert Parameter(name="lr", value="0.1", constraint=Constraint(type=FLT)).value == 0.1
    assert Parameter(name="amp", value="true", constraint=Constraint(type=BOOL)).value is True
    assert Parameter(name="n", value="5", constraint=Constraint(type=INT)).value == 5
    assert Parameter(name="s", value=5).value == "5"


def test_empty_default_means_no_default_for_typed_parameters() -> None:
    assert Parameter(name="n", value="", constraint=Constraint(type=INT)).value is None
    assert Parameter(name="s", value="").value == ""


@pytest.mark.parametrize(
    ("definition", "value", "phrase"),
    [
        (param("epochs", 0, "Integer", valid_type="Range", valid_range=[1, 100]), 0,
         "must lie in [1, 100]"),
        (param("lr", "2", "Float", valid_type="Range", valid_range=[0, 1]), "2",
         "must lie in [0.0, 1.0]"),
        (param("opt", "rmsprop", "String", valid_type="Enum", valid_range=["adam", "sgd"]),
         "rmsprop", "one of: adam, sgd"),
        (param("bs", "abc", "Integer"), "abc", "whole number"),
        (param("bs", 1.5, "Integer"), 1.5, "whole number"),
        (param("lr", "nan", "Float"), "nan", "finite number"),
        (param("amp", "yes", "Boolean"), "yes", "true, false, True, False, 1 or 0"),
    ],
)
def test_defaults_must_obey_their_own_constraint(
    definition: dict[str, Any], value: Any, phrase: str
) -> None:
    doc = algorithm_doc(parameters=[param("ok", "x"), definition])
    expect_error(lambda: parse_algorithm(doc), "job_config.parameters[1].value", value, phrase)


@pytest.mark.parametrize("name", ["learning rate", "lr!", "x" * 65, ""])
def test_parameter_names(name: str) -> None:
    doc = algorithm_doc(parameters=[param(name)])
    expect_error(lambda: parse_algorithm(doc), "job_config.parameters[0].name", name,
                 "(seed S3.3)")


def test_parameter_name_is_required() -> None:
    doc = algorithm_doc(parameters=[{"value": "1"}])
    expect_error(lambda: parse_algorithm(doc), "job_config.parameters[0].name", None, "required")


def test_required_without_default_is_a_valid_definition() -> None:
    doc = algorithm_doc(parameters=[param("epochs", None, "Integer", required=True)])
    p = parse_algorithm(doc).job_config.parameters[0]
    assert p.value is None
    assert p.constraint.required
