"""`hotline user ...`: console accounts from the command line."""

from typing import Annotated

import typer

user_app = typer.Typer(help="Console user accounts.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin|agent|knowledge_engineer|supervisor|technician")],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the console.")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Password (prompted, hidden, when omitted).", envvar="HOTLINE_PASSWORD"),
    ] = None,
    technician: Annotated[
        int | None,
        typer.Option(help="Technician id (dispatch registry) this login opens the field app for."),
    ] = None,
) -> None:
    """Create a console login."""
    from console import accounts
    from core.auth import Role
    from core.db import session_scope
    from core.errors import ApiError

    try:
        parsed = Role(role)
    except ValueError:
        _fail(f"unknown role {role!r}; one of {[r.value for r in Role]}")
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        with session_scope() as db:
            user = accounts.create_user(
                db=db,
                username=name,
                role=parsed,
                password=password,
                display_name=display_name,
                technician_id=technician,
            )
            typer.echo(f"user {user.username} created ({parsed.value})")
    except ApiError as exc:
        _fail(exc.message)


@user_app.command("disable")
def user_disable(name: str) -> None:
    """Disable a login and end its sessions."""
    _set_disabled(name, True)


@user_app.command("enable")
def user_enable(name: str) -> None:
    """Re-enable a disabled login."""
    _set_disabled(name, False)


def _set_disabled(name: str, disabled: bool) -> None:
    from console import accounts
    from core.db import session_scope
    from core.errors import ApiError

    try:
        with session_scope() as db:
            accounts.set_disabled(db=db, username=name, disabled=disabled)
    except ApiError as exc:
        _fail(exc.message)
    typer.echo(f"user {name} {'disabled' if disabled else 'enabled'}")


@user_app.command("link-technician")
def user_link_technician(
    name: Annotated[str, typer.Argument(help="A technician's login name.")],
    technician: Annotated[
        int | None, typer.Argument(help="Technician id (`hotline dispatch technicians`).")
    ] = None,
    unlink: Annotated[bool, typer.Option(help="Remove the login's link instead.")] = False,
) -> None:
    """Link an existing technician login to its technician row, so it opens the field app."""
    from console import accounts
    from core.db import session_scope
    from core.errors import ApiError

    if (technician is None) != unlink:
        _fail("give a technician id, or --unlink")
    try:
        with session_scope() as db:
            accounts.link_technician(db=db, username=name, technician_id=technician)
    except ApiError as exc:
        _fail(exc.message)
    typer.echo(f"user {name} " + ("unlinked" if unlink else f"linked to technician {technician}"))


@user_app.command("list")
def user_list() -> None:
    """Every console login."""
    from sqlalchemy import select

    from console.models import ConsoleUser
    from core.db import session_scope

    with session_scope() as db:
        for u in db.scalars(select(ConsoleUser).order_by(ConsoleUser.username)):
            state = "disabled" if u.disabled else "active"
            tech = f" (technician #{u.technician_id})" if u.technician_id else ""
            typer.echo(f"{u.username:24} {u.role:20} {state:8} {u.display_name}{tech}")
