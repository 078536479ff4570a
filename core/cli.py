"""The one command line: `hotline init|serve|triage|kb|token|eval ...`."""

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from console.cli import user_app
from core.settings import PACKAGE_ROOT, get_settings
from dispatch.cli import dispatch_app
from intake.import_cli import import_app
from tickets.recurrence_cli import predict_app

app = typer.Typer(
    help="Hotline: voice/AI intake and triage for field-service hotlines.", no_args_is_help=True
)
kb_app = typer.Typer(help="Knowledge base curation.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluation and benchmarks.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(token_app, name="token")
app.add_typer(eval_app, name="eval")
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
app.add_typer(predict_app, name="predict")
app.add_typer(dispatch_app, name="dispatch")

DEMO_KB = PACKAGE_ROOT / "knowledge_base" / "demo" / "kb.jsonl"


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _dump(obj: object) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.command()
def init(
    demo: Annotated[bool, typer.Option(help="Load and publish the demo knowledge base.")] = True,
    new_admin_token: Annotated[bool, typer.Option(help="Print a fresh admin token.")] = False,
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
        if demo and not db.scalar(select(func.count()).select_from(KBEntry)):
            report = kb.import_entries(
                db=db, data=DEMO_KB.read_bytes(), fmt="jsonl", actor="system:init", publish=True
            )
            if not report.ok:
                _fail(f"demo KB rejected: {report.errors[:3]}")
            typer.echo(f"demo knowledge base loaded: {len(report.published)} entries published")
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
        if demo:
            from console.accounts import ensure_demo_users

            for username, password in ensure_demo_users(db=db).items():
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

    settings = get_settings()
    uvicorn.run(
        "core.app:create_app",
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
            result = triage_text(text)
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
    from asr.audio import AudioError, decode
    from eval.audio_tools import resample
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


@kb_app.command("import")
def kb_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    publish: Annotated[bool, typer.Option(help="Publish what was imported.")] = False,
    partial: Annotated[bool, typer.Option(help="Import good rows even if others are bad.")] = False,
) -> None:
    """Import entries from JSONL, CSV or XLSX (nothing is imported if a row is bad)."""
    from core.db import session_scope
    from knowledge_base import interchange
    from knowledge_base import service as kb

    try:
        fmt = interchange.detect_format(file.name)
    except interchange.FormatError as exc:
        _fail(str(exc))
    with session_scope() as db:
        report = kb.import_entries(
            db=db, data=file.read_bytes(), fmt=fmt, actor=_actor(), publish=publish, partial=partial
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
    )


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
    from knowledge_base import service as kb

    fn = {"publish": kb.publish_entry, "retire": kb.retire_entry}[action]
    try:
        with session_scope() as db:
            entry = fn(db=db, entry_id=entry_id, actor=_actor(), reason=reason)
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


@eval_app.command("triage")
def eval_triage(
    split: Annotated[str, typer.Option(help="test (held out), dev (calibration) or all")] = "test",
    data: Annotated[Path | None, typer.Option(help="Labelled JSONL (default: eval/data).")] = None,
    errors: Annotated[bool, typer.Option(help="Print every miss.")] = False,
) -> None:
    """Top-1/top-3, no-match precision/recall, field accuracy and latency on the labelled set."""
    from eval.triage_eval import main

    sys.exit(main(split=split, data=data, show_errors=errors))


@eval_app.command("calibrate")
def eval_calibrate(
    data: Annotated[Path | None, typer.Option(help="Labelled JSONL (default: eval/data).")] = None,
) -> None:
    """Fit the confidence model on the dev split and write triage/calibration.json."""
    from eval.calibrate import main

    main(data=data)


@eval_app.command("export-corrections")
def eval_export_corrections(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="JSONL to write")],
) -> None:
    """Write agents' review verdicts as labelled utterances (input for `eval triage --data`)."""
    from core.db import session_scope
    from eval.triage_eval import FIELDS
    from tickets.service import corrections

    with session_scope() as db, file.open("w", encoding="utf-8") as out:
        rows = corrections(db=db, limit=1_000_000)
        for r in rows:
            item = {
                "id": f"review-{r.id}",
                "text": r.text,
                "expected_kb_id": r.corrected_kb_id,
                "fields": {f: r.corrected_fields.get(f) for f in FIELDS},
                "tags": ["review", "corrected" if not r.diagnosis_correct else "confirmed"],
            }
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    typer.echo(f"wrote {len(rows)} labelled utterances to {file}")


@eval_app.command("asr")
def eval_asr() -> None:
    """CER and real-time factor of Hotline's speech pipeline vs plain faster-whisper."""
    from eval.asr_eval import main

    main()


@eval_app.command("stream")
def eval_stream(
    concurrency: Annotated[int, typer.Option(help="Simultaneous live calls.")] = 4,
) -> None:
    """Live-call latency (first partial, final after the caller stops) through a running
    service's WebSocket, alone and with simultaneous calls, vs plain faster-whisper."""
    from eval.stream_eval import main

    main(concurrency)


@eval_app.command("kb-scale")
def eval_kb_scale(
    entries: Annotated[int, typer.Option()] = 100_000,
    queries: Annotated[int, typer.Option()] = 300,
) -> None:
    """KB search latency with a synthetic KB of the given size."""
    from eval.kb_scale import main

    main(n_entries=entries, n_queries=queries)


@eval_app.command("sla")
def eval_sla(
    tickets: Annotated[int, typer.Option(help="Tickets in the simulated day.")] = 3800,
    seed: Annotated[int, typer.Option()] = 7,
    realtime: Annotated[int, typer.Option(help="Escalations timed in real seconds.")] = 400,
    window: Annotated[float, typer.Option(help="Real-time window (s) they fall in.")] = 40.0,
) -> None:
    """A simulated day of SLA (attainment, escalations per level), then escalation firing
    lateness in real seconds with two workers and a restart; exits 1 if p95 > 5 s."""
    from eval.sla_sim import main

    sys.exit(main(tickets=tickets, seed=seed, realtime=realtime, window_s=window))


@eval_app.command("imports")
def eval_imports() -> None:
    """Field accuracy of Excel and WeChat imports, request detection and recurring-fault
    prediction precision/recall, on the labelled data in eval/data/imports."""
    from eval.imports_eval import main

    sys.exit(main())


@eval_app.command("recurrence")
def eval_recurrence(
    min_count: Annotated[int, typer.Option(help="N occurrences…")] = 3,
    window_days: Annotated[float, typer.Option(help="…within D days.")] = 7,
) -> None:
    """Recurring-fault prediction on simulated histories: detection precision/recall with and
    without the probability gate, the probability's Brier/log loss/AUC vs the fleet rate and
    the Beta-prior estimate, the gate chosen on one seed and checked on another."""
    from eval.recurrence_eval import main

    sys.exit(main(min_count, window_days))


@eval_app.command("import-scale")
def eval_import_scale(
    rows: Annotated[int, typer.Option()] = 100_000,
    read_only: Annotated[bool, typer.Option(help="Measure reading only, no import.")] = False,
    baseline_rows: Annotated[
        int, typer.Option(help="Rows imported one at a time first, as the baseline (0: none).")
    ] = 1000,
    distinct_texts: Annotated[
        bool, typer.Option(help="Every description new to triage (no repeated texts).")
    ] = False,
) -> None:
    """Streamed reading and import of a large sheet: rows/s and memory."""
    from eval.import_scale import main

    main(
        rows=rows, import_rows=not read_only, baseline_rows=baseline_rows, distinct=distinct_texts
    )


@eval_app.command("console")
def eval_console(
    tickets: Annotated[int, typer.Option(help="Tickets to seed.")] = 10_000,
    repeat: Annotated[int, typer.Option(help="Requests per page.")] = 30,
    database_url: Annotated[
        str | None, typer.Option(help="Benchmark on this database (default: a fresh SQLite).")
    ] = None,
) -> None:
    """Console page load times (p50/p95, real HTTP) with N tickets in the database."""
    from eval.console_bench import main

    sys.exit(main(tickets=tickets, repeat=repeat, database_url=database_url))


@eval_app.command("dispatch")
def eval_dispatch(
    service: Annotated[
        bool, typer.Option(help="Also time triaged → offered in a running uvicorn service.")
    ] = True,
    database_url: Annotated[
        str | None,
        typer.Option(help="Run the service rematch on this empty database (e.g. PostgreSQL)."),
    ] = None,
) -> None:
    """Geofence, pool assignment, a simulated day vs greedy, and live triage → offer latency."""
    from eval.dispatch_eval import main

    sys.exit(main(service=service, database_url=database_url))


@eval_app.command("load")
def eval_load(
    concurrency: Annotated[
        list[int] | None, typer.Option(help="Concurrent intakes per burst (default 48).")
    ] = None,
    rounds: Annotated[int, typer.Option(help="Bursts per level.")] = 2,
    database_url: Annotated[str | None, typer.Option(help="Default: a fresh SQLite.")] = None,
) -> None:
    """Concurrent text intakes against a real service: 2xx/503/other/timeouts, /healthz."""
    from eval.load_bench import main

    sys.exit(main(concurrency=concurrency or [48], rounds=rounds, database_url=database_url))


if __name__ == "__main__":
    app()
