"""YAML text read as the CLI reads a file (``yaml.safe_load``), as the JSON the CLI would
send; what has no JSON form, and texts that expand without bound, are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelyard.spec.errors import SpecError
from modelyard.spec.yaml_text import MAX_NODES, parse_yaml_text

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"

# The values where a YAML 1.2 parser and PyYAML (YAML 1.1) disagree (issue 21).
YAML_1_1 = "a: yes\nb: on\nc: 1e5\nd: 0x1F\ne: 1_000\nf: 010\ng: off\nh: 1.5e+3\ni: NO\n"


def test_yaml_1_1_values_are_read_as_pyyaml_reads_them() -> None:
    assert parse_yaml_text(YAML_1_1) == yaml.safe_load(YAML_1_1) == {
        "a": True, "b": True, "c": "1e5", "d": 31, "e": 1000, "f": 8, "g": False,
        "h": 1500.0, "i": False}


def test_an_algorithm_file_is_read_as_the_cli_reads_it() -> None:
    text = (DIGITS / "algorithm.yaml").read_text()
    assert parse_yaml_text(text) == yaml.safe_load(text)


def test_keys_become_what_json_makes_of_them() -> None:
    assert parse_yaml_text("on: 1\n2: b\n1.5: c\n~: d\n") == {
        "true": 1, "2": "b", "1.5": "c", "null": "d"}


def test_syntax_errors_name_the_line_and_column() -> None:
    with pytest.raises(SpecError) as bad:
        parse_yaml_text("name: ok\nb: c: d\n")
    assert bad.value.field == "text" and bad.value.value == "b: c: d"
    assert "not valid YAML: mapping values are not allowed here (line 2, column 5)" \
        in bad.value.rule


@pytest.mark.parametrize(("text", "field", "rule"), [
    ("when: 2024-01-01\n", "text.when", "a date has no JSON form"),
    ("lr: .inf\n", "text.lr", ".inf and .nan are not JSON numbers"),
    ("blob: !!binary aGVsbG8=\n", "text.blob", "a bytes has no JSON form"),
    ("a: \"\\x01\"\n", "text.a", "control character"),
    ("? [1, 2]\n: x\n", "text", "found unhashable key"),
])
def test_values_without_a_json_form_are_refused_naming_where(text: str, field: str,
                                                              rule: str) -> None:
    with pytest.raises(SpecError) as bad:
        parse_yaml_text(text)
    assert bad.value.field == field and rule in bad.value.rule


def test_alias_bombs_and_cycles_stop() -> None:
    rows = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, name in zip("abcde", "bcdef", strict=True):
        rows.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    with pytest.raises(SpecError) as bomb:
        parse_yaml_text("\n".join(rows))
    assert f"more than {MAX_NODES} values" in bomb.value.rule
    with pytest.raises(SpecError) as cycle:
        parse_yaml_text("a: &x [*x]\n")
    assert "nests at most 32 levels" in cycle.value.rule
    with pytest.raises(SpecError) as deep:
        parse_yaml_text("[" * 5000)
    assert "nests at most 32 levels" in deep.value.rule
