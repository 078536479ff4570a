"""`hotline eval import-scale`: a 100,000-row sheet, streamed.

Writes a synthetic old-style sheet (random KB faults, messy dates and phones) of the given size,
then measures in one run:
- reading (cells → drafts, no triage): rows/s and resident-memory growth of the streaming
  reader vs openpyxl's ordinary (non-streaming) load of the same file (the baseline);
- importing (triage, tickets, history, import records; a fresh SQLite workspace with the demo
  KB each): the full chunked import — rows/s overall and per tenth, resident memory at 10 %,
  50 % and 100 % of the rows (bounded memory means it stays flat), load average — and, as the
  baseline, the first 1,000 rows imported one row at a time (chunk_rows=1: one encoder call
  per new text, as before chunking), compared with the chunked import's first 1,000 rows.
"""

import itertools
import os
import random
import resource
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl

from eval.import_data import (
    HEADER,
    date_cell,
    kb_entries,
    model_cell,
    phone_cell,
    synthetic_request,
)


def write_sheet(path: Path, rows: int, seed: int = 5, distinct: bool = False) -> None:
    """A write-only (streamed) .xlsx of `rows` data rows. The descriptions repeat (about
    1,300 different ones in 100,000 rows, as old sheets do); distinct=True adds each row's
    address to its description, so (nearly) every text is new to triage."""
    rng = random.Random(seed)
    entries = kb_entries()
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("报修")
    ws.append(HEADER)
    for i in range(rows):
        req = synthetic_request(rng, entries)
        day = date(2025, 1, 1) + timedelta(days=i * 365 // rows)
        ws.append(
            [
                i + 1,
                date_cell(rng, day, True),
                f"片区{rng.randint(1, 30)}",
                req["customer_name"],
                phone_cell(rng, req["phone"], True),
                req["address"],
                req["product_type"],
                model_cell(rng, req["model"]),
                f"{req['symptom']}，地址{req['address']}" if distinct else req["symptom"],
                req["hardware_id"],
                req["fault_code"],
            ]
        )
    wb.save(path)


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_benchmark(path: Path) -> dict[str, Any]:
    """Streaming reader vs openpyxl's ordinary load: time and resident-memory growth (the
    streaming pass runs first, so its growth is not hidden by memory the baseline took)."""
    from intake import excel_import

    base = _rss_mb()
    peak = base
    started = time.perf_counter()
    sheet = excel_import.open_sheet(path)
    n = 0
    for draft in excel_import.drafts(sheet):
        n += 0 if draft.skip else 1
        if n % 10_000 == 0:
            peak = max(peak, _rss_mb())
    streamed_s = time.perf_counter() - started
    streamed_growth = max(peak, _rss_mb()) - base
    base = _rss_mb()
    started = time.perf_counter()
    wb = openpyxl.load_workbook(path)  # the baseline: the whole workbook in memory
    m = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    full_s = time.perf_counter() - started
    full_growth = _rss_mb() - base
    del wb
    return {
        "rows": n,
        "streamed_rows_per_s": round(n / streamed_s),
        "streamed_rss_growth_mb": round(streamed_growth, 1),
        "full_load_rows_per_s": round((m - 1) / full_s),
        "full_load_rss_growth_mb": round(full_growth, 1),
    }


def import_benchmark(path: Path, rows: int, *, chunk_rows: int = 0) -> dict[str, Any]:
    """Import the first `rows` rows of the sheet into a fresh workspace (chunk_rows=1: one
    row at a time, as before chunking; 0: the default chunk): rows/s overall, per tenth and
    over the first 1,000 rows, and resident memory at 10 %, 50 % and 100 %."""
    from core.db import session_scope
    from core.settings import get_settings
    from eval.workspace import demo_workspace
    from intake import excel_import
    from intake.importer import CHUNK_ROWS, batch_view, run_import, start_batch
    from triage.service import triage_text

    demo_workspace()
    triage_text("空调不制冷")  # build the fresh workspace's index outside the timings
    sheet = excel_import.open_sheet(path)
    tenths = {max(rows * k // 10, 1): k for k in range(1, 11)}
    rss: dict[str, float] = {"start": round(_rss_mb())}
    at: dict[int, float] = {0: 0.0}
    seen = 0
    started = time.perf_counter()

    def progress(_: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1
        elapsed = time.perf_counter() - started
        if seen == 1000:
            at[-1] = elapsed
        if seen in tenths:
            k = tenths[seen]
            at[k] = elapsed
            if k in (1, 5, 10):
                rss[f"{k * 10}%"] = round(_rss_mb())
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(
                f"  {seen}/{rows} rows, {seen / elapsed:.1f} rows/s, "
                f"RSS {round(_rss_mb())} MB, load {load}",
                flush=True,
            )

    with session_scope() as db:
        batch = start_batch(
            db,
            kind=excel_import.CHANNEL,
            filename=path.name,
            file_sha256=sheet.sha256,
            actor="eval",
            status="running",
        )
        run_import(
            db,
            batch,
            itertools.islice(excel_import.drafts(sheet), rows),
            channel=excel_import.CHANNEL,
            source=f"excel:{path.name}",
            on_row=progress,
            warnings=sheet.warnings,
            chunk_rows=chunk_rows or CHUNK_ROWS,
        )
        view = batch_view(batch)
    elapsed = time.perf_counter() - started
    step = rows / 10
    per_tenth = [
        round(step / (at[k] - at[k - 1]), 1) for k in range(1, 11) if k in at and k - 1 in at
    ]
    return {
        "chunk_rows": chunk_rows or CHUNK_ROWS,
        "rows": seen,
        "created": view["created"],
        "skipped": view["skipped"],
        "failed": view["failed"],
        "seconds": round(elapsed, 1),
        "rows_per_s": round(seen / elapsed, 1),
        "first_1000_rows_per_s": round(1000 / at[-1], 1) if -1 in at else None,
        "rows_per_s_per_tenth": per_tenth,
        "rss_mb": rss,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "encoder_threads": get_settings().encoder_threads,
    }


def main(
    rows: int = 100_000, import_rows: bool = True, baseline_rows: int = 1000, distinct: bool = False
) -> None:
    """Print the reading and importing measurements: the chunked import of all rows and,
    first, the one-row-at-a-time import of the first baseline_rows (the baseline)."""
    import json
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="hotline-import-scale-"))
    path = folder / "big.xlsx"
    started = time.perf_counter()
    write_sheet(path, rows, distinct=distinct)
    print(f"wrote {rows} rows ({path.stat().st_size / 2**20:.1f} MB) in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    report: dict[str, Any] = {"read": read_benchmark(path)}
    print(json.dumps(report, indent=2), flush=True)
    if import_rows:
        if baseline_rows:
            report["baseline"] = import_benchmark(path, min(baseline_rows, rows), chunk_rows=1)
            print(json.dumps({"baseline": report["baseline"]}, indent=2), flush=True)
        report["import"] = import_benchmark(path, rows)
        if baseline_rows:
            # Like for like: the same first rows (the per-import cache fills the same way).
            base, new = report["baseline"], report["import"]
            if base["first_1000_rows_per_s"] and new["first_1000_rows_per_s"]:
                new["first_1000_vs_baseline"] = round(
                    new["first_1000_rows_per_s"] / base["first_1000_rows_per_s"], 1
                )
            if base["rows"] == new["rows"]:
                new["all_rows_vs_baseline"] = round(new["rows_per_s"] / base["rows_per_s"], 1)
        print(json.dumps({"import": report["import"]}, indent=2), flush=True)
