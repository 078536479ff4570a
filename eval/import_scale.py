"""`hotline eval import-scale`: a 100,000-row sheet, streamed.

Writes a synthetic old-style sheet (random KB faults, messy dates and phones) of the given size,
then measures in one run:
- reading (cells → drafts, no triage): rows/s and resident-memory growth of the streaming
  reader vs openpyxl's ordinary (non-streaming) load of the same file (the baseline);
- importing: rows/s and resident memory at 10 %, 50 % and 100 % of the rows (bounded memory
  means it stays flat), into a fresh SQLite workspace with the demo KB.
"""

import random
import resource
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl

from eval.import_data import HEADER, _date_cell, _entries, _model_cell, _phone_cell, _request


def write_sheet(path: Path, rows: int, seed: int = 5) -> None:
    """A write-only (streamed) .xlsx of `rows` data rows."""
    rng = random.Random(seed)
    entries = _entries()
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("报修")
    ws.append(HEADER)
    for i in range(rows):
        req = _request(rng, entries)
        day = date(2025, 1, 1) + timedelta(days=i * 365 // rows)
        ws.append(
            [
                i + 1,
                _date_cell(rng, day, True),
                f"片区{rng.randint(1, 30)}",
                req["customer_name"],
                _phone_cell(rng, req["phone"], True),
                req["address"],
                req["product_type"],
                _model_cell(rng, req["model"]),
                req["symptom"],
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


def import_benchmark(path: Path, rows: int) -> dict[str, Any]:
    """Import the sheet into a fresh workspace: rows/s and resident memory along the way."""
    from core.db import session_scope
    from eval.workspace import demo_workspace
    from intake import excel_import
    from intake.importer import batch_view

    demo_workspace()
    sheet = excel_import.open_sheet(path)
    marks = {max(rows // 10, 1): "10%", max(rows // 2, 1): "50%", rows: "100%"}
    rss: dict[str, float] = {"start": round(_rss_mb())}
    seen = 0
    started = time.perf_counter()

    def progress(_: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1
        if seen in marks:
            rss[marks[seen]] = round(_rss_mb())
            elapsed = time.perf_counter() - started
            print(f"  {seen}/{rows} rows, {seen / elapsed:.0f} rows/s, RSS {rss[marks[seen]]} MB")

    with session_scope() as db:
        batch = excel_import.import_sheet(
            db, sheet, actor="eval", filename=path.name, on_row=progress
        )
        view = batch_view(batch)
    elapsed = time.perf_counter() - started
    return {
        "created": view["created"],
        "skipped": view["skipped"],
        "failed": view["failed"],
        "seconds": round(elapsed, 1),
        "rows_per_s": round(seen / elapsed, 1),
        "rss_mb": rss,
    }


def main(rows: int = 100_000, import_rows: bool = True) -> None:
    """Print the reading and importing measurements."""
    import json
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="hotline-import-scale-"))
    path = folder / "big.xlsx"
    started = time.perf_counter()
    write_sheet(path, rows)
    print(f"wrote {rows} rows ({path.stat().st_size / 2**20:.1f} MB) in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    report: dict[str, Any] = {"read": read_benchmark(path)}
    print(json.dumps(report, indent=2))
    if import_rows:
        report["import"] = import_benchmark(path, rows)
        print(json.dumps(report["import"], indent=2))
