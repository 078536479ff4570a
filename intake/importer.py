"""Writing imported requests as tickets: one savepoint per request, a per-row report, and a
unique content fingerprint so importing the same rows again creates nothing.

File-level problems (not a sheet, password-protected, no fault-description column) are found
before anything is written (see excel_import.open_sheet); from then on each row stands alone:
it becomes a ticket in 待质检 (pending_qc), or the report says why it was skipped or failed.
"""

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core import clock, control_chars
from core.errors import ApiError
from intake.models import ImportBatch, ImportRecord
from intake.prefilled import triage_prefilled_many
from tickets import service as tickets
from tickets.models import Ticket
from tickets.states import LABELS
from triage.result import TriageResult

PENDING_QC = "pending_qc"
# Rows per chunk: their new texts are embedded in one encoder call. Committing every
# COMMIT_EVERY rows makes progress visible and keeps memory bounded.
CHUNK_ROWS = 200
COMMIT_EVERY = 200  # rows per transaction (at a chunk's end), whatever the chunk size
# A worker saves progress seconds apart; a running batch silent this long lost its worker.
STALLED = timedelta(minutes=10)


@dataclass
class Draft:
    """One request read from a source, before it becomes a ticket."""

    ref: str  # where it came from: "row 5", "row 5 #2", "lines 3-9"
    text: str | None = None
    given: dict[str, Any] = field(default_factory=dict)  # the source's own field values
    fallback: dict[str, Any] = field(default_factory=dict)  # used where triage found nothing
    fingerprint: str | None = None
    reported_at: datetime | None = None
    transcript: list[dict[str, Any]] | None = None  # chat lines the request came from
    note: str | None = None
    skip: str | None = None  # why this row makes no ticket (blank, header, no description)
    why: list[str] = field(default_factory=list)  # why it was gathered, split or left out
    warnings: list[str] = field(default_factory=list)


RowCallback = Callable[[dict[str, Any]], None]


def ref_label(ref: str) -> str:
    """Where an imported ticket came from, as its history says it: "lines 3-9 item 5" →
    第3–9行（第5行的一项）, "row 5 #2" → 第5行第2条 (the report's refs stay as they are)."""
    label = re.sub(r"lines (\d+)-\1\b", r"第\1行", ref)
    label = re.sub(r"lines (\d+)-(\d+)", r"第\1–\2行", label)
    label = re.sub(r"row (\d+)", r"第\1行", label)
    label = re.sub(r" item (\d+)", r"（第\1行的一项）", label)
    return re.sub(r" #(\d+)", r"第\1条", label)


def fingerprint(kind: str, *parts: Any) -> str:
    """A stable hash of a request's normalised content (not of the file it came in)."""
    blob = json.dumps([kind, *parts], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def start_batch(
    db: Session, *, kind: str, filename: str, file_sha256: str, actor: str, status: str
) -> ImportBatch:
    """Record an import before its rows are read."""
    batch = ImportBatch(
        kind=kind,
        filename=filename[-255:],
        file_sha256=file_sha256,
        actor=actor,
        created_at=clock.now(),
        status=status,
        report={"rows": [], "warnings": []},
    )
    db.add(batch)
    db.flush()
    return batch


def run_import(
    db: Session,
    batch: ImportBatch,
    drafts: Iterable[Draft],
    *,
    channel: str,
    source: str,
    on_row: RowCallback | None = None,
    warnings: list[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportBatch:
    """Turn drafts into pending-QC tickets, chunk_rows at a time: a chunk's new texts are
    triaged together, then its rows are written each in its own savepoint (chunk_rows=1 is
    the one-row-at-a-time path). The batch keeps counts and the outcome of every row that
    did not simply become a ticket."""
    # A resumed batch (its worker died) reads the file again from the top: counts start over,
    # and the rows it had written count as created again (_import_one).
    batch.status = "running"
    batch.rows_seen = batch.created = batch.skipped = batch.failed = 0
    problems: list[dict[str, Any]] = []
    batch.report = {**batch.report, "rows": [], "warnings": list(warnings or [])}
    _stamp(batch)
    db.commit()
    cache: dict[str, TriageResult] = {}
    rows = iter(drafts)
    n = saved = 0
    while chunk := list(itertools.islice(rows, chunk_rows)):
        for outcome in _import_chunk(db, batch, chunk, channel=channel, source=source, cache=cache):
            n += 1
            # Counted here, not row by row in the batch: a dirty batch would be written
            # again at every row's savepoint.
            setattr(batch, outcome["outcome"], getattr(batch, outcome["outcome"]) + 1)
            if outcome["outcome"] != "created" or outcome.get("warnings"):
                problems.append(outcome)
            if on_row:
                on_row(outcome)
        batch.rows_seen = n
        if n - saved >= COMMIT_EVERY:
            _save_report(db, batch, problems, warnings)
            saved = n
    batch.status = "done"
    batch.finished_at = clock.now()
    _save_report(db, batch, problems, warnings)
    return batch


def _save_report(
    db: Session, batch: ImportBatch, problems: list[dict[str, Any]], warnings: list[str] | None
) -> None:
    # A copy: the column keeps snapshots, so the change is seen (an in-place list is not).
    batch.report = {**batch.report, "rows": list(problems), "warnings": list(warnings or [])}
    _stamp(batch)
    db.commit()
    db.expunge_all()  # keep the session's identity map from growing with every ticket
    db.add(batch)


def _stamp(batch: ImportBatch) -> None:
    """Note when the batch last saved progress (a worker does every COMMIT_EVERY rows)."""
    batch.report = {**batch.report, "progress_at": clock.now().isoformat()}


def stalled(batch: ImportBatch) -> bool:
    """A running batch that saved no progress for STALLED: its worker is gone."""
    at = batch.report.get("progress_at")
    return at is None or clock.now() - datetime.fromisoformat(at) > STALLED


Earlier = dict[str, tuple[int, str, str]]  # fingerprint → batch id, ref, ticket number


def _earlier(db: Session, fingerprints: list[str]) -> Earlier:
    """Tickets already imported with these fingerprints (any import, this one included)."""
    if not fingerprints:
        return {}
    found = db.execute(
        select(ImportRecord.fingerprint, ImportRecord.batch_id, ImportRecord.ref, Ticket.number)
        .join(Ticket, Ticket.id == ImportRecord.ticket_id)
        .where(ImportRecord.fingerprint.in_(fingerprints))
    )
    return {fp: (batch_id, ref, number) for fp, batch_id, ref, number in found}


def _import_chunk(
    db: Session,
    batch: ImportBatch,
    chunk: list[Draft],
    *,
    channel: str,
    source: str,
    cache: dict[str, TriageResult],
) -> list[dict[str, Any]]:
    """Each draft's outcome, in order. Rows already imported are found with one query and
    not triaged; the others are triaged together, then written one savepoint each."""
    for draft in chunk:
        if not draft.skip:
            _strip_controls(draft)
    earlier = _earlier(db, [d.fingerprint for d in chunk if not d.skip and d.fingerprint])
    todo = [d for d in chunk if not d.skip and d.fingerprint not in earlier]
    triaged = triage_prefilled_many([(d.text or "", d.given, d.fallback) for d in todo], cache)
    results = {id(d): r for d, r in zip(todo, triaged, strict=True)}
    return [
        _import_one(
            db, batch, d, results.get(id(d)), earlier=earlier, channel=channel, source=source
        )
        for d in chunk
    ]


def _strip_controls(draft: Draft) -> None:
    """Drop the control characters an old sheet or chat export may hold (a stray \\x0b from a
    pasted cell): PostgreSQL refuses a NUL, and none belongs in a ticket. The row is kept, with
    a warning."""
    parts = (draft.text, draft.given, draft.fallback, draft.transcript, draft.note)
    clean = control_chars.strip(parts)
    if clean != parts:
        draft.text, draft.given, draft.fallback, draft.transcript, draft.note = clean
        draft.warnings.append("control characters removed")


def _import_one(
    db: Session,
    batch: ImportBatch,
    draft: Draft,
    result: TriageResult | ApiError | None,
    *,
    earlier: Earlier,
    channel: str,
    source: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {"ref": draft.ref}
    if draft.why:
        out["why"] = draft.why
    if draft.warnings:
        out["warnings"] = draft.warnings
    if draft.skip:
        return {**out, "outcome": "skipped", "reason": draft.skip}
    assert draft.fingerprint and draft.text
    if draft.fingerprint in earlier:
        batch_id, ref, number = earlier[draft.fingerprint]
        if batch_id == batch.id and ref == draft.ref[:64]:
            # This very row, written by the batch's run that died: the resumed run keeps it.
            label = LABELS[PENDING_QC]
            return {**out, "outcome": "created", "ticket": number, "status_label": label}
        return {
            **out,
            "outcome": "skipped",
            "reason": _duplicate(batch, *earlier[draft.fingerprint]),
        }
    if isinstance(result, ApiError):
        return {**out, "outcome": "failed", "reason": result.message}
    assert result is not None
    try:
        with db.begin_nested():
            ticket = _create(db, batch, draft, result, channel=channel, source=source)
    except DBAPIError as exc:
        # The savepoint is rolled back: nothing of this row stays, the others go on.
        if isinstance(exc, IntegrityError) and _earlier(db, [draft.fingerprint]):
            # Another import committed the same content a moment ago.
            return {**out, "outcome": "skipped", "reason": "duplicate: imported concurrently"}
        cause = exc.orig or exc
        first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
        return {**out, "outcome": "failed", "reason": f"not stored: {first_line}"}
    # A later row with the same content in this chunk is a duplicate of this one.
    earlier[draft.fingerprint] = (batch.id, draft.ref[:64], ticket.number)
    return {
        **out,
        "outcome": "created",
        "ticket": ticket.number,
        "ticket_id": ticket.id,
        "status": ticket.status,
        "status_label": LABELS[PENDING_QC],
    }


def _duplicate(batch: ImportBatch, batch_id: int, ref: str, number: str) -> str:
    where = "earlier in this file" if batch_id == batch.id else f"in import #{batch_id}"
    return f"duplicate: same content as {ref} {where} (ticket {number})"


def _create(
    db: Session,
    batch: ImportBatch,
    draft: Draft,
    result: TriageResult,
    *,
    channel: str,
    source: str,
) -> Ticket:
    ticket = tickets.create_from_triage(
        db=db,
        triage=result,
        channel=channel,
        actor=batch.actor,
        source=source[:64],
        transcript=draft.transcript,
        # Stored in UTC: SQLite keeps no offset, so a local time would be misread.
        reported_at=draft.reported_at.astimezone(UTC) if draft.reported_at else None,
        hold_for_qc=f"导入 #{batch.id} {ref_label(draft.ref)}：{LABELS[PENDING_QC]}",
    )
    if draft.note:
        tickets.add_note(db=db, ticket=ticket, actor=batch.actor, note=draft.note)
    db.add(
        ImportRecord(
            fingerprint=draft.fingerprint,
            batch_id=batch.id,
            ticket_id=ticket.id,
            ref=draft.ref[:64],
            created_at=clock.now(),
        )
    )
    db.flush()
    return ticket


def batch_view(batch: ImportBatch) -> dict[str, Any]:
    """API representation of an import and its report."""
    return {
        "id": batch.id,
        "kind": batch.kind,
        "filename": batch.filename,
        "status": batch.status,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
        "rows_seen": batch.rows_seen,
        "created": batch.created,
        "skipped": batch.skipped,
        "failed": batch.failed,
        "warnings": batch.report.get("warnings", []),
        "problems": batch.report.get("rows", []),
        "error": batch.error,
    }


def batch_rows(db: Session, batch: ImportBatch, limit: int, offset: int) -> list[dict[str, Any]]:
    """Per-row outcomes: the tickets created and every skipped or failed row, in row order."""
    created = [
        {"ref": ref, "outcome": "created", "ticket": number, "ticket_id": tid}
        for ref, number, tid in db.execute(
            select(ImportRecord.ref, Ticket.number, Ticket.id)
            .join(Ticket, Ticket.id == ImportRecord.ticket_id)
            .where(ImportRecord.batch_id == batch.id)
        )
    ]
    noted = {r["ref"] for r in batch.report.get("rows", [])}
    rows = [r for r in created if r["ref"] not in noted] + list(batch.report.get("rows", []))
    rows.sort(key=lambda r: _ref_order(r["ref"]))
    return rows[offset : offset + limit]


def _ref_order(ref: str) -> tuple[int, ...]:
    digits = [int(x) for x in "".join(c if c.isdigit() else " " for c in ref).split()]
    return tuple(digits) or (0,)
