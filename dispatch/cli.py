"""`hotline dispatch …`: registries from CSV, the pool, overrides, stock and transfers."""

from pathlib import Path
from typing import Annotated

import typer

dispatch_app = typer.Typer(help="Dispatch and parts binding.", no_args_is_help=True)


def _out() -> tuple:
    from core.cli_output import actor, dump, fail

    return actor, dump, fail


@dispatch_app.command("import")
def import_file(
    kind: Annotated[str, typer.Argument(help="technicians|devices|warehouses|skus|stock")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import a registry from UTF-8 CSV (all rows or none; lists as a|b, shifts 1-5@08:00-18:00)."""
    from core.db import session_scope
    from core.errors import ApiError
    from dispatch import imports

    actor, _, fail = _out()
    try:
        with session_scope() as db:
            with file.open("rb") as data:
                report = imports.import_csv(db, kind, data, actor())
            if not report.ok:
                db.rollback()
                for err in report.errors:
                    typer.secho(f"row {err['row']}: {err['problem']}", fg="red", err=True)
                fail(f"{len(report.errors)} bad row(s); nothing was imported")
    except ApiError as exc:
        fail(exc.message)
    typer.echo(f"{kind}: {report.rows} rows imported")


@dispatch_app.command("technicians")
def list_technicians(region: str | None = None, skill: str | None = None) -> None:
    """List technicians with today's load."""
    from core.db import session_scope
    from dispatch import technicians

    _, dump, _ = _out()
    with session_scope() as db:
        loads = technicians.loads_today(db)
        rows = technicians.list_all(db, region=region, skill=skill)
        dump([technicians.view(t, loads.get(t.id, 0)) for t in rows])


@dispatch_app.command("pending")
def pending() -> None:
    """The pending-dispatch queue with each ticket's reason."""
    from core.db import session_scope
    from dispatch import views

    _, dump, _ = _out()
    with session_scope() as db:
        dump(views.pending_queue(db))


@dispatch_app.command("rematch")
def rematch() -> None:
    """Re-match the open pool now."""
    from dispatch.tasks import run_rematch

    _, dump, _ = _out()
    dump(run_rematch("manual") or {"skipped": "another worker is re-matching right now"})


@dispatch_app.command("show")
def show(ticket: str) -> None:
    """A ticket's dispatch: offers with explanations, decisions, parts."""
    from core.db import session_scope
    from core.errors import ApiError
    from dispatch import views

    _, dump, fail = _out()
    try:
        with session_scope() as db:
            dump(views.dispatch_state(db, ticket))
    except ApiError as exc:
        fail(exc.message)


@dispatch_app.command("reassign")
def reassign(
    ticket: str,
    technician_id: int,
    reason: Annotated[str, typer.Option(help="Mandatory; kept in the ticket history.")],
) -> None:
    """Supervisor override: give a ticket to a technician."""
    from core.db import session_scope
    from core.errors import ApiError
    from dispatch import offers, views

    actor, dump, fail = _out()
    try:
        with session_scope() as db:
            row = offers.reassign(
                db, ticket_id=ticket, technician_id=technician_id, reason=reason, actor=actor()
            )
            dump(views.assignment_view(row))
    except ApiError as exc:
        fail(exc.message)


@dispatch_app.command("stock")
def stock(sku: str | None = None, warehouse: str | None = None) -> None:
    """Stock per warehouse and SKU (on hand, reserved, available)."""
    from core.db import session_scope
    from dispatch import inventory

    _, dump, _ = _out()
    with session_scope() as db:
        dump(
            [
                inventory.stock_view(r)
                for r in inventory.stock_rows(db, sku=sku, warehouse_id=warehouse)
            ]
        )


@dispatch_app.command("transfers")
def transfers(ticket_id: int | None = None) -> None:
    """Transfer orders."""
    from core.db import session_scope
    from dispatch import parts

    _, dump, _ = _out()
    with session_scope() as db:
        dump([parts.transfer_view(o) for o in parts.transfers(db, ticket_id=ticket_id)])


@dispatch_app.command("transfer")
def transfer(
    order_id: int, status: Annotated[str, typer.Argument(help="shipped|arrived|cancelled")]
) -> None:
    """Mark a transfer order shipped, arrived or cancelled."""
    from core.db import session_scope
    from core.errors import ApiError
    from dispatch import parts

    _, dump, fail = _out()
    try:
        with session_scope() as db:
            dump(parts.transfer_view(parts.move_transfer(db, order_id, status)))
    except ApiError as exc:
        fail(exc.message)
