"""What every `hotline …` command group prints and how it fails (shared by the domains' CLIs)."""

import getpass
import json

import typer


def actor() -> str:
    """Who runs the command, as recorded on the rows it changes."""
    return f"cli:{getpass.getuser()}"


def dump(obj: object) -> None:
    """Print obj as indented JSON (Chinese kept readable)."""
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int = 1) -> None:
    """Print an error in red on stderr and exit with code."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)
