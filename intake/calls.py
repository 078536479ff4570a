"""Calls from the phone system: who called on which line, and the one ticket each call becomes.

The dialplan announces a call (`POST /api/v1/calls`, keyed by the AudioSocket UUID) before its
audio arrives, or the audio door carries the same keys (mod_audio_fork's metadata). When the
call ends its ticket takes the caller's number as `fields.phone` unless the caller said
another, and keeps the call id and line; the call row then points at the ticket, so a later
recording of the same call joins that ticket instead of making a second one.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import clock, control_chars
from core.errors import ApiError, not_found
from intake.models import Call
from tickets.models import Ticket
from triage.result import TriageResult

CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,63}$")
NUMBER = re.compile(r"^\+?[0-9*#\-]{1,32}$")
MAX_EXTRA_CHARS = 4000  # the PBX's other keys are notes, not a store


@dataclass(frozen=True)
class CallFacts:
    """What the phone system told us about a call (no database row: it crosses threads)."""

    call_id: str
    caller: str | None = None
    line: str | None = None
    door: str | None = None
    started_at: datetime | None = None


def clean_number(value: str | None, name: str) -> str | None:
    """A caller or line number without spaces, or a 422 naming the field."""
    if value is None:
        return None
    number = re.sub(r"[\s()]", "", str(value))
    if not number:
        return None
    if not NUMBER.match(number):
        message = f"{name} must be a phone number (digits, + * # -), at most 32 characters."
        raise ApiError(422, "invalid_call", message)
    return number


def check_call_id(call_id: str) -> str:
    """The call id, or a 422: letters, digits and . _ : @ - only, at most 64 characters."""
    if not isinstance(call_id, str) or not CALL_ID.match(call_id):
        raise ApiError(
            422,
            "invalid_call",
            "call_id must be 1-64 letters, digits or . _ : @ - (e.g. the AudioSocket UUID).",
        )
    return call_id.lower() if _is_uuid(call_id) else call_id


def _is_uuid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value))


def find_call(*, db: Session, call_id: str) -> Call | None:
    """The call of that id, if the phone system announced it or it came in."""
    return db.scalar(select(Call).where(Call.call_id == check_call_id(call_id)))


def get_call(*, db: Session, call_id: str) -> Call:
    """The call of that id, or a 404."""
    call = find_call(db=db, call_id=call_id)
    if call is None:
        raise not_found("call", call_id)
    return call


def register_call(
    *,
    db: Session,
    call_id: str,
    actor: str,
    caller: str | None = None,
    line: str | None = None,
    door: str | None = None,
    started_at: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[Call, bool]:
    """Record a call, or complete the one already recorded under call_id (values given win,
    values left out are kept): the same announcement sent twice changes nothing. Returns the
    call and whether it is new."""
    call_id = check_call_id(call_id)
    caller, line = clean_number(caller, "caller"), clean_number(line, "line")
    control_chars.check(extra, place="body")
    if extra and len(json.dumps(extra, ensure_ascii=False, default=str)) > MAX_EXTRA_CHARS:
        message = f"The call's other keys hold over {MAX_EXTRA_CHARS} characters of JSON."
        raise ApiError(422, "invalid_call", message)
    now = clock.now()
    call = find_call(db=db, call_id=call_id)
    created = call is None
    if call is None:
        call = Call(call_id=call_id, extra={}, created_by=actor, created_at=now, updated_at=now)
        try:
            with db.begin_nested():  # the door and the dialplan may race on a new call
                db.add(call)
                db.flush()
        except IntegrityError:
            call = get_call(db=db, call_id=call_id)
            created = False
    changes = {"caller": caller, "line": line, "door": door, "started_at": started_at}
    for name, value in changes.items():
        if value is not None and getattr(call, name) != value:
            setattr(call, name, value)
            call.updated_at = now
    if extra and {**call.extra, **extra} != call.extra:
        call.extra = {**call.extra, **extra}
        call.updated_at = now
    db.flush()
    return call, created


def facts(call: Call) -> CallFacts:
    """The call's facts, detached from the session."""
    return CallFacts(call.call_id, call.caller, call.line, call.door, call.started_at)


def fill_triage(result: TriageResult, call: CallFacts) -> None:
    """Put the call's facts into a triage result before its ticket is created: the caller's
    number as the phone unless the caller said one, and the call id and line."""
    fields = result.fields
    if call.caller and not fields.get("phone"):
        fields["phone"] = call.caller
    fields["call_id"] = call.call_id
    if call.line:
        fields["line"] = call.line
    for required in result.required_fields:
        if required.get("name") == "phone" and fields.get("phone"):
            required.update(value=fields["phone"], missing=False)


def source(call: CallFacts) -> str:
    """The ticket's source: door and call id."""
    return f"{call.door or 'call'}:{call.call_id}"[:64]


def call_ticket(*, db: Session, call_id: str) -> Ticket | None:
    """The ticket a call already became, if it did."""
    call = find_call(db=db, call_id=call_id)
    return db.get(Ticket, call.ticket_id) if call and call.ticket_id else None


def link_ticket(*, db: Session, call: CallFacts, ticket: Ticket, actor: str) -> Call:
    """Record which ticket the call became (creating the call row if nobody announced it)."""
    row, _ = register_call(
        db=db,
        call_id=call.call_id,
        actor=actor,
        caller=call.caller,
        line=call.line,
        door=call.door,
        started_at=call.started_at,
    )
    row.ticket_id = ticket.id
    db.flush()
    return row


def call_view(db: Session, call: Call) -> dict[str, Any]:
    """API representation of a call."""
    ticket = db.get(Ticket, call.ticket_id) if call.ticket_id else None
    return {
        "call_id": call.call_id,
        "caller": call.caller,
        "line": call.line,
        "door": call.door,
        "started_at": call.started_at,
        "extra": call.extra,
        "ticket_id": call.ticket_id,
        "ticket_number": ticket.number if ticket else None,
        "created_at": call.created_at,
        "updated_at": call.updated_at,
    }
