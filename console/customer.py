"""The customer's progress page behind the signed link (`tickets.customer_link`), no login.

It shows the ticket's progress and nothing else of it: the status milestones, the technician's
name and masked phone, the appointment window and ETA, what to prepare; the customer may
rebook the window and, once resolved, rate the visit. A link that is not ours is refused the
same way whether or not the ticket exists (nothing to enumerate).
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.web import PREFIX, templates
from core.deps import DB
from core.errors import ApiError
from core.settings import get_settings
from dispatch import field
from dispatch.models import Assignment, Technician
from tickets import customer_link, rating
from tickets.models import Ticket, TicketEvent
from tickets.states import FINAL

router = APIRouter(prefix=customer_link.PATH, tags=["customer"])
MILESTONES = {
    "dispatched": "已为您安排技师",
    "in_progress": "技师开始维修",
    "resolved": "维修完成",
    "closed": "工单已关闭",
    "cancelled": "工单已取消",
}
STATUS = {
    "new": "已受理",
    "pending_qc": "已受理",
    "triaged": "已受理，正在安排技师",
    "reviewed": "已受理，正在安排技师",
    "dispatched": "已安排技师",
    "in_progress": "维修中",
    "resolved": "维修完成",
    "closed": "已关闭",
    "cancelled": "已取消",
}


class RatingIn(BaseModel):
    """The customer's rating: 1 (worst) to 5 (best), and why (needed for a low score)."""

    score: int
    reason: str | None = Field(default=None, max_length=500)


class RatingOut(BaseModel):
    """The rating as stored on the ticket."""

    score: int
    reason: str | None
    at: datetime
    replayed: bool


class WindowIn(BaseModel):
    """A new appointment window."""

    start: datetime
    end: datetime


class WindowOut(BaseModel):
    """The appointment window now booked."""

    start: datetime
    end: datetime


def _ticket(db: Session, token: str) -> Ticket:
    ticket = db.get(Ticket, customer_link.verify(token))
    if ticket is None:  # signed by us for a ticket since deleted
        raise ApiError(410, "link_expired", "该工单已不存在。")
    return ticket


def mask(phone: str | None) -> str | None:
    """A phone number with its middle hidden (138****5678)."""
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def _local(at: datetime | None) -> str | None:
    if at is None:
        return None
    return f"{at.astimezone(ZoneInfo(get_settings().dispatch_timezone)):%m-%d %H:%M}"


def progress(db: Session, ticket: Ticket) -> dict[str, Any]:
    """What the customer sees of their ticket (and nothing more)."""
    steps: list[tuple[datetime, str]] = [(ticket.created_at, "已受理您的报修")]
    for at, to in db.execute(
        select(TicketEvent.at, TicketEvent.to_status)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "status")
        .order_by(TicketEvent.id)
    ):
        if to in MILESTONES:
            steps.append((at, MILESTONES[to]))
    holder = db.execute(
        select(Assignment, Technician)
        .join(Technician, Technician.id == Assignment.technician_id)
        .where(Assignment.ticket_id == ticket.id, Assignment.status == "accepted")
        .order_by(Assignment.id.desc())
        .limit(1)
    ).first()
    visit = field.visit_of(db, ticket.id)
    technician = None
    eta = None
    if holder is not None:
        assignment, tech = holder
        technician = {"name": tech.name, "phone": mask(tech.phone)}
        if assignment.responded_at:
            steps.append((assignment.responded_at, f"技师{tech.name}已接单"))
        if visit is not None and visit.assignment_id == assignment.id:
            eta = visit.eta_at if not visit.arrived_at else None
            for at, label in (
                (visit.on_way_at, "技师已出发"),
                (visit.arrived_at, "技师已到达"),
            ):
                if at is not None:
                    steps.append((at, label))
    steps.sort(key=lambda s: s[0])
    window = field.visit_window(visit)
    prepare = ["请保持电话畅通，技师出发前会与您联系", "请准备好购买凭证或保修卡（如有）"]
    if ticket.product_type:
        prepare.append(f"请在{ticket.product_type}周围留出操作空间，并确保可以通电")
    done = ticket.status in FINAL or ticket.status == "resolved"
    return {
        "number": ticket.number,
        "status": STATUS.get(ticket.status, ticket.status),
        "product": " ".join(v for v in (ticket.product_type, ticket.model) if v) or None,
        "timeline": [{"at": _local(at), "label": label} for at, label in steps],
        "technician": technician,
        "window": (
            {"start": _local(window["start"]), "end": _local(window["end"])} if window else None
        ),
        "eta": _local(eta),
        "prepare": prepare,
        "can_rebook": not done,
        "can_rate": ticket.status in rating.RATEABLE and ticket.rating_score is None,
        "rating": (
            {"score": ticket.rating_score, "reason": ticket.rating_reason}
            if ticket.rating_score is not None
            else None
        ),
        "low_score": rating.LOW_SCORE,
    }


@router.get("/{token}", response_class=HTMLResponse)
def page(token: str, request: Request, db: Session = DB) -> HTMLResponse:
    """The progress page (Chinese, phone-sized)."""
    try:
        ticket = _ticket(db, token)
    except ApiError as exc:
        return templates.TemplateResponse(
            request,
            "customer/progress.html",
            {"error": exc.message, "prefix": PREFIX},
            status_code=exc.status,
        )
    return templates.TemplateResponse(
        request,
        "customer/progress.html",
        {"p": progress(db, ticket), "token": token, "prefix": PREFIX, "error": None},
    )


@router.post("/{token}/rating", response_model=RatingOut)
def rate(token: str, body: RatingIn, db: Session = DB) -> JSONResponse:
    """Rate the resolved visit (once); lands on the ticket and the technician's and region's
    figures (GET /api/v1/dispatch/ratings)."""
    ticket, replayed = rating.rate(
        db, ticket=_ticket(db, token), score=body.score, reason=body.reason
    )
    out = RatingOut(
        score=ticket.rating_score or body.score,
        reason=ticket.rating_reason,
        at=ticket.rated_at or datetime.min,
        replayed=replayed,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=200 if replayed else 201)


@router.post("/{token}/window", response_model=WindowOut)
def rebook(token: str, body: WindowIn, db: Session = DB) -> WindowOut:
    """Book or change the appointment window."""
    start, end = (_aware(body.start), _aware(body.end))
    visit = field.set_window(db, ticket=_ticket(db, token), start=start, end=end, actor="customer")
    assert visit.window_start and visit.window_end
    return WindowOut(start=visit.window_start, end=visit.window_end)


def _aware(at: datetime) -> datetime:
    """A time without zone is the customer's local time."""
    if at.tzinfo is None:
        return at.replace(tzinfo=ZoneInfo(get_settings().dispatch_timezone))
    return at
