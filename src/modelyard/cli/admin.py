"""``modelyard admin ...``: users, projects, roles and access keys of this installation.

Run on the server's machine, against its database (MODELYARD_HOME / MODELYARD_DB_URL): being
able to open that database (and the installation key beside it) is what makes one the
installation's administrator. A new secret key is printed once and never again.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from modelyard.cli.base import App
from modelyard.cli.context import console

app = App(no_args_is_help=True)
users = App(no_args_is_help=True, help="Users (people or robots that hold keys).")
projects = App(no_args_is_help=True, help="Projects (the {project_id} of every path).")
keys = App(no_args_is_help=True, help="Access keys (AK/SK) of users.")
app.add_typer(users, name="user")
app.add_typer(projects, name="project")
app.add_typer(keys, name="key")


def _identity():  # type: ignore[no-untyped-def]
    from modelyard.service.identity import IdentityService
    from modelyard.settings import Settings
    from modelyard.store.db import Database

    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    return IdentityService(settings, Database(settings.database_url))


@users.command("create")
def user_create(name: str,
                admin: bool = typer.Option(False, "--admin", help="May act in every project")
                ) -> None:
    """Create a user."""
    _identity().create_user(name, admin)
    console().print(f"Created user {name}" + (" (admin)" if admin else ""))


@users.command("list")
def user_list() -> None:
    """List users, their roles and active keys."""
    table = Table("USER", "ADMIN", "ROLES", "ACCESS KEYS")
    for u in _identity().list_users():
        roles = ", ".join(f"{p}:{r}" for p, r in sorted(u["roles"].items()))
        table.add_row(u["name"], "yes" if u["is_admin"] else "", roles,
                      ", ".join(u["access_keys"]))
    console().print(table)


@users.command("delete")
def user_delete(name: str) -> None:
    """Delete a user with their roles, keys and sessions."""
    _identity().delete_user(name)
    console().print(f"Deleted user {name}")


@projects.command("create")
def project_create(name: str) -> None:
    """Create a project."""
    _identity().create_project(name)
    console().print(f"Created project {name}")


@projects.command("list")
def project_list() -> None:
    """List projects and their members."""
    table = Table("PROJECT", "MEMBERS")
    for p in _identity().list_projects():
        table.add_row(p["id"], ", ".join(f"{u}:{r}" for u, r in sorted(p["members"].items())))
    console().print(table)


@app.command("grant")
def grant(user: str, project: str,
          role: str = typer.Argument(..., help="owner, member or viewer")) -> None:
    """Give USER the ROLE in PROJECT (replacing any role they had there)."""
    _identity().grant(user, project, role)
    console().print(f"{user} is {role} in {project}")


@app.command("revoke")
def revoke(user: str, project: str) -> None:
    """Take USER's role in PROJECT away."""
    _identity().revoke_role(user, project)
    console().print(f"{user} has no role in {project} any more")


@keys.command("create")
def key_create(user: str,
               as_json: bool = typer.Option(False, "--json", help="Print {access_key, "
                                            "secret_key} as JSON")) -> None:
    """A new AK/SK for USER. The secret key is shown this once."""
    pair = _identity().create_key(user)
    if as_json:
        typer.echo(json.dumps(pair))
        return
    console().print(f"access_key: {pair['access_key']}\nsecret_key: {pair['secret_key']}\n"
                    "The secret key is not stored in readable form: keep it now.",
                    markup=False)


@keys.command("list")
def key_list(user: str | None = typer.Option(None, "--user", help="Only this user's")) -> None:
    """List access keys (never their secrets)."""
    table = Table("ACCESS KEY", "USER", "STATE")
    for k in _identity().list_keys(user):
        table.add_row(k["access_key"], k["user"], "revoked" if k["revoked"] else "active")
    console().print(table)


@keys.command("revoke")
def key_revoke(access_key: str) -> None:
    """Revoke a key: requests signed with it (and its console sessions) stop working."""
    _identity().revoke_key(access_key)
    console().print(f"Revoked {access_key}")
