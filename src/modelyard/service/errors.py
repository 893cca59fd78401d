"""Errors of the control plane. Validation errors are the spec layer's SpecError; these are
the rest (missing records, conflicts), each with a stable code for API clients."""

from __future__ import annotations


class ServiceError(Exception):
    code = "ModelYard.Error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    code = "ModelYard.NotFound"
    status = 404

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} not found")


class Conflict(ServiceError):
    code = "ModelYard.Conflict"
    status = 409


class Forbidden(ServiceError):
    """The caller may not do this: no (or too small a) role in the project, or the
    installation's policy refuses it (e.g. host paths)."""

    code = "ModelYard.Forbidden"
    status = 403
