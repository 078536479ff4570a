"""`hotline import excel|wechat|template`: old habits in, from the command line."""

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

import_app = typer.Typer(
    help="Import old repair sheets and WeChat chat exports as tickets awaiting QC (待质检), "
    "and recorded PBX calls with their CDR.",
    no_args_is_help=True,
)
FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]
ReportOpt = Annotated[Path | None, typer.Option(help="Write the per-row report here (JSON Lines).")]
PROGRESS_EVERY = 1000


class _RowSink:
    """Writes each row's outcome to the report file and shows progress on stderr."""

    def __init__(self, report: Path | None, total: int | None) -> None:
        self.out = report.open("w", encoding="utf-8") if report else None
        self.total = total
        self.rows = 0
        self.started = time.perf_counter()

    def __call__(self, outcome: dict[str, Any]) -> None:
        self.rows += 1
        if self.out:
            self.out.write(json.dumps(outcome, ensure_ascii=False) + "\n")
        if self.rows % PROGRESS_EVERY == 0:
            rate = self.rows / (time.perf_counter() - self.started)
            of = f"/{self.total}" if self.total else ""
            typer.echo(f"  {self.rows}{of} rows, {rate:.0f} rows/s", err=True)

    def close(self) -> None:
        if self.out:
            self.out.close()


def _finish(view: dict[str, Any], sink: _RowSink) -> None:
    sink.close()
    elapsed = time.perf_counter() - sink.started
    problems = view.pop("problems")
    view["seconds"] = round(elapsed, 1)
    view["rows_per_s"] = round(sink.rows / elapsed, 1) if elapsed else None
    view["problems_shown"] = problems[:50]
    typer.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@import_app.command("excel")
def import_excel(
    file: FileArg,
    mapping: Annotated[
        Path | None, typer.Option(help="YAML/JSON {column name: field} for other column names.")
    ] = None,
    report: ReportOpt = None,
    actor: Annotated[str, typer.Option(help="Who imports (recorded on every ticket).")] = "",
) -> None:
    """Import a .xlsx/.csv repair sheet: each fault becomes a ticket in 待质检."""
    from core.db import session_scope
    from core.errors import ApiError
    from intake import excel_import
    from intake.importer import batch_view

    try:
        sheet = excel_import.open_sheet(file, excel_import.load_mapping(mapping))
    except ApiError as exc:
        _fail(exc.message)
    for warning in sheet.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    sink = _RowSink(report, sheet.total_estimate)
    with session_scope() as db:
        batch = excel_import.import_sheet(
            db, sheet, actor=actor or _actor(), filename=file.name, on_row=sink
        )
        _finish(batch_view(batch), sink)


@import_app.command("wechat")
def import_wechat(
    file: FileArg,
    window_minutes: Annotated[
        float, typer.Option(help="Gather a sender's messages this long after the last one.")
    ] = 60,
    staff: Annotated[
        list[str] | None, typer.Option(help="Display name of own staff (repeatable).")
    ] = None,
    roles: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="YAML/JSON {customer|staff|relay|technician: [name prefixes]} added to the "
            "defaults (顾客-, 客服-, 物业-, 师傅- …).",
        ),
    ] = None,
    report: ReportOpt = None,
    actor: Annotated[str, typer.Option()] = "",
) -> None:
    """Import a WeChat/WeCom chat export (PC text, merged-forward record, WeCom archive JSON
    lines or CSV, screenshot): each repair request becomes a ticket in 待质检."""
    from core.db import session_scope
    from core.errors import ApiError
    from intake import wechat_import
    from intake.importer import batch_view

    sink = _RowSink(report, None)
    try:
        with session_scope() as db:
            batch = wechat_import.import_export(
                db,
                file,
                actor=actor or _actor(),
                filename=file.name,
                window_minutes=window_minutes,
                staff=set(staff or []),
                roles=wechat_import.load_roles(roles),
                on_row=sink,
            )
            _finish(batch_view(batch), sink)
    except ApiError as exc:
        _fail(exc.message)


@import_app.command("calls")
def import_calls(
    cdr: FileArg,
    recordings: Annotated[
        Path | None,
        typer.Option(
            exists=True, file_okay=False, help="Folder of the recordings (<call_id>.wav …)."
        ),
    ] = None,
    report: ReportOpt = None,
    actor: Annotated[str, typer.Option()] = "",
) -> None:
    """Import recorded PBX calls with their CDR (CSV): one ticket per call; calls that
    already have a ticket (live, or imported before) are not made again."""
    from core.errors import ApiError
    from intake.pbx_import import import_calls as run

    sink = _RowSink(report, None)
    try:
        counts = run(cdr.read_bytes(), recordings=recordings, actor=actor or _actor(), on_row=sink)
    except ApiError as exc:
        _fail(exc.message)
    sink.close()
    typer.echo(json.dumps({"rows": sink.rows, **counts}, ensure_ascii=False, indent=2))


@import_app.command("template")
def import_template(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the .xlsx")],
) -> None:
    """Write the sheet template: the old column names plus 设备编号 and 故障码."""
    from intake.excel_import import template

    file.write_bytes(template())
    typer.echo(f"wrote {file}", err=True)


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"
