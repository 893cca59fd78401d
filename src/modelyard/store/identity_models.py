"""Tables of accounts and tenancy (issue 14): users, projects, roles, access keys, console
session tokens, which project owns a bucket, and which unfinished job holds an output location.

Kept apart from ``store.models`` so that this area has its own migration.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.store.models import Base


class UserRow(Base):
    """A person or robot that holds access keys. ``is_admin``: may act in every project and
    run the ``admin`` commands (the keys of MODELYARD_API_KEYS are admins without a row)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)


class ProjectRow(Base):
    """A tenant: the ``{project_id}`` of every path. Its id is the name users type."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)


class RoleRow(Base):
    """One user's role (owner, member, viewer) in one project."""

    __tablename__ = "project_roles"

    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))


class AccessKeyRow(Base):
    """An AK/SK pair. The SK is stored encrypted with the installation key (HMAC
    verification needs the SK itself, so a one-way hash cannot be used)."""

    __tablename__ = "access_keys"

    access_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class SessionTokenRow(Base):
    """A console sign-in: the token's SHA-256 (never the token), whose it is, until when."""

    __tablename__ = "session_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    access_key: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class BucketRow(Base):
    """The project a bucket belongs to: the first project to use it claims it."""

    __tablename__ = "bucket_owners"

    scheme: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[float] = mapped_column(Float)


class OutputLockRow(Base):
    """An output location held by an unfinished job. The primary key makes "one unfinished
    job per output location" the database's rule, so two concurrent creates cannot both win
    (docs/contract.md "Outputs")."""

    __tablename__ = "output_locks"

    location: Mapped[str] = mapped_column(String(1024), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[float] = mapped_column(Float)
