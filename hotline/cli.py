"""The one command line: `hotline init|serve|triage|kb|token|eval ...` (groups: registry.py)."""

import json
from pathlib import Path
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from core import control_chars
from core.cli_output import actor as _actor
from core.cli_output import dump as _dump
from core.cli_output import fail as _fail
from core.settings import PACKAGE_ROOT, get_settings
from hotline import registry


class _CheckedArguments(TyperGroup):
    """The root command: an argument is stored as typed (a name, a reason), so one holding a
    control character is refused before any command runs, as the HTTP doors refuse it
    (core/control_chars.py)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:
            if found := control_chars.find(arg):
                _fail(f"argument {arg!r}: {control_chars.problem(found[1])}", 2)
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_CheckedArguments,
    help="Hotline: voice/AI intake and triage for field-service hotlines.",
    no_args_is_help=True,
)
kb_app = typer.Typer(help="Knowledge base curation.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(token_app, name="token")
for _name, _group in registry.cli_groups():
    app.add_typer(_group, name=_name)

DEMO_KB = PACKAGE_ROOT / "knowledge_base" / "demo" / "kb.jsonl"


@app.command()
def init(
    demo: Annotated[bool, typer.Option(help="Load and publish the demo knowledge base.")] = True,
    new_admin_token: Annotated[bool, typer.Option(help="Print a fresh admin token.")] = False,
    demo_technicians: Annotated[
        bool,
        typer.Option(
            help="Also put demo technicians on the roster, linked to the demo technician logins, "
            "with demo calls dispatched to them (what `make run` shows; never for a real "
            "deployment or a test, whose own technicians the demo ones would compete with)."
        ),
    ] = False,
) -> None:
    """Create or upgrade the database, load the demo KB, print a bootstrap admin token."""
    from sqlalchemy import func, select

    from core.auth import ApiToken, Role, create_token
    from core.db import session_scope
    from core.migrate import upgrade
    from knowledge_base import service as kb
    from knowledge_base.models import KBEntry

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    typer.echo(f"database ready: {settings.resolved_database_url}")
    with session_scope() as db:
        fresh = demo and not db.scalar(select(func.count()).select_from(KBEntry))
        if fresh:
            report = kb.import_entries(
                db=db, data=DEMO_KB.read_bytes(), fmt="jsonl", actor="system:init", publish=True
            )
            if not report.ok:
                _fail(f"demo KB rejected: {report.errors[:3]}")
            typer.echo(f"demo knowledge base loaded: {len(report.published)} entries published")
    if fresh:
        _refit("init")  # reads the published entries in a session of its own
    with session_scope() as db:
        if demo:
            from sla.config import install_defaults

            sla_created = install_defaults(db=db)
            if sla_created["policies"]:
                typer.echo(
                    f"SLA defaults: calendars {sla_created['calendars']}, "
                    f"{len(sla_created['policies'])} policies (edit under /api/v1/sla)"
                )
        has_admin = db.scalar(
            select(func.count())
            .select_from(ApiToken)
            .where(ApiToken.role == Role.admin.value, ApiToken.revoked.is_(False))
        )
        logins: dict[str, str] = {}
        if demo and demo_technicians:
            from hotline.demo import seed_field_demo

            seeded = seed_field_demo(db=db)
            logins = seeded["logins"]
            if seeded["tickets"]:
                typer.echo(
                    f"demo technicians on the roster; demo calls {', '.join(seeded['tickets'])} "
                    "dispatched (sign in as technician to see the technician app)"
                )
        if demo:
            from console.accounts import ensure_demo_users

            logins |= ensure_demo_users(db=db)
            for username, password in logins.items():
                typer.echo(f"demo console login: {username} / {password}  (/console/login)")
        if not has_admin or new_admin_token:
            plain = create_token(db=db, name="bootstrap-admin", role=Role.admin)
            typer.secho(f"admin token (shown once, keep it safe): {plain}", fg=typer.colors.GREEN)
        else:
            typer.echo("an admin token exists already (use --new-admin-token for another)")


@app.callback()
def _configure() -> None:
    """Hotline: voice/AI intake and triage for field-service hotlines."""
    from core import tasks

    registry.install()

    # Work queued by any command (push cards, transcription jobs) goes to the durable queue.
    tasks.configure()


@app.command()
def worker(
    threads: Annotated[int, typer.Option(help="Worker threads in this process.")] = 2,
) -> None:
    """Run background workers on the task queue (start several, on several machines, with a
    shared HOTLINE_TASK_QUEUE_URL)."""
    from core import tasks

    tasks.run_worker(threads)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    from core import public_url

    settings = get_settings()
    warning = public_url.unset_warning(host or settings.host)
    if warning:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    uvicorn.run(
        "hotline.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


@app.command()
def triage(
    text: Annotated[str, typer.Argument(help="What the caller said.")],
    channel: Annotated[str, typer.Option(help="Intake channel recorded on the ticket.")] = "cli",
    dry_run: Annotated[bool, typer.Option(help="Only print the triage; create no ticket.")] = False,
) -> None:
    """Triage a text and create its ticket; prints the ticket JSON."""
    from core.db import session_scope
    from core.errors import ApiError
    from intake.service import intake_text
    from tickets.service import ticket_view
    from triage.service import triage_text

    try:
        if dry_run:
            result = triage_text(text).as_dict()
            result.pop("latency_ms", None)
            _dump(result)
            return
        with session_scope() as db:
            ticket = intake_text(db=db, text=text, channel=channel, actor=_actor())
            _dump(ticket_view(ticket))
    except ApiError as exc:
        _fail(exc.message, 2)


@app.command()
def call(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    channel: Annotated[str, typer.Option(help="Intake channel recorded on the ticket.")] = "phone",
    transcript_only: Annotated[
        bool, typer.Option("--transcript-only", help="Print the transcript; create no ticket.")
    ] = False,
    live: Annotated[
        bool,
        typer.Option(
            "--live", help="Stream the file at real-time pace to a running service's WebSocket."
        ),
    ] = False,
    url: Annotated[str, typer.Option(help="Service URL for --live.")] = "ws://127.0.0.1:8000",
    token: Annotated[
        str | None, typer.Option(envvar="HOTLINE_TOKEN", help="API token for --live.")
    ] = None,
    rate: Annotated[int, typer.Option(help="--live: sample rate to send, 8000 or 16000.")] = 8000,
) -> None:
    """Transcribe a call recording and create its pre-diagnosed ticket (prints JSON)."""
    from core.db import session_scope
    from core.errors import ApiError
    from intake.audio import intake_audio, transcribe_upload
    from tickets.service import ticket_view

    data = file.read_bytes()
    if live:
        _call_live(data, url=url, token=token, rate=rate)
        return
    try:
        if transcript_only:
            t = transcribe_upload(data)
            _dump({"duration": t.duration, "segments": t.segments, "notes": t.notes})
            return
        with session_scope() as db:
            ticket = intake_audio(db=db, data=data, channel=channel, actor=_actor())
            _dump(ticket_view(ticket))
    except ApiError as exc:
        _fail(exc.message, 2)


def _call_live(data: bytes, *, url: str, token: str | None, rate: int) -> None:
    from asr.audio import AudioError, decode, resample
    from intake.live_client import stream_call

    if not token:
        _fail("--live needs an agent token: --token or HOTLINE_TOKEN.")
    try:
        samples = decode(data, max_seconds=get_settings().max_audio_seconds).mono()
    except AudioError as exc:
        _fail(exc.message, 2)
    if rate != 16000:
        samples = resample(samples, 16000, rate)

    def show(at: float, msg: dict) -> None:
        if msg["type"] == "partial":
            typer.echo(f"[{at:6.2f}s] … {msg['text']}")
        elif msg["type"] == "final":
            seg = msg["segment"]
            span = f"{seg['start']:.1f}-{seg['end']:.1f}s"
            typer.secho(f"[{at:6.2f}s] ✔ {span} {seg['text']}", bold=True)
        elif msg["type"] == "error":
            typer.secho(f"[{at:6.2f}s] ! {msg['code']}: {msg['message']}", fg=typer.colors.RED)
        elif msg["type"] == "end":
            typer.secho(f"no ticket: {msg['error']['message']}", fg=typer.colors.YELLOW)

    try:
        result = stream_call(url, token, samples, sample_rate=rate, on_message=show)
    except (OSError, RuntimeError) as exc:
        _fail(f"live call failed: {exc}", 2)
    if result.ticket:
        _dump(result.ticket)


@app.command("access-policy")
def access_policy() -> None:
    """Print the access policy (role × operation) as a Markdown table."""
    from hotline import policy

    typer.echo(policy.markdown(), nl=False)


@kb_app.command("import")
def kb_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    publish: Annotated[bool, typer.Option(help="Publish what was imported.")] = False,
    partial: Annotated[bool, typer.Option(help="Import good rows even if others are bad.")] = False,
) -> None:
    """Import entries from JSONL, CSV or XLSX (nothing is imported if a row is bad). With
    --publish and HOTLINE_KB_SINGLE_PERSON_PUBLISH=false the entries wait for a second
    person's review instead."""
    from core.db import session_scope
    from knowledge_base import interchange, review

    try:
        fmt = interchange.detect_format(file.name)
    except interchange.FormatError as exc:
        _fail(str(exc))
    with session_scope() as db:
        # The shell on the server is an admin's door: publish alone only while allowed.
        report = review.import_entries(
            db=db,
            data=file.read_bytes(),
            fmt=fmt,
            actor=_actor(),
            publish=publish,
            partial=partial,
            is_admin=True,
        )
        if not report.ok:
            db.rollback()
            for err in report.errors:
                where = f"row {err['row']}" if err.get("row") else "file"
                field = f" [{err['field']}]" if err.get("field") else ""
                typer.secho(f"{where}{field}: {err['problem']}", fg=typer.colors.RED, err=True)
            _fail(
                f"{len(report.errors)} problem(s); nothing was imported "
                "(use --partial to import the good rows)"
            )
    typer.echo(
        f"{report.rows} rows: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.published)} published, "
        f"{len(report.errors)} skipped"
        + (f", {len(report.submitted)} submitted for review" if report.submitted else "")
    )
    if report.severity_mapping:
        from knowledge_base.severity import describe_map

        typer.echo(f"severity read as: {describe_map(report.severity_mapping)}")
    if report.published:
        _refit("publish")


def _refit(trigger: str, force: bool = False) -> None:
    """Refit the diagnosis confidence on the published KB now and say what it learned."""
    from tickets.calibration import refit

    row = refit(trigger=trigger, force=force)
    if row is None:
        typer.echo("diagnosis confidence: already fitted on this KB")
        return
    typer.echo(
        f"diagnosis confidence fitted on the KB: {row.kb_entries} entries, {row.pseudo_calls} "
        f"pseudo-calls, {row.verdicts} agent verdicts, no-match threshold {row.threshold:.2f} "
        f"({row.seconds:.1f} s)"
    )


@kb_app.command("calibrate")
def kb_calibrate() -> None:
    """Refit the diagnosis confidence on the published KB and the agents' verdicts now
    (it also refits by itself after every publish and every few verdicts)."""
    _refit("manual", force=True)


@kb_app.command("export")
def kb_export(
    file: Annotated[Path, typer.Argument(dir_okay=False)],
    include_drafts: Annotated[bool, typer.Option()] = False,
    include_retired: Annotated[bool, typer.Option()] = False,
) -> None:
    """Export entries; the format follows the file extension (.jsonl, .csv, .xlsx)."""
    from core.db import session_scope
    from knowledge_base import interchange
    from knowledge_base import service as kb

    try:
        fmt = interchange.detect_format(file.name)
    except interchange.FormatError as exc:
        _fail(str(exc))
    with session_scope() as db:
        data = kb.export_entries(
            db=db, fmt=fmt, include_drafts=include_drafts, include_retired=include_retired
        )
    file.write_bytes(data)
    typer.echo(f"wrote {file}")


def _kb_action(action: str, entry_id: str, reason: str | None) -> None:
    from core.db import session_scope
    from core.errors import ApiError
    from knowledge_base import review
    from knowledge_base import service as kb

    try:
        with session_scope() as db:
            if action == "publish":
                # The server's shell is an admin's door; four eyes as knowledge_base.review says.
                entry = review.publish(
                    db=db, entry_id=entry_id, actor=_actor(), is_admin=True, reason=reason
                )
            else:
                entry = kb.retire_entry(db=db, entry_id=entry_id, actor=_actor(), reason=reason)
            typer.echo(f"{entry.id}: {entry.status}, version {entry.version}")
    except ApiError as exc:
        _fail(exc.message)


@kb_app.command("publish")
def kb_publish(entry_id: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Publish an entry's draft."""
    _kb_action("publish", entry_id, reason)


@kb_app.command("retire")
def kb_retire(entry_id: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Retire an entry."""
    _kb_action("retire", entry_id, reason)


@kb_app.command("history")
def kb_history(entry_id: str) -> None:
    """Print an entry's change history."""
    from core.db import session_scope
    from core.errors import ApiError
    from knowledge_base import service as kb

    try:
        with session_scope() as db:
            for r in kb.history(db=db, entry_id=entry_id):
                typer.echo(
                    f"{r.at:%Y-%m-%d %H:%M:%S} v{r.version} {r.action:8} {r.actor}: "
                    + json.dumps(r.changes, ensure_ascii=False)
                )
    except ApiError as exc:
        _fail(exc.message)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin|agent|knowledge_engineer|supervisor|technician")],
    name: Annotated[str, typer.Option(help="Whose token this is.")],
) -> None:
    """Create an API token and print it once."""
    from core.auth import Role, create_token
    from core.db import session_scope

    try:
        parsed = Role(role)
    except ValueError:
        _fail(f"unknown role {role!r}; one of {[r.value for r in Role]}")
    with session_scope() as db:
        typer.echo(create_token(db=db, name=name, role=parsed))


if __name__ == "__main__":
    app()
