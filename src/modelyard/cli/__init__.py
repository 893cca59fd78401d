"""The command line: typer + rich, on a server (MODELYARD_URL) or the embedded service."""
