"""YAML text read the way the CLI and the SDK read a file, for the console.

``loader.read_document`` reads YAML with PyYAML's ``safe_load`` (YAML 1.1: ``yes`` and ``on``
are booleans, ``010`` is octal, ``0x1F`` hexadecimal, ``1_000`` a thousand, and ``1e5`` a
string). The console sends its YAML here instead of parsing it itself, so one algorithm file
means one thing wherever it is read. The result is the JSON value the CLI would send; what has
no JSON form (dates, ``.inf``, binary) is refused naming where it is, never guessed.

YAML aliases may refer to one node many times (or to itself): the walk counts every visit and
stops at ``MAX_NODES``, so a small hostile text cannot expand into a huge answer.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from modelyard.spec.errors import SpecError
from modelyard.spec.limits import MAX_DEPTH, MAX_STRING, check_document

MAX_NODES = 100_000
"""Values (mappings, lists, scalars) one text may expand to, counting each alias use."""


class YamlText(BaseModel):
    """The body of ``POST /v2/{project_id}/yaml/parse``."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description=f"YAML text, at most {MAX_STRING} characters")


def parse_yaml_text(text: str, field: str = "text") -> Any:
    """``yaml.safe_load(text)`` as a JSON value; syntax errors name the line and column."""
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise SpecError(field, _line_at(text, exc), f"not valid YAML: {_describe(exc)}") from None
    except yaml.YAMLError as exc:
        raise SpecError(field, None, f"not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise SpecError(field, None, f"a document nests at most {MAX_DEPTH} levels "
                        "deep") from None
    value = _json_value(data, field, 0, [MAX_NODES])
    check_document(value, field)
    return value


def _line_at(text: str, exc: yaml.MarkedYAMLError) -> str | None:
    """The line the error points at, as the user wrote it (shortened)."""
    mark = exc.problem_mark
    if mark is None:
        return None
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    return line if len(line) <= 80 else line[:77] + "..."


def _describe(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    context = f"{exc.context}: " if exc.context else ""
    return f"{context}{exc.problem or 'cannot be read'}{where}"


def _json_value(value: Any, where: str, depth: int, budget: list[int]) -> Any:
    """``value`` as JSON would carry it; ``budget`` holds the visits left (shared)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(where, None, f"the document expands to more than {MAX_NODES} values "
                        "(YAML aliases count each time they are used)")
    if depth > MAX_DEPTH:
        raise SpecError(where, None, f"a document nests at most {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(where, str(value), "has no JSON form (.inf and .nan are not JSON "
                            "numbers); quote it to keep it as text")
        return value
    if isinstance(value, list):
        return [_json_value(item, f"{where}[{i}]", depth + 1, budget)
                for i, item in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = _json_key(key, where)
            out[name] = _json_value(item, f"{where}.{name}", depth + 1, budget)
        return out
    raise SpecError(where, str(value), f"a {type(value).__name__} has no JSON form; quote it "
                    "to keep it as text")


def _json_key(key: Any, where: str) -> str:
    """Keys as ``json.dumps`` writes them (what the CLI sends): ``on:`` is the key "true"."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return {None: "null", True: "true", False: "false"}[key]
    if isinstance(key, int) or (isinstance(key, float) and math.isfinite(key)):
        return repr(key)
    raise SpecError(where, str(key), f"a {type(key).__name__} key has no JSON form; quote it")
