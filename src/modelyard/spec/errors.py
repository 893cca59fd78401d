"""One error type for every broken rule, so every client shows the same words.

A rule violation names the field (a dotted path as the user wrote it), the offending value and
the rule, e.g. ``job_config.parameters[2].name: 'learning rate' is not allowed: a
hyperparameter name has at most 64 characters of letters, digits, '_' and '-' (seed S3.3)``.
"""

from __future__ import annotations

from typing import Any


class SpecError(ValueError):
    """Raised for input that breaks a product rule."""

    def __init__(self, field: str, value: Any, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(self.message)

    @property
    def message(self) -> str:
        shown = repr(self.value)
        if len(shown) > 200:
            shown = shown[:197] + "..."
        return f"{self.field}: {shown} is not allowed: {self.rule}"

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": _jsonable(self.value), "rule": self.rule}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def from_pydantic(exc: Exception, prefix: str = "") -> SpecError:
    """Turns a pydantic ValidationError into a SpecError naming the first broken field.

    Our own validators raise ``SpecError`` inside pydantic; pydantic wraps it, so it is
    unwrapped here to keep the original field, value and rule.
    """
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return SpecError(prefix or "input", None, str(exc))
    err = exc.errors(include_url=False)[0]
    ctx_error = (err.get("ctx") or {}).get("error")
    loc = _loc(err.get("loc", ()))
    if isinstance(ctx_error, SpecError):
        # Our validators name the field relative to where pydantic found them.
        field = _join(loc, ctx_error.field) if ctx_error.field else loc
        return SpecError(_join(prefix, field or "input"), ctx_error.value, ctx_error.rule)
    msg = err.get("msg", "invalid")
    kind = err.get("type", "")
    value = err.get("input")
    if kind == "missing":
        # pydantic reports the enclosing object as the input; the field itself has none.
        msg, value = "this field is required", None
    elif kind == "extra_forbidden":
        msg = "unknown field"
    return SpecError(_join(prefix, loc or "input"), value, msg)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _join(prefix: str, field: str) -> str:
    if not prefix:
        return field
    if not field:
        return prefix
    return f"{prefix}.{field}" if not field.startswith("[") else f"{prefix}{field}"
