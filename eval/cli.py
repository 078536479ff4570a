"""`hotline eval …`: evaluations and benchmarks. Registered through the `hotline.cli`
entry-point group (pyproject.toml), so production code never imports eval/."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

eval_app = typer.Typer(help="Evaluation and benchmarks.", no_args_is_help=True)


@eval_app.command("triage")
def eval_triage(
    split: Annotated[str, typer.Option(help="test (held out), dev (calibration) or all")] = "test",
    data: Annotated[Path | None, typer.Option(help="Labelled JSONL (default: eval/data).")] = None,
    errors: Annotated[bool, typer.Option(help="Print every miss.")] = False,
    swap: Annotated[
        bool,
        typer.Option(
            help="Fit on one set, measure on another (four tuning sets, three untuned): shipped "
            "vs other sets' labelled calls vs KB-only calibration, plain BM25, cold start."
        ),
    ] = False,
    only: Annotated[
        str | None,
        typer.Option(
            help="With --swap: one set (ours|energy|hvac|kitchen|elevator|medical|security)."
        ),
    ] = None,
) -> None:
    """Top-1/top-3, no-match precision/recall, field accuracy and latency on the labelled set."""
    if swap:
        from eval.triage_swap import main as swap_main

        sys.exit(swap_main(only))
    from eval.triage_eval import main

    sys.exit(main(split=split, data=data, show_errors=errors))


@eval_app.command("gaps")
def eval_gaps(
    only: Annotated[str | None, typer.Option(help="One set (ours|kitchen).")] = None,
    scale: Annotated[
        int, typer.Option(help="Instead: time the report over this many tickets (e.g. 100000).")
    ] = 0,
) -> None:
    """Remove 10 entries, send their calls: recovery and purity of the gap clusters, and top-1
    after drafts started from the clusters are published."""
    if scale:
        from eval.gaps_scale import main as scale_main

        sys.exit(scale_main(scale))
    from eval.gaps_eval import main

    sys.exit(main(only))


@eval_app.command("calibration-scale")
def eval_calibration_scale(
    sizes: Annotated[str, typer.Option(help="Comma-separated KB sizes.")] = "1000,3000",
) -> None:
    """Time the KB's own confidence fit (run after every publish) at growing KB sizes."""
    from eval.calibration_scale import main

    main(tuple(int(s) for s in sizes.split(",") if s.strip()))


@eval_app.command("calibrate")
def eval_calibrate(
    data: Annotated[Path | None, typer.Option(help="Labelled JSONL (default: eval/data).")] = None,
) -> None:
    """Fit the confidence model on the dev split and write triage/calibration.json."""
    from eval.calibrate import main

    main(data=data)


@eval_app.command("fit-fault-report")
def eval_fit_fault_report(
    out: Annotated[
        Path | None, typer.Option(help="Where to write (default: the configured file).")
    ] = None,
    only: Annotated[
        str | None, typer.Option(help="Fit on one tuning set only (a name of eval/triage_sets.py).")
    ] = None,
) -> None:
    """Fit whether a call sounds like a fault report (triage/fault_report.json) on the
    tuning sets, after reporting how a fit on one carries over to the other."""
    from core.settings import get_settings
    from eval import fault_report_fit

    sets = (only,) if only else fault_report_fit.TUNING
    sys.exit(fault_report_fit.main(out or get_settings().fault_report_file, sets))


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
def eval_imports(
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Score only these sets (repeatable): own (eval/data/imports and the "
            "prediction simulation), the tuning sets wechat_tune, wechat_tune2, wechat_tune3, "
            "wechat_tune4, wechat_real, wechat_real2, wechat_real3, and the untuned set "
            "wechat_real4 (scored once it exists). "
            "Default: all.",
        ),
    ] = None,
    misses: Annotated[
        bool,
        typer.Option(
            "--misses",
            help="Print each miss (phone to call, missed request, ticket on a non-repair "
            "message) with its messages; tuning sets only, named with --set.",
        ),
    ] = False,
) -> None:
    """Field accuracy of Excel and WeChat imports, request detection and recurring-fault
    prediction precision/recall, on the labelled data in eval/data/imports; the chat sets
    side by side at the end."""
    from eval.imports_eval import SETS, main, misses_report

    unknown = set(sets or ()) - set(SETS)
    if unknown:
        raise typer.BadParameter(f"unknown set {sorted(unknown)}: use {', '.join(SETS)}")
    if misses:
        sys.exit(misses_report(tuple(sets or ())))
    sys.exit(main(tuple(sets) if sets else SETS))


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

    main(rows=rows, import_rows=not read_only, baseline_rows=baseline_rows, distinct=distinct_texts)


@eval_app.command("console")
def eval_console(
    tickets: Annotated[int, typer.Option(help="Tickets to seed.")] = 100_000,
    repeat: Annotated[int, typer.Option(help="Requests per page.")] = 30,
    database_url: Annotated[
        str | None, typer.Option(help="Benchmark on this database (default: a fresh SQLite).")
    ] = None,
) -> None:
    """Console page load and search times (p50/p95, real HTTP) with N tickets."""
    from eval.console_bench import main

    sys.exit(main(tickets=tickets, repeat=repeat, database_url=database_url))


@eval_app.command("customer-page")
def eval_customer_page(
    tickets: Annotated[int, typer.Option(help="Tickets to seed.")] = 100_000,
    pages: Annotated[int, typer.Option(help="Random tickets whose page is fetched.")] = 300,
    database_url: Annotated[
        str | None, typer.Option(help="Benchmark on this database (default: a fresh SQLite).")
    ] = None,
) -> None:
    """The customer's progress page (signed link, no login): p50/p95 with N tickets."""
    from eval.customer_page_bench import main

    sys.exit(main(tickets=tickets, pages=pages, database_url=database_url))


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


@eval_app.command("scale")
def eval_scale(
    database_url: Annotated[str, typer.Option(help="An empty PostgreSQL database.")],
    processes: Annotated[
        list[int] | None, typer.Option(help="Web process counts (default 1, 2, 4).")
    ] = None,
    requests: Annotated[int, typer.Option(help="Text intakes per count.")] = 120,
    concurrency: Annotated[int, typer.Option(help="Intakes in flight at once.")] = 8,
) -> None:
    """Text-intake throughput and p95 with 1, 2 and 4 `hotline serve` processes."""
    from eval.scale_bench import main

    sys.exit(
        main(
            database_url=database_url,
            processes=processes or [1, 2, 4],
            requests=requests,
            concurrency=concurrency,
        )
    )


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


@eval_app.command("ticket-cpu")
def eval_ticket_cpu(
    tickets: Annotated[int, typer.Option(help="Text intakes per pass.")] = 200,
    clients: Annotated[int, typer.Option(help="Concurrent clients in the throughput pass.")] = 4,
) -> None:
    """CPU ms per text ticket end to end on a real service (intake, triage, ticket, SLA,
    dispatch decision) and tickets/s, vs triage alone; exits 1 above 40 ms."""
    from eval.ticket_cpu import main

    sys.exit(main(tickets=tickets, clients=clients))
