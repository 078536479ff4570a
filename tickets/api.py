"""Ticket endpoints: list/search, read, history, change fields, move status, review."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core import phone_reads
from core.access import caller
from core.auth import Principal
from core.deps import DB
from core.errors import GUARDED, error_responses
from tickets import service
from tickets.models import Ticket
from tickets.schemas import CorrectionsOut, HistoryOut, TicketList, TicketOut
from tickets.states import STATES
from triage.deidentify import deidentify_fields, deidentify_text

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=error_responses(*GUARDED))


class FieldsIn(BaseModel):
    """Field changes (any ticket field name → new value)."""

    fields: dict[str, Any]
    reason: str | None = None
    expected_version: int | None = None


class TransitionIn(BaseModel):
    """Move to another status."""

    status: str = Field(description=f"One of {list(STATES)}")
    reason: str | None = None
    expected_version: int | None = None


class ReviewIn(BaseModel):
    """Confirm (no kb_id, no fields) or correct and confirm."""

    kb_id: str | None = Field(default=None, description="Corrected KB entry; omit to confirm.")
    no_match: bool = Field(default=False, description="The caller's problem is not in the KB.")
    fields: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None
    expected_version: int | None = None


@router.get("", response_model=TicketList)
def list_tickets(
    status: str | None = None,
    channel: str | None = None,
    product_type: str | None = None,
    kb_id: str | None = None,
    no_match: bool | None = None,
    q: str | None = Query(default=None, max_length=200),
    min_confidence: float | None = Query(default=None, ge=0, le=1),
    max_confidence: float | None = Query(default=None, ge=0, le=1),
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    sort: str = "-created_at",
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Tickets by filters; sort=confidence gives the review queue (least sure first)."""
    rows, total = service.list_tickets(
        db=db,
        status=status,
        channel=channel,
        product_type=product_type,
        kb_id=kb_id,
        no_match=no_match,
        q=q,
        min_confidence=min_confidence,
        max_confidence=max_confidence,
        created_from=created_from,
        created_to=created_to,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    phone_reads.record_customers(db, who, "GET /api/v1/tickets", rows)
    return {"total": total, "items": [service.ticket_view(t) for t in rows]}


def written(db: Session, who: Principal, door: str, ticket: Ticket) -> dict:
    """The answer of a write: the full number it shows logged, the ticket as the API shows
    it, flushed first (its version is the flush's; the request commits before answering)."""
    phone_reads.record_customers(db, who, door, [ticket])
    db.flush()
    return service.ticket_view(ticket)


@router.get("/{ticket_id}", response_model=TicketOut, responses=error_responses(404))
def get_ticket(ticket_id: str, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """One ticket by id or number."""
    ticket = service.get_ticket(db=db, ticket_id=ticket_id)
    phone_reads.record_customers(db, who, "GET /api/v1/tickets/{id}", [ticket])
    return service.ticket_view(ticket)


@router.get("/{ticket_id}/history", response_model=HistoryOut, responses=error_responses(404))
def get_history(ticket_id: str, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """The ticket's append-only history."""
    events = service.history(db=db, ticket_id=ticket_id)
    if any("phone" in repr(e.changes) for e in events):
        phone_reads.record_customers(
            db,
            who,
            "GET /api/v1/tickets/{id}/history",
            [service.get_ticket(db=db, ticket_id=ticket_id)],
        )
    return {"items": [service.event_view(e) for e in events]}


@router.patch("/{ticket_id}", response_model=TicketOut, responses=error_responses(404, 409))
def patch_fields(
    ticket_id: str, body: FieldsIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Change fields (logged with actor and reason)."""
    ticket = service.set_fields(
        db=db,
        ticket_id=ticket_id,
        changes=body.fields,
        actor=who.actor,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return written(db, who, "PATCH /api/v1/tickets/{id}", ticket)


@router.post(
    "/{ticket_id}/transition", response_model=TicketOut, responses=error_responses(404, 409)
)
def post_transition(
    ticket_id: str,
    body: TransitionIn,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Move the ticket through its state machine."""
    ticket = service.transition(
        db=db,
        ticket_id=ticket_id,
        to=body.status,
        actor=who.actor,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return written(db, who, "POST /api/v1/tickets/{id}/transition", ticket)


@router.post("/{ticket_id}/review", response_model=TicketOut, responses=error_responses(404, 409))
def post_review(
    ticket_id: str, body: ReviewIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Agent review: confirm, or correct diagnosis/fields and confirm."""
    ticket = service.review(
        db=db,
        ticket_id=ticket_id,
        actor=who.actor,
        kb_id=body.kb_id,
        no_match=body.no_match,
        fields=body.fields,
        note=body.note,
        expected_version=body.expected_version,
    )
    return written(db, who, "POST /api/v1/tickets/{id}/review", ticket)


corrections_router = APIRouter(
    prefix="/api/v1/reviews", tags=["tickets"], responses=error_responses(*GUARDED)
)


@corrections_router.get("/corrections", response_model=CorrectionsOut)
def list_corrections(
    limit: int = Query(default=200, ge=1, le=5000),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Agents' verdicts on auto-filled tickets: labelled data for evaluation, de-identified
    (phones, the address and the caller's name masked in the text, the fields and the note;
    the ticket itself keeps them for the roles that call customers)."""
    rows = service.corrections(db=db, limit=limit, offset=offset)
    return {
        "items": [
            {
                "ticket_id": r.ticket_id,
                "at": r.at,
                "actor": r.actor,
                "text": deidentify_text(r.text),
                "predicted_kb_id": r.predicted_kb_id,
                "corrected_kb_id": r.corrected_kb_id,
                "diagnosis_correct": r.diagnosis_correct,
                "fields_correct": r.fields_correct,
                "predicted_fields": deidentify_fields(r.predicted_fields),
                "corrected_fields": deidentify_fields(r.corrected_fields),
                "note": deidentify_text(r.note),
            }
            for r in rows
        ]
    }
