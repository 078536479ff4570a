"""Ticket attachments: photos and screenshots for the field chain's attachment fields.

Files live in the storage (core/storage.py) under attachments/{ticket_id}/, named by id
(never by the uploader's name); the table keeps the original name, type, size and checksum.
Images are checked by decoding them (Pillow), not by their extension, and get a small JPEG
thumbnail next to them.
"""

import hashlib
import io
from datetime import datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock, storage
from core.db import Base, UTCDateTime
from core.errors import ApiError
from tickets.models import Ticket
from tickets.service import apply_fields, record_event
from triage.rules import get_rules

MAX_BYTES = 10 * 1024 * 1024
THUMB_PX = 240
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
PDF_MAGIC = b"%PDF-"


class Attachment(Base):
    """One uploaded file of a ticket, optionally filling one of its fields."""

    __tablename__ = "ticket_attachments"
    __table_args__ = (Index("ix_ticket_attachments_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    field: Mapped[str | None] = mapped_column(String(64), nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[str] = mapped_column(String(160))


def file_key(att: Attachment) -> str:
    """The storage key of an attachment's file."""
    return f"attachments/{att.ticket_id}/{att.id}.bin"


def thumb_key(att: Attachment) -> str:
    """The storage key of an image attachment's JPEG thumbnail (absent for PDFs)."""
    return f"attachments/{att.ticket_id}/{att.id}.thumb.jpg"


def sniff(data: bytes) -> tuple[str, Image.Image | None]:
    """The content type of an upload by its bytes, and the decoded image; a 415 for anything
    that is not an image we can read or a PDF."""
    if data.startswith(PDF_MAGIC):
        return "application/pdf", None
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ApiError(
            415,
            "unsupported_format",
            "Attachments must be JPEG, PNG, WebP or GIF images, or PDF files.",
        ) from exc
    kind = IMAGE_TYPES.get(img.format or "")
    if kind is None:
        raise ApiError(415, "unsupported_format", f"Image format {img.format} is not accepted.")
    return kind, img


def add(
    *,
    db: Session,
    ticket: Ticket,
    data: bytes,
    filename: str,
    actor: str,
    field: str | None = None,
) -> Attachment:
    """Store an upload for a ticket (size and type checked); with field, the attachment also
    fills that ticket field (value "附件#ID"), so a required photo field is satisfied."""
    if field and field not in get_rules().fields:  # before anything is stored
        raise ApiError(422, "invalid_fields", f"没有字段“{field}”。")
    if not data:
        raise ApiError(422, "file_required", "The upload is empty.")
    if len(data) > MAX_BYTES:
        raise ApiError(
            413, "file_too_large", f"Attachments are limited to {MAX_BYTES // 1024 // 1024} MB."
        )
    content_type, img = sniff(data)
    att = Attachment(
        ticket_id=ticket.id,
        field=field or None,
        filename=(Path(filename).name or "upload")[:255],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_at=clock.now(),
        uploaded_by=actor,
    )
    db.add(att)
    db.flush()
    storage.put(file_key(att), data)
    if img is not None:
        thumb = img.convert("RGB")
        thumb.thumbnail((THUMB_PX, THUMB_PX))
        out = io.BytesIO()
        thumb.save(out, "JPEG", quality=80)
        storage.put(thumb_key(att), out.getvalue())
    changes: dict[str, object] = {"attachment": f"{att.filename}（{att.size} 字节）"}
    if field:
        delta = apply_fields(ticket, {field: f"附件#{att.id}"})
        changes.update(delta)
    ticket.updated_at = clock.now()
    record_event(db, ticket, actor=actor, kind="attachment", changes=changes)
    db.flush()
    return att


def of_ticket(*, db: Session, ticket_id: int) -> list[Attachment]:
    """A ticket's attachments, oldest first."""
    stmt = select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
    return list(db.scalars(stmt))


def get(*, db: Session, ticket_id: int, attachment_id: int) -> Attachment:
    """One attachment of a ticket, or a 404."""
    att = db.get(Attachment, attachment_id)
    if att is None or att.ticket_id != ticket_id:
        raise ApiError(404, "not_found", f"No attachment {attachment_id} on this ticket.")
    return att


def view(att: Attachment) -> dict[str, object]:
    """API representation of an attachment."""
    return {
        "id": att.id,
        "ticket_id": att.ticket_id,
        "field": att.field,
        "filename": att.filename,
        "content_type": att.content_type,
        "size": att.size,
        "sha256": att.sha256,
        "uploaded_at": att.uploaded_at,
        "uploaded_by": att.uploaded_by,
    }
