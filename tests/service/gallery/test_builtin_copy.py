"""The gallery's built-in digits asset ships inside the package (package data cannot point
outside it), so it is a copy of examples/digits/code: this keeps the two from drifting."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_builtin_digits_code_is_the_examples_code() -> None:
    packaged = ROOT / "src/modelyard/service/gallery/builtin/digits/code/train.py"
    example = ROOT / "examples/digits/code/train.py"
    assert packaged.read_bytes() == example.read_bytes()
