"""HTTP doors of intake."""

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.auth import Principal, Role, require_roles
from core.deps import get_db
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
