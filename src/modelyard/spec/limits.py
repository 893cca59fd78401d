"""Limits on any submitted document (issue 14), checked before the models see it, so that a
hostile or broken body is a clear 400 at submit and never a crash later (a RecursionError, a
bwrap argument list too long, "embedded null byte" when the job starts, ``--lr=nan``).

Numbers are ModelArts' where it documents one (seed S3.8: descriptions of 256 characters,
checked by ``names.check_description``); otherwise ours, chosen far above real use.
"""

from __future__ import annotations

import math
import re
from typing import Any

from modelyard.spec.errors import SpecError

MAX_DEPTH = 32
"""Nesting of objects and arrays (ours; the deepest real spec nests 6)."""
MAX_HYPERPARAMETERS = 100
"""Hyperparameters of one algorithm or job (ours: each becomes one argv token)."""
MAX_PARAMETER_VALUE = 4096
"""Characters of one hyperparameter value (ours; like an environment variable's value)."""
MAX_ANNOTATIONS = 64
MAX_ANNOTATION_KEY = 128
MAX_ANNOTATION_VALUE = 1024
MAX_STRING = 64 * 1024
"""Characters of any other string (ours; a boot command, a URL)."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PARAMETER_LISTS = ("job_config.parameters", "algorithm.parameters")


def check_json_depth(raw: bytes, field: str = "body") -> None:
    """Refuses text that nests deeper than MAX_DEPTH *before* it is parsed (the parser
    would recurse once per level)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                raise SpecError(field, None, f"JSON nests at most {MAX_DEPTH} levels deep")
        elif byte in (0x5D, 0x7D):
            depth -= 1


def reject_constant(name: str) -> float:
    """``parse_constant`` for json.loads: NaN and Infinity are not JSON numbers."""
    raise SpecError("body", name, "NaN and Infinity are not allowed (not JSON numbers)")


def check_document(data: Any, field: str = "") -> None:
    """Walks a decoded document: depth, control characters, non-finite numbers, string
    lengths, and the counts and sizes of hyperparameters and annotations."""
    _walk(data, field, 0)


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _walk(value: Any, field: str, depth: int) -> None:
    where = field or "body"
    if depth > MAX_DEPTH:
        raise SpecError(where, None, f"a document nests at most {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        _check_string(value, where, MAX_STRING)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(where, value, "NaN and Infinity are not allowed")
    elif isinstance(value, dict):
        if field.endswith("annotations"):
            _check_annotations(value, where)
        for key, item in value.items():
            if not isinstance(key, str):
                raise SpecError(where, key, "object keys are strings")
            _check_string(key, f"{where} key", 256)
            _walk(item, f"{field}.{key}" if field else key, depth + 1)
    elif isinstance(value, list):
        if field.endswith(_PARAMETER_LISTS):
            _check_parameters(value, where)
        for i, item in enumerate(value):
            _walk(item, f"{where}[{i}]", depth + 1)


def _check_string(text: str, field: str, limit: int) -> None:
    bad = _CONTROL.search(text)
    if bad:
        raise SpecError(field, _short(text),
                        f"control character {bad.group()!r} (NUL and other control characters) "
                        "is not allowed")
    if len(text) > limit:
        raise SpecError(field, _short(text), f"at most {limit} characters")


def _check_parameters(items: list[Any], field: str) -> None:
    if len(items) > MAX_HYPERPARAMETERS:
        raise SpecError(field, f"{len(items)} hyperparameters",
                        f"at most {MAX_HYPERPARAMETERS} hyperparameters (ours)")
    for i, item in enumerate(items):
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, str) and len(value) > MAX_PARAMETER_VALUE:
            raise SpecError(f"{field}[{i}].value", _short(value),
                            f"a hyperparameter value has at most {MAX_PARAMETER_VALUE} "
                            "characters (ours)")


def _check_annotations(items: dict[str, Any], field: str) -> None:
    if len(items) > MAX_ANNOTATIONS:
        raise SpecError(field, f"{len(items)} annotations",
                        f"at most {MAX_ANNOTATIONS} annotations (ours)")
    for key, value in items.items():
        if isinstance(key, str) and len(key) > MAX_ANNOTATION_KEY:
            raise SpecError(f"{field}", _short(key),
                            f"an annotation key has at most {MAX_ANNOTATION_KEY} characters")
        if isinstance(value, str) and len(value) > MAX_ANNOTATION_VALUE:
            raise SpecError(f"{field}.{key}", _short(value),
                            f"an annotation value has at most {MAX_ANNOTATION_VALUE} "
                            "characters (ours)")
