"""The shapes IdentityService returns (users, projects, roles, keys, session tokens).

TypedDicts, as in ``service/records.py``. Only ``NewAccessKey`` carries a secret: the SK
is shown once, when the key is made (``modelyard admin key create``), and stored only
encrypted; every listing shows access keys alone.
"""

from __future__ import annotations

from typing_extensions import TypedDict


class NewUser(TypedDict):
    id: str
    name: str
    is_admin: bool


class UserRecord(TypedDict):
    name: str
    is_admin: bool
    roles: dict[str, str]  # project -> role
    access_keys: list[str]  # the user's keys that are not revoked


class NewProject(TypedDict):
    id: str


class ProjectRecord(TypedDict):
    id: str
    members: dict[str, str]  # user name -> role


class RoleGrant(TypedDict):
    user: str
    project: str
    role: str


class NewAccessKey(TypedDict):
    access_key: str
    secret_key: str


class AccessKeyRecord(TypedDict):
    access_key: str
    user: str
    created_at: float
    revoked: bool


class SessionToken(TypedDict):
    token: str
    expires_at: int  # milliseconds since the epoch
