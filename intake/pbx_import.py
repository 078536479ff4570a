"""Recorded calls from the PBX with its CDR (CSV): one ticket per call, idempotent.

Each CDR row names a call (call_id / uniqueid / uuid), its caller (src), line (dst), start and
its recording (a file name, else `<call_id>.*` in the recordings folder; stereo recordings
keep both legs, the customer on HOTLINE_CUSTOMER_CHANNEL). A call that already has a ticket —
a live call through AudioSocket or mod_audio_fork, or an earlier import — is not made again:
the recording is attached to that ticket if it has none. So a live call and its later
recording are one ticket, and importing the same CDR twice creates nothing the second time.
"""

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.db import session_scope
from core.errors import ApiError
from core.settings import get_settings
from intake import calls
from intake.audio import decode_or_reject, ticket_from_audio
from tickets.recordings import load_recording, save_recording

COLUMNS = {
    "call_id": ("call_id", "uniqueid", "uuid", "linkedid"),
    "caller": ("caller", "src", "caller_id_number", "callerid"),
    "line": ("line", "dst", "destination_number", "did"),
    "start": ("start", "start_stamp", "calldate", "started_at"),
    "recording": ("recording", "recordingfile", "record_file", "file"),
}
AUDIO_SUFFIXES = (".wav", ".mp3", ".ogg", ".opus", ".amr", ".m4a", ".gsm")


def read_cdr(data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {call_id, caller, line, start, recording}) of a CDR CSV with a header."""
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    header = {h.strip().lower(): h for h in reader.fieldnames or []}
    picked = {
        key: next((header[a] for a in names if a in header), None) for key, names in COLUMNS.items()
    }
    if picked["call_id"] is None:
        raise ApiError(
            422,
            "invalid_cdr",
            "The CDR needs a header with a call id column (call_id, uniqueid or uuid).",
        )
    for n, row in enumerate(reader, start=2):
        yield n, {k: (row.get(col) or "").strip() if col else "" for k, col in picked.items()}


def _start(value: str) -> datetime | None:
    """The CDR's start; a time without a zone is the PBX's local time (dispatch_timezone)."""
    try:
        when = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(get_settings().dispatch_timezone))
    return when


def _recording(folder: Path | None, row: dict[str, str]) -> Path | None:
    if row["recording"]:
        path = Path(row["recording"])
        if not path.is_absolute() and folder is not None:
            path = folder / path
        return path if path.is_file() else None
    if folder is None:
        return None
    found = [p for p in sorted(folder.glob(f"{row['call_id']}.*")) if p.suffix in AUDIO_SUFFIXES]
    return found[0] if found else None


def import_calls(
    data: bytes,
    *,
    recordings: Path | None,
    actor: str,
    on_row: Callable[[dict[str, Any]], None] = lambda _: None,
) -> dict[str, int]:
    """Import every CDR row (each in its own transaction: one bad row fails alone); returns
    the count of each outcome: created, joined (recording added to a live call's ticket),
    exists, no_recording, failed."""
    counts: dict[str, int] = {}
    for n, row in read_cdr(data):
        outcome: dict[str, Any] = {"row": n, "call_id": row["call_id"]}
        try:
            outcome.update(_import_row(row, recordings, actor))
        except ApiError as exc:
            outcome.update(outcome="failed", code=exc.code, message=exc.message)
        counts[outcome["outcome"]] = counts.get(outcome["outcome"], 0) + 1
        on_row(outcome)
    return counts


def _import_row(row: dict[str, str], folder: Path | None, actor: str) -> dict[str, Any]:
    path = _recording(folder, row)
    with session_scope() as db:
        call, _ = calls.register_call(
            db=db,
            call_id=row["call_id"],
            actor=actor,
            caller=row["caller"] or None,
            line=row["line"] or None,
            started_at=_start(row["start"]),
        )
        if call.ticket_id is not None:
            if path is not None and load_recording(call.ticket_id) is None:
                save_recording(call.ticket_id, path.read_bytes())
                return {"outcome": "joined", "ticket_id": call.ticket_id}
            return {"outcome": "exists", "ticket_id": call.ticket_id}
        if path is None:
            return {"outcome": "no_recording"}
        facts = calls.CallFacts(call.call_id, call.caller, call.line, "recording", call.started_at)
    data = path.read_bytes()
    decoded = decode_or_reject(data)
    with session_scope() as db:
        ticket = ticket_from_audio(
            db=db, decoded=decoded, data=data, channel="phone", actor=actor, call=facts
        )
        return {"outcome": "created", "ticket_id": ticket.id, "number": ticket.number}
