"""Name, description and environment-variable rules shared by algorithms and jobs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modelyard.spec.errors import SpecError

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NAME_RULE = "a name has 1-64 characters of letters, digits, '_' and '-' (seed S3.3)"
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DESCRIPTION_MAX = 256
_DESCRIPTION_EXTRA = set(" -_,.，。")
SECRET_WORDS = ("password", "passwd", "secret", "token", "credential")
SECRET_EXACT = {"ak", "sk", "access_key", "secret_key", "accesskey", "secretkey", "api_key"}
MAX_ENVIRONMENTS = 100
MAX_ENV_VALUE = 4096


def check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(field, name, NAME_RULE)
    return name


def check_description(text: str | None, field: str = "description") -> str | None:
    """Seed S3.8: letters (Chinese included), digits, spaces, '-', '_', and the Chinese and
    English comma and full stop only; at most 256 characters."""
    if text is None or text == "":
        return text
    if len(text) > DESCRIPTION_MAX:
        raise SpecError(field, text, f"a description has at most {DESCRIPTION_MAX} characters")
    for ch in text:
        if not (ch.isalpha() or ch.isdigit() or ch in _DESCRIPTION_EXTRA):
            raise SpecError(
                field,
                text,
                f"character {ch!r} is not allowed: a description may contain letters, digits, "
                "spaces, '-', '_', ',', '.', '，' and '。' only (seed S3.8)",
            )
    return text


def looks_secret(name: str) -> bool:
    """Seed S3.9: names that suggest a credential is being passed as a hyperparameter."""
    low = name.lower()
    return low in SECRET_EXACT or any(word in low for word in SECRET_WORDS) or bool(
        re.search(r"(^|[_-])(ak|sk)($|[_-])", low)
    )


def check_environments(envs: Mapping[str, Any], field: str = "environments") -> dict[str, str]:
    """CONTRACT.md: at most 100 variables, names [A-Za-z_][A-Za-z0-9_]* not starting with MA_,
    values of at most 4096 characters without '$' references."""
    if len(envs) > MAX_ENVIRONMENTS:
        raise SpecError(field, len(envs), f"at most {MAX_ENVIRONMENTS} environment variables")
    out: dict[str, str] = {}
    for key, value in envs.items():
        if not isinstance(key, str) or not ENV_NAME_RE.match(key):
            raise SpecError(
                f"{field}.{key}", key, "a variable name matches [A-Za-z_][A-Za-z0-9_]*"
            )
        if key.upper().startswith("MA_"):
            raise SpecError(f"{field}.{key}", key, "names starting with MA_ are reserved")
        if isinstance(value, bool):
            text = "True" if value else "False"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            raise SpecError(f"{field}.{key}", value, "a value is a string")
        if len(text) > MAX_ENV_VALUE:
            raise SpecError(
                f"{field}.{key}", text, f"a value has at most {MAX_ENV_VALUE} characters"
            )
        if "$" in text:
            raise SpecError(f"{field}.{key}", text, "a value may not reference variables ('$')")
        out[key] = text
    return out


def normalize_environments(value: Any) -> dict[str, Any]:
    """ModelArts sends a map, or a list of one-entry maps; both become one dict."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in value:
            if not isinstance(item, Mapping):
                raise SpecError("environments", item, "each entry is a map of name to value")
            if set(item) == {"key", "value"}:
                merged[str(item["key"])] = item["value"]
            else:
                merged.update(item)
        return merged
    raise SpecError("environments", value, "a map of name to value")
