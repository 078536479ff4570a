"""The read log of full phone numbers for admins: GET /api/v1/audit/phone-reads and
`hotline audit phone-reads`."""

from datetime import datetime
from typing import Annotated, Literal

import typer
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from core import phone_reads
from core.access import caller
from core.auth import Principal
from core.deps import DB
from core.errors import GUARDED, error_responses

router = APIRouter(prefix="/api/v1/audit", tags=["access"], responses=error_responses(*GUARDED))
audit_app = typer.Typer(help="Audit logs (who read whose full phone number).", no_args_is_help=True)


class PhoneReadOut(BaseModel):
    """One full number shown to one person."""

    id: int
    at: datetime
    actor: str
    role: str
    subject: Literal["ticket", "technician"]
    subject_id: int
    door: str


class PhoneReadList(BaseModel):
    """A page of reads, newest first."""

    items: list[PhoneReadOut]


@router.get("/phone-reads", response_model=PhoneReadList)
def list_phone_reads(
    subject: Literal["ticket", "technician"] | None = None,
    subject_id: int | None = Query(default=None, ge=1, le=2**31 - 1),
    actor: str | None = Query(default=None, max_length=200),
    since: datetime | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=2**31 - 1),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> PhoneReadList:
    """Who (user, role) was shown whose full phone number (a ticket's customer or a
    technician), when and through which door; newest first."""
    rows = phone_reads.listing(
        db,
        subject=subject,
        subject_id=subject_id,
        actor=actor,
        since=since,
        limit=limit,
        offset=offset,
    )
    return PhoneReadList(items=[PhoneReadOut(**phone_reads.view(r)) for r in rows])


@audit_app.command("phone-reads")
def phone_reads_cli(
    ticket: Annotated[
        int | None, typer.Option(help="Only reads of this ticket's customer.")
    ] = None,
    technician: Annotated[int | None, typer.Option(help="Only reads of this technician.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only reads by this actor (role:name).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
) -> None:
    """List who was shown whose full phone number, newest first (JSON)."""
    from core.cli_output import dump
    from core.db import session_scope

    subject, subject_id = (
        ("ticket", ticket)
        if ticket is not None
        else ("technician", technician)
        if technician is not None
        else (None, None)
    )
    with session_scope() as db:
        rows = phone_reads.listing(
            db, subject=subject, subject_id=subject_id, actor=actor, limit=limit
        )
        dump([phone_reads.view(r) for r in rows])
