"""`/api/v1/calls`: the dialplan announces a call before its audio arrives."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from core.access import caller
from core.auth import Principal, Role
from core.deps import DB
from core.errors import GUARDED, error_responses
from intake import calls

router = APIRouter(prefix="/api/v1/calls", tags=["calls"], responses=error_responses(*GUARDED))
CALL_ROLES = (Role.agent,)  # admin always passes; the PBX holds an agent token
KNOWN = ("call_id", "caller", "line", "started_at")


class CallIn(BaseModel):
    """A call as the phone system knows it; any other keys are kept with the call."""

    model_config = ConfigDict(extra="allow")

    call_id: str = Field(description="The call's id: the AudioSocket UUID, or the fork's uuid.")
    caller: str | None = Field(default=None, description="The caller's number (CALLERID(num)).")
    line: str | None = Field(default=None, description="The hotline number dialled (DNID).")
    started_at: datetime | None = None


class CallOut(BaseModel):
    """A call and the ticket it became (null until the call has ended)."""

    call_id: str
    caller: str | None
    line: str | None
    door: str | None
    started_at: datetime | None
    extra: dict[str, Any]
    ticket_id: int | None
    ticket_number: str | None
    created_at: datetime
    updated_at: datetime


@router.post(
    "",
    status_code=201,
    response_model=CallOut,
    responses={200: {"model": CallOut, "description": "Already registered: completed."}},
)
def post_call(
    body: CallIn,
    response: Response,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Register a call before its audio arrives (201), or complete one already registered
    (200): sending the same call again changes nothing."""
    extra = {k: v for k, v in (body.model_extra or {}).items() if k not in KNOWN}
    call, created = calls.register_call(
        db=db,
        call_id=body.call_id,
        actor=who.actor,
        caller=body.caller,
        line=body.line,
        started_at=body.started_at,
        extra=extra,
    )
    if not created:
        response.status_code = 200
    return calls.call_view(db, call)


@router.get("/{call_id}", response_model=CallOut, responses=error_responses(404))
def get_call(
    call_id: str,
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """A call, with its ticket once the call has ended."""
    return calls.call_view(db, calls.get_call(db=db, call_id=call_id))
