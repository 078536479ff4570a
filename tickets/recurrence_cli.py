"""`hotline predict recurring`: recurring-fault patterns and preventive tickets."""

import json
from typing import Annotated

import typer

predict_app = typer.Typer(help="Recurring-fault prediction.", no_args_is_help=True)


@predict_app.command("recurring")
def predict_recurring(
    min_count: Annotated[
        int | None, typer.Option(help="N occurrences … (default HOTLINE_RECURRENCE_MIN_COUNT)")
    ] = None,
    window_days: Annotated[
        float | None, typer.Option(help="… within D days (default HOTLINE_RECURRENCE_WINDOW_DAYS)")
    ] = None,
    min_probability: Annotated[
        float | None,
        typer.Option(
            help="Raise a ticket from this probability (HOTLINE_RECURRENCE_MIN_PROBABILITY)."
        ),
    ] = None,
    scan: Annotated[
        bool, typer.Option(help="Also raise preventive-maintenance tickets for active patterns.")
    ] = False,
) -> None:
    """Print recurring patterns per model; with --scan, create the preventive tickets."""
    from core.db import session_scope
    from tickets import recurrence

    with session_scope() as db:
        out = recurrence.report(db, min_count, window_days, min_probability)
        if scan:
            alerts = recurrence.detect(
                db, min_count, window_days, actor="cli:predict", min_p=min_probability
            )
            out["created"] = [recurrence.alert_view(a) for a in alerts]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
