"""The typer classes every ``modelyard`` command group and command is built from.

They differ from typer's in one thing: an absent ``--help`` flag has the value False instead
of None. typer (0.29) coerces every parameter value that is not already a bool through a
pydantic TypeAdapter, so with None, walking past ``modelyard`` and ``storage`` on the way to
print ``modelyard storage cp --help`` imported pydantic and built adapters: about 0.15 s of
that command's 0.45 s start. Help output and behaviour are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
import typer.core
from typer.models import CommandFunctionType


def _false_when_absent(option: Any) -> Any:
    if option is not None and option.default is None:
        option.default = False
    return option


class Group(typer.core.TyperGroup):
    def get_help_option(self, ctx: Any) -> Any:
        return _false_when_absent(super().get_help_option(ctx))


class Command(typer.core.TyperCommand):
    def get_help_option(self, ctx: Any) -> Any:
        return _false_when_absent(super().get_help_option(ctx))


class App(typer.Typer):
    """``typer.Typer`` whose group is a ``Group`` and whose commands are ``Command``s."""

    def __init__(self, *, cls: type[typer.core.TyperGroup] | None = Group,
                 **kwargs: Any) -> None:
        super().__init__(cls=cls, **kwargs)

    def command(self, name: str | None = None, *,
                cls: type[typer.core.TyperCommand] | None = Command, **kwargs: Any
                ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls, **kwargs)
