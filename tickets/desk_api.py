"""Finishing and enriching tickets over the API: close, cancel, merge, notes, attachments."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from core import phone_reads, storage
from core.access import caller
from core.auth import Principal
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses
from tickets import attachments, finish, service
from tickets.api import written
from tickets.schemas import (
    AttachmentOut,
    AttachmentsOut,
    CancelIn,
    CloseIn,
    MergeIn,
    NoteIn,
    NoteOut,
    TicketList,
    TicketOut,
)

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=error_responses(*GUARDED))


@router.post("/{ticket_id}/close", response_model=TicketOut, responses=error_responses(404, 409))
def post_close(
    ticket_id: str, body: CloseIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Close without a visit: not_a_fault, duplicate, solved_by_phone, solved_remotely."""
    ticket = finish.close(
        db=db,
        ticket_id=ticket_id,
        outcome=body.outcome,
        actor=who.actor,
        note=body.note,
        expected_version=body.expected_version,
    )
    return written(db, who, "POST /api/v1/tickets/{id}/close", ticket)


@router.post("/{ticket_id}/cancel", response_model=TicketOut, responses=error_responses(404, 409))
def post_cancel(
    ticket_id: str, body: CancelIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Cancel with a reason."""
    ticket = finish.cancel(
        db=db,
        ticket_id=ticket_id,
        reason=body.reason,
        actor=who.actor,
        expected_version=body.expected_version,
    )
    return written(db, who, "POST /api/v1/tickets/{id}/cancel", ticket)


@router.post("/{ticket_id}/merge", response_model=TicketOut, responses=error_responses(404, 409))
def post_merge(
    ticket_id: str, body: MergeIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Merge this duplicate into another ticket; returns the kept ticket."""
    kept = finish.merge(
        db=db, duplicate_id=ticket_id, into_id=body.into, actor=who.actor, note=body.note
    )
    return written(db, who, "POST /api/v1/tickets/{id}/merge", kept)


@router.get("/{ticket_id}/duplicates", response_model=TicketList, responses=error_responses(404))
def get_duplicates(ticket_id: str, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """Open tickets that are likely the same request (same phone or device, same product)."""
    ticket = service.get_ticket(db=db, ticket_id=ticket_id)
    rows = finish.duplicate_candidates(db=db, ticket=ticket)
    phone_reads.record_customers(db, who, "GET /api/v1/tickets/{id}/duplicates", rows)
    return {"items": [service.ticket_view(t) for t in rows]}


@router.post(
    "/{ticket_id}/notes", status_code=201, response_model=NoteOut, responses=error_responses(404)
)
def post_note(
    ticket_id: str, body: NoteIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Add an internal note to the ticket's history."""
    ticket = service.get_ticket(db=db, ticket_id=ticket_id)
    service.add_note(db=db, ticket=ticket, actor=who.actor, note=body.note)
    return {"ticket_id": ticket.id, "note": body.note}


@router.post(
    "/{ticket_id}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    responses=error_responses(404, 409, 413, 415),
)
async def post_attachment(
    ticket_id: str,
    file: Annotated[UploadFile, File()],
    field: Annotated[str | None, Form()] = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Upload a photo/screenshot (JPEG, PNG, WebP, GIF) or PDF, at most 10 MB; with field, it
    fills that ticket field (e.g. a required photo of the nameplate)."""
    data = await file.read(attachments.MAX_BYTES + 1)
    ticket = service.get_ticket(db=db, ticket_id=ticket_id)
    att = attachments.add(
        db=db,
        ticket=ticket,
        data=data,
        filename=file.filename or "upload",
        actor=who.actor,
        field=field,
    )
    return attachments.view(att)


@router.get(
    "/{ticket_id}/attachments", response_model=AttachmentsOut, responses=error_responses(404)
)
def list_attachments(ticket_id: str, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """The ticket's attachments."""
    ticket = service.get_ticket(db=db, ticket_id=ticket_id)
    return {
        "items": [attachments.view(a) for a in attachments.of_ticket(db=db, ticket_id=ticket.id)]
    }


@router.get(
    "/{ticket_id}/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={
        200: {"description": "The file, or its JPEG thumbnail.", "content": {"image/*": {}}},
        **error_responses(404),
    },
)
def get_attachment(
    ticket_id: str,
    attachment_id: int,
    thumb: bool = False,
    db: Session = DB,
    _: Principal = Depends(caller),
) -> FileResponse:
    """The stored file (or its thumbnail)."""
    ticket = service.get_ticket(db=db, ticket_id=ticket_id)
    att = attachments.get(db=db, ticket_id=ticket.id, attachment_id=attachment_id)
    return file_response(att, thumb=thumb)


def file_response(att: attachments.Attachment, *, thumb: bool = False) -> FileResponse:
    """An attachment as a download (images inline), or its thumbnail."""
    if thumb:
        path = storage.local_file(attachments.thumb_key(att))
        if path is None:
            raise ApiError(404, "not_found", "This attachment has no thumbnail.")
        return FileResponse(path, media_type="image/jpeg")
    path = storage.local_file(attachments.file_key(att))
    if path is None:
        raise ApiError(404, "not_found", "The attachment's file is missing.")
    inline = att.content_type.startswith("image/")
    return FileResponse(
        path,
        media_type=att.content_type,
        filename=att.filename,
        content_disposition_type="inline" if inline else "attachment",
    )
