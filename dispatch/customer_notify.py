"""Customer notifications at the visit's milestones (accepted, on the way, arrived, resolved),
sent through the notifier to an SMS gateway or a WeChat template service.

Each (assignment, milestone) is sent at most once, whatever retries the app or the notifier
make: the notifier retries one delivery row, and a second request finds that row here.
The deliveries and their results are listed on the ticket's dispatch view (`deliveries`).
"""

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import notify
from core.settings import get_settings
from tickets.customer_link import link_for
from tickets.models import Ticket

log = logging.getLogger("hotline.dispatch")
EVENTS = {
    "accepted": "技师已接单",
    "on_way": "技师已出发",
    "arrived": "技师已到达",
    "resolved": "维修已完成",
}
KIND = "customer.progress"


def _local(at: datetime | None) -> str:
    if at is None:
        return "-"
    return f"{at.astimezone(ZoneInfo(get_settings().dispatch_timezone)):%H:%M}"


def _text(event: str, ticket: Ticket, tech_name: str, eta: datetime | None, link: str) -> str:
    head = f"【售后服务】您的工单 {ticket.number[-8:]}："
    body = {
        "accepted": f"技师{tech_name}已接单，稍后将与您联系。",
        "on_way": f"技师{tech_name}已出发，预计 {_local(eta)} 到达。",
        "arrived": f"技师{tech_name}已到达现场。",
        "resolved": "维修已完成，欢迎为本次服务评分。",
    }[event]
    return f"{head}{body}进度：{link}"


def _payload(event: str, ticket: Ticket, tech_name: str, eta: datetime | None) -> dict[str, Any]:
    link = link_for(ticket.id, sent=True)
    text = _text(event, ticket, tech_name, eta, link)
    if get_settings().customer_notify_format == "wechat_template":
        return {
            "touser": ticket.phone,  # the template service maps the phone to the openid
            "template_id": f"hotline_{event}",
            "url": link,
            "data": {
                "first": {"value": EVENTS[event]},
                "keyword1": {"value": ticket.number},
                "keyword2": {"value": tech_name},
                "keyword3": {"value": _local(eta)},
                "remark": {"value": text},
            },
        }
    return {
        "to": ticket.phone,
        "template": f"HOTLINE_{event.upper()}",
        "params": {"number": ticket.number, "technician": tech_name, "eta": _local(eta)},
        "text": text,
        "link": link,
    }


def notify_customer(
    db: Session,
    *,
    ticket: Ticket,
    assignment_id: int,
    event: str,
    tech_name: str,
    eta: datetime | None = None,
) -> dict[str, Any]:
    """Queue the customer's message for this milestone once; what happened, for the action's
    answer (sent, duplicate, or why not)."""
    settings = get_settings()
    if not settings.customer_notify_url:
        return {"event": event, "status": "not_sent", "why": "no customer notifier configured"}
    if not ticket.phone:
        return {"event": event, "status": "not_sent", "why": "the ticket has no phone number"}
    key = f"{assignment_id}:{event}"
    for row in db.scalars(
        select(notify.NotificationDelivery).where(
            notify.NotificationDelivery.ref_type == "ticket",
            notify.NotificationDelivery.ref_id == str(ticket.id),
            notify.NotificationDelivery.kind == KIND,
        )
    ):
        if row.payload.get("hotline", {}).get("key") == key:
            return {"event": event, "status": "duplicate", "delivery_id": row.id}
    payload = _payload(event, ticket, tech_name, eta)
    payload["hotline"] = {"key": key, "event": event, "ticket_id": ticket.id}
    delivery = notify.send(
        db=db,
        kind=KIND,
        recipient=f"customer:{ticket.phone}",
        url=settings.customer_notify_url,
        payload=payload,
        ref_type="ticket",
        ref_id=ticket.id,
    )
    return {"event": event, "status": "queued", "delivery_id": delivery.id}


def deliveries(db: Session, ticket_id: int) -> list[dict[str, Any]]:
    """The customer's messages of a ticket and where each delivery stands."""
    rows = db.scalars(
        select(notify.NotificationDelivery)
        .where(
            notify.NotificationDelivery.ref_type == "ticket",
            notify.NotificationDelivery.ref_id == str(ticket_id),
            notify.NotificationDelivery.kind == KIND,
        )
        .order_by(notify.NotificationDelivery.id)
    )
    return [
        {
            "id": d.id,
            "event": d.payload.get("hotline", {}).get("event"),
            "recipient": d.recipient,
            "status": d.status,
            "attempts": d.attempts,
            "delivered_at": d.delivered_at,
            "last_error": d.last_error,
        }
        for d in rows
    ]
