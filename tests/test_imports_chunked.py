"""Chunked import (a chunk's texts triaged together, one savepoint per row): the same
per-row results as importing one row at a time, and a row that fails inside a chunk leaves
nothing behind while the rest of the chunk is imported."""

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import delete, event, func, select

from eval.import_data import HEADER, kb_entries, synthetic_request
from tests.conftest import Service

LONG = "空调不制冷" * 1000  # over HOTLINE_MAX_TEXT_CHARS: triage refuses it, the row fails


def _sheet(path: Path, rows: int, seed: int = 11) -> None:
    """A sheet of KB faults with the rows that make a report: duplicates in the same chunk
    and in a later one, a blank row, a text triage refuses."""
    rng = random.Random(seed)
    entries = kb_entries()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    body = []
    for i in range(rows):
        req = synthetic_request(rng, entries)
        body.append(
            [
                i + 1,
                f"2025/3/{1 + i % 28}",
                f"片区{i % 5}",
                req["customer_name"],
                req["phone"],
                req["address"],
                req["product_type"],
                req["model"],
                req["symptom"],
                req["hardware_id"],
                req["fault_code"],
            ]
        )
    body[5] = list(body[2])  # same content a few rows later (same chunk)
    if rows > 40:
        body[40] = list(body[3])  # and in a later chunk
    body[7] = [None] * len(HEADER)
    body[9][8] = LONG
    for row in body:
        ws.append(row)
    wb.save(path)


def _import(path: Path, chunk_rows: int) -> tuple[int, list[dict[str, Any]]]:
    from core.db import session_scope
    from intake import excel_import

    outcomes: list[dict[str, Any]] = []
    sheet = excel_import.open_sheet(path)
    with session_scope() as db:
        batch = excel_import.import_sheet(
            db,
            sheet,
            actor="test",
            filename=path.name,
            on_row=outcomes.append,
            chunk_rows=chunk_rows,
        )
        return batch.id, outcomes


def _tickets_by_ref(batch_id: int) -> dict[str, dict[str, Any]]:
    from core.db import session_scope
    from intake.models import ImportRecord
    from tickets.models import Ticket

    cols = (
        "status channel source description normalized_text fields required_fields kb_id "
        "no_match severity sla_class product_type model fault_code phone address "
        "customer_name hardware_id region reported_at"
    ).split()
    with session_scope() as db:
        found = db.execute(
            select(ImportRecord.ref, Ticket)
            .join(Ticket, Ticket.id == ImportRecord.ticket_id)
            .where(ImportRecord.batch_id == batch_id)
        ).all()
        return {
            ref: {
                **{c: getattr(t, c) for c in cols},
                "confidence": t.confidence,
                "candidates": [c["kb_id"] for c in t.diagnosis["candidates"]],
            }
            for ref, t in found
        }


def _wipe_tickets() -> None:
    from core.db import session_scope
    from intake.models import ImportRecord
    from tickets.models import Ticket, TicketEvent

    with session_scope() as db:
        for model in (ImportRecord, TicketEvent, Ticket):
            db.execute(delete(model))


def _comparable(outcomes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (o["ref"], o["outcome"], o.get("reason", "").split(" (ticket")[0], o.get("warnings"))
        for o in outcomes
    ]


def test_chunked_import_gives_the_row_by_row_results(service: Service, tmp_path: Path) -> None:
    path = tmp_path / "报修.xlsx"
    _sheet(path, 90)
    one_id, one_by_one = _import(path, chunk_rows=1)
    before = _tickets_by_ref(one_id)
    _wipe_tickets()  # the same rows again, into an empty ticket table
    chunk_id, chunked = _import(path, chunk_rows=32)
    after = _tickets_by_ref(chunk_id)

    assert _comparable(chunked) == _comparable(one_by_one)
    outcome = {o["ref"]: o for o in chunked}
    assert sum(o["outcome"] == "created" for o in chunked) == 86
    assert outcome["row 7"]["reason"].startswith("duplicate: same content as row 4 earlier")
    assert outcome["row 42"]["reason"].startswith("duplicate: same content as row 5 earlier")
    assert outcome["row 9"]["reason"] == "blank row"
    assert outcome["row 11"]["outcome"] == "failed"
    assert outcome["row 7"]["reason"].endswith(f"(ticket {outcome['row 4']['ticket']})")

    assert before.keys() == after.keys() and len(after) == 86
    for ref, was in before.items():
        now = after[ref]
        assert abs(now.pop("confidence") - was.pop("confidence")) < 1e-3, ref
        assert now == was, ref
    assert {t["kb_id"] for t in after.values()} - {None}  # diagnosed, not all no-match

    # Importing the file again creates nothing: every ticket row is a duplicate of this import.
    again_id, again = _import(path, chunk_rows=32)
    assert not _tickets_by_ref(again_id)
    dups = [o for o in again if o["outcome"] == "skipped" and "duplicate" in o["reason"]]
    assert len(dups) == 88  # 86 tickets + the two repeated rows
    assert all(f"in import #{chunk_id}" in o["reason"] for o in dups)


def test_a_row_failing_inside_a_chunk_rolls_back_only_that_row(
    service: Service, tmp_path: Path
) -> None:
    from core.db import session_scope
    from intake.models import ImportBatch, ImportRecord
    from tickets.models import Ticket, TicketEvent

    path = tmp_path / "报修.xlsx"
    _sheet(path, 30, seed=3)
    victim = str(openpyxl.load_workbook(path).active.cell(row=13, column=5).value)  # its phone

    def break_history(_mapper: Any, _conn: Any, target: TicketEvent) -> None:
        # The ticket row is already inserted when its history is written: a NOT NULL
        # violation here must take the ticket with it.
        if target.kind == "status" and target.changes["fields"].get("phone") == victim:
            target.ticket_id = None  # type: ignore[assignment]

    event.listen(TicketEvent, "before_insert", break_history)
    try:
        batch_id, outcomes = _import(path, chunk_rows=16)
    finally:
        event.remove(TicketEvent, "before_insert", break_history)

    outcome = {o["ref"]: o for o in outcomes}
    assert outcome["row 13"]["outcome"] == "failed"
    assert outcome["row 13"]["reason"].startswith("not stored:")
    assert outcome["row 12"]["outcome"] == outcome["row 14"]["outcome"] == "created"
    created = [o for o in outcomes if o["outcome"] == "created"]
    assert len(created) == 26  # 30 rows - a duplicate - blank - too long - row 13
    with session_scope() as db:
        batch = db.get(ImportBatch, batch_id)
        assert batch is not None and (batch.created, batch.failed) == (26, 2)
        assert batch.rows_seen == 30
        assert not db.scalars(select(Ticket).where(Ticket.phone == victim)).all()
        assert db.scalar(select(func.count()).select_from(Ticket)) == 26
        assert db.scalar(select(func.count()).select_from(ImportRecord)) == 26
        assert db.scalar(select(func.count()).select_from(TicketEvent)) == 2 * 26
        assert {r["ref"] for r in batch.report["rows"]} >= {"row 13", "row 11"}


class _WorkerKilled(BaseException):
    """The worker's process killed mid-import: no handler catches it, no cleanup commits."""


def test_a_batch_whose_worker_died_is_resumed(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import storage
    from core.db import session_scope
    from intake import excel_import, importer
    from intake.import_api import accept_excel
    from intake.import_tasks import import_task
    from intake.models import ImportBatch, ImportRecord

    path = tmp_path / "sheet.xlsx"
    _sheet(path, 30)
    with session_scope() as db:
        batch_id = accept_excel(db, path.read_bytes(), path.name, None, "test").id
    monkeypatch.setattr(importer, "COMMIT_EVERY", 10)

    def killed_after_25(outcome: dict[str, Any]) -> None:
        killed_after_25.rows += 1  # type: ignore[attr-defined]
        if killed_after_25.rows == 25:  # type: ignore[attr-defined]
            raise _WorkerKilled

    killed_after_25.rows = 0  # type: ignore[attr-defined]
    with pytest.raises(_WorkerKilled), session_scope() as db:
        batch = db.get(ImportBatch, batch_id)
        assert batch is not None
        local = storage.local_file(batch.report["job"]["key"])
        assert local is not None
        excel_import.import_sheet(
            db,
            excel_import.open_sheet(local),
            actor="test",
            filename=path.name,
            batch=batch,
            on_row=killed_after_25,
            chunk_rows=5,
        )

    def state() -> tuple[ImportBatch, int]:
        with session_scope() as db:
            batch = db.get(ImportBatch, batch_id)
            assert batch is not None
            records = db.scalar(
                select(func.count())
                .select_from(ImportRecord)
                .where(ImportRecord.batch_id == batch_id)
            )
            return batch, int(records or 0)

    batch, written = state()
    assert batch.status == "running" and written == 17  # rows 1-20 saved: a blank, a dup, a fail
    # The outbox runs the job again once its lease ran out; a batch still saving progress
    # has a live worker and is left to it.
    assert import_task(batch_id) == "skipped"
    with session_scope() as db:
        stale = db.get(ImportBatch, batch_id)
        assert stale is not None
        since = datetime.fromisoformat(stale.report["progress_at"]) - timedelta(minutes=11)
        stale.report = {**stale.report, "progress_at": since.isoformat()}
    assert import_task(batch_id) == "done"

    batch, written = state()
    # As one uninterrupted run: the rows written before the kill count once, as created.
    assert batch.status == "done" and batch.rows_seen == 30
    assert (batch.created, batch.skipped, batch.failed) == (written, 2, 1) and written == 27
    reasons = [r["reason"] for r in batch.report["rows"] if r["outcome"] == "skipped"]
    assert len([r for r in reasons if r.startswith("duplicate")]) == 1
