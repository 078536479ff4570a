"""Outgoing notifications (push cards, alerts): logged, delivered by workers, retried with backoff.

A caller records what to send with `send()` inside its transaction; a worker delivers it after
commit. Every try is kept (`notification_attempts`). The transport is pluggable per channel:
`webhook` posts the payload as JSON (a WeCom group robot URL takes the WeCom message JSON as
is); other channels register a sender with `register_sender`.
When a delivery succeeds or finally fails, `notification.delivered` / `notification.failed` is
published with the delivery, so domains (SLA "pushed" evidence, dispatch) can react.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import httpx
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock, events
from core.db import Base, JsonType, UTCDateTime, session_scope
from core.settings import get_settings
from core.tasks import enqueue_after_commit, queue


class NotificationDelivery(Base):
    """One message to one recipient, and where its delivery stands."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_ref", "ref_type", "ref_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(64))  # e.g. dispatch.card, sla.alert, sla.digest
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(160))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    ref_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ref_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class NotificationAttempt(Base):
    """One try to deliver: never updated."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    ok: Mapped[bool] = mapped_column(default=False)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class DeliveryError(Exception):
    """A try failed; the message says why (kept on the attempt)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


Sender = Callable[[str, dict[str, Any]], int]


def post_json(url: str, payload: dict[str, Any]) -> int:
    """Webhook transport: POST the payload as JSON; a non-2xx answer, or a WeCom-style
    `{"errcode": n}` with n != 0, is a failure."""
    try:
        resp = httpx.post(url, json=payload, timeout=get_settings().notify_timeout_s)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if resp.status_code // 100 != 2:
        raise DeliveryError(f"HTTP {resp.status_code}: {resp.text[:200]}", resp.status_code)
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("errcode") not in (None, 0):
        raise DeliveryError(f"errcode {body.get('errcode')}: {body.get('errmsg')}", 200)
    return resp.status_code


_senders: dict[str, Sender] = {"webhook": post_json}


def register_sender(channel: str, sender: Sender) -> None:
    """Add or replace the transport of a channel."""
    _senders[channel] = sender


class Message(NamedTuple):
    """One message for send_many (the arguments of send)."""

    kind: str
    recipient: str
    url: str
    payload: dict[str, Any]
    channel: str = "webhook"
    ref_type: str | None = None
    ref_id: str | int | None = None


# Deliveries per queued task: a queue write per message made bulk senders (a dispatched pool
# of 1,000 cards) spend seconds after commit; batches still spread over the worker threads.
DELIVERY_BATCH = 50


def send(
    *,
    db: Session,
    kind: str,
    recipient: str,
    url: str,
    payload: dict[str, Any],
    channel: str = "webhook",
    ref_type: str | None = None,
    ref_id: str | int | None = None,
) -> NotificationDelivery:
    """Record a message and have a worker deliver it once this transaction commits."""
    message = Message(kind, recipient, url, payload, channel, ref_type, ref_id)
    return send_many(db=db, messages=[message])[0]


def send_many(*, db: Session, messages: list[Message]) -> list[NotificationDelivery]:
    """Record several messages in one flush; workers deliver them once this transaction
    commits, DELIVERY_BATCH per task (each message keeps its own tries and retries)."""
    for m in messages:
        if m.channel not in _senders:
            raise ValueError(f"no sender for channel {m.channel!r}")
    now = clock.now()
    deliveries = [
        NotificationDelivery(
            created_at=now,
            kind=m.kind,
            channel=m.channel,
            recipient=m.recipient,
            url=m.url,
            payload=m.payload,
            ref_type=m.ref_type,
            ref_id=None if m.ref_id is None else str(m.ref_id),
            status="pending",
            attempts=0,
        )
        for m in messages
    ]
    db.add_all(deliveries)
    db.flush()
    ids = [d.id for d in deliveries]
    for i in range(0, len(ids), DELIVERY_BATCH):
        enqueue_after_commit(db, deliver_task, ids[i : i + DELIVERY_BATCH])
    return deliveries


def attempt(db: Session, delivery: NotificationDelivery) -> bool:
    """Try once; record the attempt; publish the outcome when it is final. True if delivered."""
    settings = get_settings()
    now = clock.now()
    delivery.attempts += 1
    try:
        status_code = _senders[delivery.channel](delivery.url, delivery.payload)
    except DeliveryError as exc:
        db.add(
            NotificationAttempt(
                delivery_id=delivery.id,
                at=now,
                ok=False,
                status_code=exc.status_code,
                error=str(exc),
            )
        )
        delivery.last_error = str(exc)
        if delivery.attempts >= settings.notify_max_attempts:
            delivery.status = "failed"
            events.publish("notification.failed", db=db, delivery=delivery)
        return False
    db.add(NotificationAttempt(delivery_id=delivery.id, at=now, ok=True, status_code=status_code))
    delivery.status = "delivered"
    delivery.delivered_at = now
    delivery.last_error = None
    events.publish("notification.delivered", db=db, delivery=delivery)
    return True


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the given number of failed tries (exponential backoff)."""
    return get_settings().notify_retry_base_s * 2 ** max(attempts - 1, 0)


@queue.task()
def deliver_task(delivery_ids: list[int] | int) -> list[str]:
    """Worker side of send(): one try per delivery, each in its own transaction, then a
    retry of just that delivery scheduled with backoff if it failed. (A single id: a task
    queued before deliveries were batched.)"""
    ids = [delivery_ids] if isinstance(delivery_ids, int) else delivery_ids
    return [_deliver_one(delivery_id) for delivery_id in ids]


def _deliver_one(delivery_id: int) -> str:
    with session_scope() as db:
        delivery = db.get(NotificationDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.status != "pending":
            return "skipped"
        if attempt(db, delivery):
            return "delivered"
        if delivery.status == "failed":
            return "failed"
        delay = retry_delay(delivery.attempts)
    deliver_task.schedule(args=([delivery_id],), delay=delay)
    return "retrying"
