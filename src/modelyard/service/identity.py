"""Who is calling and what they may do: users, projects, roles, access keys, console tokens.

Modelled on ModelArts with IAM, kept small. A user holds AK/SK pairs and has one role per
project: ``viewer`` reads, ``member`` also creates, changes, stops and deletes, ``owner`` is
a member who owns the project (ours: owners have no extra endpoint yet; grants are the
installation admin's ``modelyard admin grant``). Admins act in every project. The keys of
``MODELYARD_API_KEYS`` / ``MODELYARD_API_KEYS_FILE`` are admins without a user row: they
bootstrap an installation.

Secrets at rest: HMAC verification needs the SK itself, so it cannot be stored as a one-way
hash. It is encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with an installation key kept in a
file outside the database (``installation.key`` in the home, mode 0600, or
``MODELYARD_INSTALLATION_KEY_FILE``): a copy of the database alone reveals no secret.

The caller of the current request lives in a context variable, set by the API per request,
so the service can record who did what without every method taking a caller argument.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from modelyard.service.errors import Conflict, Forbidden, NotFound
from modelyard.service.identity_records import (
    AccessKeyRecord,
    NewAccessKey,
    NewProject,
    NewUser,
    ProjectRecord,
    RoleGrant,
    SessionToken,
    UserRecord,
)
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.store.db import Database
from modelyard.store.identity_models import (
    AccessKeyRow,
    ProjectRow,
    RoleRow,
    SessionTokenRow,
    UserRow,
)

ROLES = ("viewer", "member", "owner")
RANK = {role: rank for rank, role in enumerate(ROLES)}
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PROJECT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN_HEADER = "X-Auth-Token"
ANY_USER = select(UserRow.id).limit(1)
"""Built once: asked on every request (``has_keys``), and a prebuilt statement skips
SQLAlchemy's per-statement cache lookup and result adaptation."""


@dataclass(frozen=True)
class Caller:
    """Who sent a request. ``user`` is a name for messages and events, never a secret."""

    user: str
    user_id: str | None = None
    access_key: str | None = None
    is_admin: bool = False
    session: bool = False
    """True when the request carried a session token rather than a signature."""

    @property
    def label(self) -> str:
        return f"{self.user} ({self.access_key})" if self.access_key else self.user


LOCAL = Caller("local user", is_admin=True)
"""Keyless mode: the one user of this machine, who may use any project."""

CURRENT_CALLER: ContextVar[Caller] = ContextVar("modelyard_caller", default=LOCAL)


def current_caller() -> Caller:
    return CURRENT_CALLER.get()


def _check_name(field: str, value: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise SpecError(field, value, f"must match {pattern.pattern}")
    return value


class IdentityService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._env_keys: dict[str, str] | None = None
        self._fernet: Any = None
        self._known_projects: set[str] = set()
        """Projects seen to exist. Projects are never deleted, so an admin's request (the
        keyless local user's: every request) skips the lookup once its project is known."""

    # ------------------------------------------------------------------ keys
    @property
    def env_keys(self) -> dict[str, str]:
        """The bootstrap keys from the settings (read once)."""
        if self._env_keys is None:
            self._env_keys = self.settings.api_key_map()
        return self._env_keys

    def has_keys(self) -> bool:
        """Whether requests must prove who sent them: bootstrap keys, or any user at all.
        Users, not their keys, decide it, so revoking the last key never drops an
        installation back into keyless mode."""
        if self.env_keys:
            return True
        with self.db.read() as conn:  # every request asks: a Core read, no ORM session
            return conn.scalar(ANY_USER) is not None

    def _cipher(self) -> Any:
        if self._fernet is None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(self._installation_key())
        return self._fernet

    def _installation_key(self) -> bytes:
        path = self.settings.installation_key_file or self.settings.home / "installation.key"
        path = Path(path)
        if not path.exists():
            from cryptography.fernet import Fernet

            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
        return path.read_bytes().strip()

    def secret_of(self, access_key: str) -> str | None:
        """The SK of an active key, or None. Bootstrap keys first."""
        if access_key in self.env_keys:
            return self.env_keys[access_key]
        with self.db.session() as s:
            row = s.get(AccessKeyRow, access_key)
        if row is None or row.revoked_at is not None:
            return None
        secret: bytes = self._cipher().decrypt(row.secret_encrypted.encode())
        return secret.decode()

    def caller_for_key(self, access_key: str) -> Caller:
        if access_key in self.env_keys:
            return Caller("admin", access_key=access_key, is_admin=True)
        with self.db.session() as s:
            row = s.get(AccessKeyRow, access_key)
            user = s.get(UserRow, row.user_id) if row is not None else None
        if row is None or user is None:
            raise NotFound("access key", access_key)
        return Caller(user.name, user.id, access_key, user.is_admin)

    # --------------------------------------------------------------- records
    def create_user(self, name: str, admin: bool = False) -> NewUser:
        _check_name("name", name, NAME)
        row = UserRow(id=str(uuid.uuid4()), name=name, is_admin=admin, created_at=time.time())
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            raise Conflict(f"user {name!r} exists") from None
        return {"id": row.id, "name": name, "is_admin": admin}

    def _user(self, s: Any, name: str) -> UserRow:
        row = s.scalar(select(UserRow).where(UserRow.name == name))
        if row is None:
            raise NotFound("user", name)
        return row

    def list_users(self) -> list[UserRecord]:
        with self.db.session() as s:
            users = list(s.scalars(select(UserRow).order_by(UserRow.name)))
            roles = list(s.scalars(select(RoleRow)))
            keys = list(s.scalars(select(AccessKeyRow).where(AccessKeyRow.revoked_at.is_(None))))
        return [{"name": u.name, "is_admin": u.is_admin,
                 "roles": {r.project_id: r.role for r in roles if r.user_id == u.id},
                 "access_keys": [k.access_key for k in keys if k.user_id == u.id]}
                for u in users]

    def delete_user(self, name: str) -> None:
        with self.db.session() as s:
            user = self._user(s, name)
            s.execute(delete(RoleRow).where(RoleRow.user_id == user.id))
            s.execute(delete(AccessKeyRow).where(AccessKeyRow.user_id == user.id))
            s.execute(delete(SessionTokenRow).where(SessionTokenRow.user_id == user.id))
            s.delete(user)

    def create_project(self, name: str) -> NewProject:
        _check_name("name", name, PROJECT)
        try:
            with self.db.session() as s:
                s.add(ProjectRow(id=name, created_at=time.time()))
        except IntegrityError:
            raise Conflict(f"project {name!r} exists") from None
        return {"id": name}

    def ensure_project(self, name: str) -> None:
        """Keyless mode and admins: a project exists from its first use."""
        if name in self._known_projects:
            return
        with self.db.session() as s:
            if s.get(ProjectRow, name) is not None:
                self._known_projects.add(name)
                return
        try:
            with self.db.session() as s:
                s.add(ProjectRow(id=name, created_at=time.time()))
        except IntegrityError:
            pass  # made by a concurrent request
        self._known_projects.add(name)

    def list_projects(self) -> list[ProjectRecord]:
        with self.db.session() as s:
            rows = list(s.scalars(select(ProjectRow).order_by(ProjectRow.id)))
            roles = list(s.scalars(select(RoleRow)))
            users = {u.id: u.name for u in s.scalars(select(UserRow))}
        return [{"id": p.id, "members": {users.get(r.user_id, r.user_id): r.role
                                         for r in roles if r.project_id == p.id}}
                for p in rows]

    def grant(self, user: str, project: str, role: str) -> RoleGrant:
        if role not in ROLES:
            raise SpecError("role", role, f"must be one of {', '.join(ROLES)}")
        with self.db.session() as s:
            row = self._user(s, user)
            if s.get(ProjectRow, project) is None:
                raise NotFound("project", project)
            existing = s.get(RoleRow, (row.id, project))
            if existing is None:
                s.add(RoleRow(user_id=row.id, project_id=project, role=role))
            else:
                existing.role = role
        return {"user": user, "project": project, "role": role}

    def revoke_role(self, user: str, project: str) -> None:
        with self.db.session() as s:
            row = self._user(s, user)
            if s.get(RoleRow, (row.id, project)) is None:
                raise NotFound("role of user in project", f"{user}/{project}")
            s.execute(delete(RoleRow).where(RoleRow.user_id == row.id,
                                            RoleRow.project_id == project))

    def create_key(self, user: str) -> NewAccessKey:
        """A new AK/SK for ``user``; the SK is returned here once and never again."""
        access_key = "AK" + secrets.token_hex(10).upper()
        secret_key = secrets.token_urlsafe(30)
        token = self._cipher().encrypt(secret_key.encode()).decode()
        with self.db.session() as s:
            row = self._user(s, user)
            s.add(AccessKeyRow(access_key=access_key, user_id=row.id, secret_encrypted=token,
                               created_at=time.time()))
        return {"access_key": access_key, "secret_key": secret_key}

    def list_keys(self, user: str | None = None) -> list[AccessKeyRecord]:
        with self.db.session() as s:
            users = {u.id: u.name for u in s.scalars(select(UserRow))}
            rows = list(s.scalars(select(AccessKeyRow).order_by(AccessKeyRow.created_at)))
        return [{"access_key": r.access_key, "user": users.get(r.user_id, r.user_id),
                 "created_at": r.created_at, "revoked": r.revoked_at is not None}
                for r in rows if user is None or users.get(r.user_id) == user]

    def revoke_key(self, access_key: str) -> None:
        with self.db.session() as s:
            row = s.get(AccessKeyRow, access_key)
            if row is None:
                raise NotFound("access key", access_key)
            row.revoked_at = row.revoked_at or time.time()
            s.execute(delete(SessionTokenRow).where(SessionTokenRow.access_key == access_key))

    # ----------------------------------------------------------------- roles
    def role(self, caller: Caller, project: str) -> str | None:
        if caller.is_admin:
            return "owner"
        if caller.user_id is None:
            return None
        with self.db.session() as s:
            row = s.get(RoleRow, (caller.user_id, project))
        return row.role if row is not None else None

    def authorize(self, caller: Caller, project: str, need: str) -> str:
        """The caller's role in ``project`` if it is at least ``need``; else Forbidden.
        Admins (and the keyless local user) use any project, made on first use."""
        role = self.role(caller, project)
        if role is None:
            raise Forbidden(f"project_id: {project!r} is not allowed: {caller.label} has no "
                            "role in this project")
        if RANK[role] < RANK[need]:
            raise Forbidden(f"{caller.label} is {role} in project {project!r}; this needs "
                            f"{need} or more")
        if caller.is_admin:
            self.ensure_project(project)
        return role

    def projects_of(self, caller: Caller) -> dict[str, str]:
        with self.db.session() as s:
            if caller.is_admin:
                return {p: "owner" for p in s.scalars(select(ProjectRow.id))}
            return {r.project_id: r.role for r in s.scalars(
                select(RoleRow).where(RoleRow.user_id == caller.user_id))}

    # ---------------------------------------------------------------- tokens
    def issue_token(self, caller: Caller) -> SessionToken:
        """A console session token for a caller who proved its key; only its hash is kept."""
        if caller.access_key is None or caller.session:
            raise Forbidden("only a request signed with an access key can ask for a session "
                            "token")
        token = secrets.token_urlsafe(32)
        expires = time.time() + self.settings.session_token_ttl
        with self.db.session() as s:
            s.execute(delete(SessionTokenRow).where(SessionTokenRow.expires_at < time.time()))
            s.add(SessionTokenRow(token_hash=_hash(token), user_id=caller.user_id or "",
                                  access_key=caller.access_key, expires_at=expires))
        return {"token": token, "expires_at": int(expires * 1000)}

    def caller_for_token(self, token: str) -> Caller | None:
        with self.db.session() as s:
            row = s.get(SessionTokenRow, _hash(token))
        if row is None or row.expires_at < time.time():
            return None
        if self.secret_of(row.access_key) is None:  # the key was revoked since
            return None
        return replace(self.caller_for_key(row.access_key), session=True)

    def revoke_token(self, token: str) -> None:
        with self.db.session() as s:
            s.execute(delete(SessionTokenRow).where(SessionTokenRow.token_hash == _hash(token)))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
