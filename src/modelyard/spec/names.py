"""Name, description and environment-variable rules shared by algorithms and jobs."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from modelyard.spec.errors import SpecError

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, so "lr\n" would pass.
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
NAME_RULE = "a name has 1-64 characters of letters, digits, '_' and '-' (seed S3.3)"
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
ENV_SOURCE = "(docs/contract.md environment variables)"
ENV_NAME_RULE = f"a variable name matches [A-Za-z_][A-Za-z0-9_]* {ENV_SOURCE}"
ENV_RESERVED_RULE = f"names starting with MA_ are reserved for the platform {ENV_SOURCE}"
DESCRIPTION_MAX = 256
_DESCRIPTION_EXTRA = set(" -_,.，。")
# Seed S3.9. Substrings that mean a credential wherever they appear in a name ...
SECRET_WORDS = ("password", "passwd", "secret", "credential")
# ... and whole words (split at '_', '-' and camelCase) that do: "access_token" and "obs_ak"
# look secret, "max_tokens", "tokenizer", "task" and "mask" do not.
SECRET_TOKENS = frozenset({"token", "pwd", "ak", "sk", "apikey", "accesskey", "secretkey"})
SECRET_PAIRS = frozenset({("access", "key"), ("secret", "key"), ("api", "key"),
                          ("private", "key")})
MAX_ENVIRONMENTS = 100
MAX_ENV_VALUE = 4096


def subfield(field: str, key: object) -> str:
    """``field.key``, or just ``key`` when ``field`` is empty (inside a pydantic validator,
    where the field's own location is added later)."""
    return f"{field}.{key}" if field else str(key)


def check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(field, name, NAME_RULE)
    return name


def check_env_name(name: Any, field: str = "name") -> str:
    """A name that becomes an environment variable (user variables, ``env`` channels)."""
    if not isinstance(name, str) or not ENV_NAME_RE.match(name):
        raise SpecError(field, name, ENV_NAME_RULE)
    if name.upper().startswith("MA_"):
        raise SpecError(field, name, ENV_RESERVED_RULE)
    return name


def check_description(text: str | None, field: str = "description") -> str | None:
    """Seed S3.8: letters (Chinese included), digits, spaces, '-', '_', and the Chinese and
    English comma and full stop only; at most 256 characters."""
    if text is None or text == "":
        return text
    if len(text) > DESCRIPTION_MAX:
        raise SpecError(
            field, text, f"a description has at most {DESCRIPTION_MAX} characters (seed S3.8)"
        )
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
    if any(word in low for word in SECRET_WORDS):
        return True
    words = [w.lower() for w in _WORD_RE.findall(name)]
    return any(w in SECRET_TOKENS for w in words) or any(
        pair in SECRET_PAIRS for pair in itertools.pairwise(words)
    )


_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def check_environments(envs: Mapping[str, Any], field: str = "environments") -> dict[str, str]:
    """docs/contract.md: at most 100 variables, names [A-Za-z_][A-Za-z0-9_]* not starting
    with MA_, values of at most 4096 characters without '$' references."""
    if len(envs) > MAX_ENVIRONMENTS:
        raise SpecError(
            field, len(envs),
            f"at most {MAX_ENVIRONMENTS} environment variables {ENV_SOURCE}",
        )
    out: dict[str, str] = {}
    for key, value in envs.items():
        where = subfield(field, key)
        check_env_name(key, where)
        if isinstance(value, bool):
            text = "True" if value else "False"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            raise SpecError(where, value, f"a value is a string {ENV_SOURCE}")
        if len(text) > MAX_ENV_VALUE:
            raise SpecError(
                where, text,
                f"a value has at most {MAX_ENV_VALUE} characters {ENV_SOURCE}",
            )
        if "$" in text:
            raise SpecError(
                where, text,
                f"a value may not reference variables ('$') {ENV_SOURCE}",
            )
        out[key] = text
    return out


def normalize_environments(value: Any, field: str = "environments") -> dict[str, Any]:
    """ModelArts sends a map, or a list of one-entry maps (or ``{"key": k, "value": v}``
    entries); all become one dict."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise SpecError(f"{field}[{i}]", item, "each entry is a map of name to value")
            if set(item) == {"key", "value"}:
                merged[str(item["key"])] = item["value"]
            else:
                merged.update(item)
        return merged
    raise SpecError(field, value, "a map of name to value")
