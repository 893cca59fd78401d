"""``modelyard``: algorithms, training jobs and storage from the command line.

Each command group's module is imported only when its name is on the command line (click's
"lazy group" pattern): ``modelyard storage cp`` must start fast, so it must not pay for the
modules of ``job``, ``fs`` or ``search``. ``modelyard --help`` still lists every group, from
the names and help texts in ``GROUPS``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import typer
import typer.main

from modelyard.cli import server
from modelyard.cli.base import App
from modelyard.cli.errors import ErrorHandlingGroup
from modelyard.quick_exit import exit_status, quick_exit

# name: (module whose ``app`` is the group, help shown by ``modelyard --help``)
GROUPS: dict[str, tuple[str, str]] = {
    "algorithm": ("modelyard.cli.algorithm", "Define and manage algorithms."),
    "job": ("modelyard.cli.job", "Run and manage training jobs."),
    "storage": ("modelyard.cli.storage", "Copy and list object storage."),
    "fs": ("modelyard.cli.fs", "File systems: preload data, mount it in jobs."),
    "dataset": ("modelyard.cli.dataset", "Datasets: import, label statistics, versions."),
    "search": ("modelyard.cli.search", "Search hyperparameters automatically."),
    "gallery": ("modelyard.cli.gallery", "Publish, browse and subscribe to algorithms."),
    "image": ("modelyard.cli.image", "Container images on this machine: pull, import, list, "
              "prune."),
    "admin": ("modelyard.cli.admin", "Users, projects, roles and access keys (on the "
              "server's machine)."),
}


class LazyGroup(ErrorHandlingGroup):
    """The top-level group. Until a group is asked for, ``commands`` holds an empty stand-in
    with the group's name and help; ``get_command`` swaps in the real group, built exactly as
    ``add_typer`` builds it, except while help is being written (listing needs no more)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._loaded: set[str] = set()
        self._writing_help = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in GROUPS and cmd_name not in self._loaded and not self._writing_help:
            self.commands[cmd_name] = self._load(cmd_name)
            self._loaded.add(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, name: str) -> Any:
        module, help_ = GROUPS[name]
        holder = typer.Typer(add_completion=False, rich_markup_mode=self.rich_markup_mode,
                             suggest_commands=self.suggest_commands)
        holder.add_typer(import_module(module).app, name=name, help=help_)
        group = typer.main.get_command(holder)
        assert isinstance(group, typer.core.TyperGroup)
        return group.commands[name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._writing_help = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._writing_help = False


app = App(
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="ModelYard: run ModelArts-style training jobs on your own machines.",
)
for _name, (_, _help) in GROUPS.items():
    app.add_typer(typer.Typer(), name=_name, help=_help)  # stand-ins, see LazyGroup
app.command("server")(server.serve)


def main() -> None:
    """The ``modelyard`` command: the app, then a quick exit (see ``quick_exit``: the
    teardown of typer, rich and pydantic would add ~0.1 s to every command)."""
    try:
        app()
    except SystemExit as done:
        quick_exit(exit_status(done.code))
    quick_exit(0)


if __name__ == "__main__":
    main()
