"""HTTP doors of intake."""

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session

from core import idempotency, phone_reads
from core.access import caller
from core.auth import Principal, Role
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses
from core.settings import get_settings
from intake import jobs
from intake.audio import decode_or_reject, ticket_from_audio
from intake.schemas import AudioQueued, JobOut
from intake.service import intake_text
from tickets.schemas import TicketOut
from tickets.service import ticket_view

router = APIRouter(prefix="/api/v1/intake", tags=["intake"], responses=error_responses(*GUARDED))
INTAKE_ROLES = (Role.agent, Role.supervisor)


class TextIn(BaseModel):
    """A typed description from the app, web form or an agent."""

    text: str = Field(description="What the caller said or wrote, in Chinese.")
    channel: Literal["app", "web", "phone", "agent", "wechat", "cli", "api"] = "app"


def caller_of(who: Principal) -> str:
    """Whose Idempotency-Keys these are (keys of different tokens never collide)."""
    return f"token:{who.token_id}"


@router.post("/text", status_code=201, response_model=TicketOut)
def post_text(
    body: TextIn,
    db: Session = DB,
    who: Principal = Depends(caller),
    key: str | None = Depends(idempotency.key_header),
) -> Any:
    """Triage text and create a pre-diagnosed ticket. With an `Idempotency-Key`, a retry
    returns the first answer and creates nothing."""
    request = idempotency.Request(
        caller_of(who),
        key,
        "POST /api/v1/intake/text",
        idempotency.fingerprint(body.text, body.channel),
    )
    if (first := idempotency.replay(db=db, request=request)) is not None:
        return first
    ticket = intake_text(db=db, text=body.text, channel=body.channel, actor=who.actor)
    view = ticket_view(ticket)
    if (first := idempotency.store(db=db, request=request, status_code=201, body=view)) is not None:
        return first
    phone_reads.record_customers(db, who, "POST /api/v1/intake/text", [ticket])
    return view


async def read_upload(file: UploadFile) -> bytes:
    """The uploaded bytes, or a 413 if they pass the configured limit."""
    limit = get_settings().max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(
            413,
            "file_too_large",
            f"The upload is over {limit // (1024 * 1024)} MB (HOTLINE_MAX_UPLOAD_BYTES).",
        )
    return data


@router.post(
    "/audio",
    status_code=201,
    response_model=TicketOut,
    responses={
        202: {
            "model": AudioQueued,
            "description": "Long recording: queued as a job (see `status_url`).",
        },
        **error_responses(413, 415),
    },
)
async def post_audio(
    file: UploadFile = File(description="Call recording: WAV, MP3, M4A, AMR, OGG/Opus …"),
    channel: str = Form(default="phone"),
    background: bool | None = Form(
        default=None,
        description="true: always queue as a job; false: always answer with the ticket; "
        "unset: queue when longer than HOTLINE_ASYNC_AUDIO_SECONDS.",
    ),
    db: Session = DB,
    who: Principal = Depends(caller),
    key: str | None = Depends(idempotency.key_header),
) -> Any:
    """Transcribe a call recording and create its pre-diagnosed ticket (201), or, for a long
    recording, queue it for a background worker and answer at once with the job (202).
    With an `Idempotency-Key`, a retry returns the first answer and creates nothing."""
    data = await read_upload(file)
    request = idempotency.Request(
        caller_of(who),
        key,
        "POST /api/v1/intake/audio",
        idempotency.fingerprint(data, channel, str(background)),
    )
    if (first := idempotency.replay(db=db, request=request)) is not None:
        return first
    decoded = await asyncio.to_thread(decode_or_reject, data)  # bad audio fails here, at once
    if background is None:
        background = decoded.duration > get_settings().async_audio_seconds
    if background:
        job = jobs.submit(
            db=db,
            data=data,
            filename=file.filename or "upload",
            duration=decoded.duration,
            channel=channel,
            actor=who.actor,
        )
        body = {"job": jobs.job_view(db, job), "status_url": f"/api/v1/intake/jobs/{job.id}"}
        if first := idempotency.store(db=db, request=request, status_code=202, body=body):
            return first
        return JSONResponse(to_jsonable_python(body), status_code=202)
    ticket = ticket_from_audio(db=db, decoded=decoded, data=data, channel=channel, actor=who.actor)
    view = ticket_view(ticket)
    if first := idempotency.store(db=db, request=request, status_code=201, body=view):
        return first
    phone_reads.record_customers(db, who, "POST /api/v1/intake/audio", [ticket])
    return view


@router.get("/jobs/{job_id}", response_model=JobOut, responses=error_responses(404))
def get_job(
    job_id: str,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Where a queued recording stands: queued, running (with progress), done (with its
    ticket) or failed (with the reason)."""
    view = jobs.job_view(db, jobs.get_job(db=db, job_id=job_id))
    if (done := view.get("ticket")) and done["customer"]["phone"]:
        phone_reads.record(db, who, "GET /api/v1/intake/jobs/{id}", tickets=[done["id"]])
    return view
