"""``modelyard``: algorithms, training jobs and storage from the command line."""

from __future__ import annotations

import typer

from modelyard.cli import algorithm, fs, job, search, server, storage
from modelyard.cli.errors import ErrorHandlingGroup

app = typer.Typer(
    cls=ErrorHandlingGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="ModelYard: run ModelArts-style training jobs on your own machines.",
)
app.add_typer(algorithm.app, name="algorithm", help="Define and manage algorithms.")
app.add_typer(job.app, name="job", help="Run and manage training jobs.")
app.add_typer(storage.app, name="storage", help="Copy and list object storage.")
app.add_typer(fs.app, name="fs", help="File systems: preload data, mount it in jobs.")
app.add_typer(search.app, name="search", help="Search hyperparameters automatically.")
app.command("server")(server.serve)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
