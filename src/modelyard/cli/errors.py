"""Bad input ends in one line and exit code 2, never a traceback."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from modelyard.cli.base import Group
from modelyard.cli.context import err_console
from modelyard.spec.errors import SpecError


class UserFacingError(Exception):
    """An error whose message is already what the user should read."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ErrorHandlingGroup(Group):
    """Every command runs inside this group's ``invoke``: one place turns errors into lines."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except SpecError as exc:
            fail(f"error: {exc.message}", 2)
        except UserFacingError as exc:
            fail(f"error: {exc}", exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:
            message = _service_error_message(exc)
            if message is not None:
                fail(f"error: {message}", 2)
            if os.environ.get("MODELYARD_DEBUG"):
                raise
            fail(f"internal error: {type(exc).__name__}: {exc} (set MODELYARD_DEBUG=1 for "
                 "details)", 1)


def _service_error_message(exc: Exception) -> str | None:
    """The message of a ServiceError, found without importing the service: ``modelyard.service``
    brings SQLAlchemy and the whole control plane (~1 s), which ``storage cp`` never needs. If
    ``modelyard.service.errors`` was never imported, nothing raised one of its errors."""
    module = sys.modules.get("modelyard.service.errors")
    if module is not None and isinstance(exc, module.ServiceError):
        return str(exc.message)
    return None


def fail(message: str, code: int) -> None:
    err_console().print(message, markup=False)
    sys.exit(code)
