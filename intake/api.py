"""HTTP doors of intake."""

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.auth import Principal, Role, require_roles
from core.deps import get_db
from core.errors import ApiError
from core.settings import get_settings
from intake.audio import intake_audio
from intake.service import intake_text
from tickets.service import ticket_view

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])
INTAKE_ROLES = (Role.agent, Role.supervisor)


class TextIn(BaseModel):
    """A typed description from the app, web form or an agent."""

    text: str = Field(description="What the caller said or wrote, in Chinese.")
    channel: Literal["app", "web", "phone", "agent", "wechat", "cli", "api"] = "app"


@router.post("/text", status_code=201)
def post_text(
    body: TextIn,
    db: Session = Depends(get_db),
    who: Principal = Depends(require_roles(*INTAKE_ROLES)),
) -> dict:
    """Triage text and create a pre-diagnosed ticket."""
    ticket = intake_text(db=db, text=body.text, channel=body.channel, actor=who.actor)
    db.commit()
    return ticket_view(ticket)


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


@router.post("/audio", status_code=201)
async def post_audio(
    file: UploadFile = File(description="Call recording: WAV, MP3, M4A, AMR, OGG/Opus …"),
    channel: str = Form(default="phone"),
    db: Session = Depends(get_db),
    who: Principal = Depends(require_roles(*INTAKE_ROLES)),
) -> dict:
    """Transcribe a call recording and create its pre-diagnosed ticket."""
    data = await read_upload(file)
    ticket = intake_audio(db=db, data=data, channel=channel, actor=who.actor)
    db.commit()
    return ticket_view(ticket)
