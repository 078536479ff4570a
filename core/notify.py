"""Outgoing notifications (push cards, alerts): logged, delivered by workers, retried with backoff.

A caller records what to send with `send()` inside its transaction; a worker delivers it after
commit. Every try is kept (`notification_attempts`). The transport is pluggable per channel:
`webhook` posts the payload as JSON (a WeCom group robot URL takes the WeCom message JSON as
is); other channels register a sender with `register_sender`.
When a delivery succeeds or finally fails, `notification.delivered` / `notification.failed` is
published with the delivery, so domains (SLA "pushed" evidence, dispatch) can react.

At least once, never twice to the receiver's knowledge. The queue may lose a message (Redis
restarted, the write after commit failed) and a worker may die between the webhook's answer
and its commit, so every pending delivery carries `next_attempt_at`, and a sweep every
HOTLINE_OUTBOX_SWEEP_S queues again those overdue by as much. A worker takes a delivery with a
conditional UPDATE (a lease) before sending, so two workers never send it at once, and
records the outcome only after the webhook answered. A delivery sent again after such a
loss carries the same `Idempotency-Key` header (`hotline-delivery-<id>`): the receiver can
recognise it. After notify_max_attempts failed tries it is `dead`: listed for admins at
GET /api/v1/notifications/dead and sent again only on request.

The same rows are the outbox of every other side effect that must not be lost (geocoding,
bridges, an import's run): `defer()` records a delivery on the `task` channel in the
caller's transaction, naming a handler registered with `@handler(name)`; a worker on the
main queue runs it and records the outcome exactly as for a webhook (lease, retries with
backoff, sweep, dead letters). A handler may run more than once (a worker died after it
finished, before the record), so handlers are idempotent.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import httpx
from sqlalchemy import ForeignKey, Index, Integer, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock, events, webhook_targets
from core.db import Base, JsonType, UTCDateTime, session_scope
from core.settings import get_settings
from core.tasks import enqueue_after_commit, every, queue, urgent

log = logging.getLogger("hotline.notify")


class NotificationDelivery(Base):
    """One message to one recipient, and where its delivery stands."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_ref", "ref_type", "ref_id"),
        Index("ix_notification_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(64))  # e.g. dispatch.card, sla.alert, sla.digest
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(160))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    ref_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ref_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the next try is due (a pending delivery past it by sweep_grace() was lost).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
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


@dataclass(frozen=True)
class NotificationDelivered(events.Event):
    """A message reached its recipient."""

    name = "notification.delivered"
    delivery: NotificationDelivery


@dataclass(frozen=True)
class NotificationFailed(events.Event):
    """A message could not be delivered after every retry (it is a dead letter now)."""

    name = "notification.failed"
    delivery: NotificationDelivery


class DeliveryError(Exception):
    """A try failed; the message says why (kept on the attempt)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


# url, payload, idempotency key (the same on every try of one delivery) → HTTP status.
Sender = Callable[[str, dict[str, Any], str], int]
SWEEP_BATCH = 1000
TASK_CHANNEL = "task"


def sweep_grace() -> timedelta:
    """A pending delivery whose next try is this much overdue lost its queue message."""
    return timedelta(seconds=get_settings().outbox_sweep_s)


def post_json(url: str, payload: dict[str, Any], key: str) -> int:
    """Webhook transport: POST the payload as JSON with an `Idempotency-Key` header; a non-2xx
    answer, or a WeCom-style `{"errcode": n}` with n != 0, is a failure."""
    try:
        target = webhook_targets.check(url)
    except webhook_targets.RefusedTarget as exc:
        raise DeliveryError(str(exc)) from exc
    if target is None:  # check() without unresolvable_ok resolves or raises
        raise DeliveryError(f"{url} does not resolve")
    try:
        # A redirect is an answer, not a new target: following it would skip the check above.
        with httpx.Client(timeout=get_settings().notify_timeout_s) as client:
            request = client.build_request(
                "POST",
                target.url,
                json=payload,
                headers={"Idempotency-Key": key, "Host": target.host_header},
                extensions={"sni_hostname": target.hostname},  # TLS checks the name
            )
            resp = client.send(request, follow_redirects=False)
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


class Handler(NamedTuple):
    """An outbox handler: the function and how long one run may hold its lease."""

    run: Callable[..., Any]
    lease_s: float | Callable[[], float]


_handlers: dict[str, Handler] = {}


def handler(
    name: str, *, lease_s: float | Callable[[], float] = 120.0
) -> Callable[[Callable[..., Any]], Any]:
    """Register fn as the outbox handler `name` (run by `defer(handler=name, args=…)`); it
    must be idempotent. lease_s (seconds, or a function of the settings): no other worker
    takes the job while one runs it this long; a worker that died holding it delays the job
    by as much."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _handlers[name] = Handler(fn, lease_s)
        return fn

    return register


def run_handler(name: str, payload: dict[str, Any], key: str) -> int:
    """Transport of the `task` channel: run the named handler in this worker; an exception
    is a failed try (retried with backoff, dead after notify_max_attempts)."""
    h = _handlers.get(name)
    if h is None:
        raise DeliveryError(f"no outbox handler {name!r} in this worker")
    try:
        h.run(*payload.get("args", []))
    except Exception as exc:
        log.warning("outbox job %s %s failed: %s", name, key, exc, exc_info=True)
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:1000]) from exc
    return 200


_senders: dict[str, Sender] = {"webhook": post_json, TASK_CHANNEL: run_handler}


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
            next_attempt_at=_wall(),
        )
        for m in messages
    ]
    db.add_all(deliveries)
    db.flush()
    for channel, ids in _by_channel(deliveries).items():
        for i in range(0, len(ids), DELIVERY_BATCH):
            enqueue_after_commit(db, _task_for(channel), ids[i : i + DELIVERY_BATCH])
    return deliveries


def defer(
    *,
    db: Session,
    handler: str,
    args: list[Any],
    ref_type: str | None = None,
    ref_id: str | int | None = None,
) -> NotificationDelivery:
    """Record a side effect in the caller's transaction (the outbox): a worker runs the
    registered handler(*args) once it commits, at least once even if the queue loses it."""
    if handler not in _handlers:
        raise ValueError(f"no outbox handler {handler!r}")
    message = Message(
        f"task.{handler}", handler, handler, {"args": args}, TASK_CHANNEL, ref_type, ref_id
    )
    return send_many(db=db, messages=[message])[0]


def _by_channel(deliveries: list[NotificationDelivery]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for d in deliveries:
        out.setdefault(d.channel, []).append(d.id)
    return out


def _task_for(channel: str) -> Any:
    # Outbox jobs (geocoding, imports) run on the main queue: they must never hold up a push.
    return run_outbox_task if channel == TASK_CHANNEL else deliver_task


def delivery_key(delivery_id: int) -> str:
    """The Idempotency-Key the receiver sees on every try of one delivery."""
    return f"hotline-delivery-{delivery_id}"


def _wall() -> datetime:
    # Leases and retry times follow real time, like the queue's own ETAs (clock.now() is the
    # business time that tests may stop).
    return datetime.now(UTC)


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the given number of failed tries (exponential backoff)."""
    return get_settings().notify_retry_base_s * 2 ** max(attempts - 1, 0)


@urgent.task()
def deliver_task(delivery_ids: list[int] | int) -> list[str]:
    """Worker side of send(): one try per delivery, each in its own transactions, then a
    retry of just that delivery scheduled with backoff if it failed. (A single id: a task
    queued before deliveries were batched.)"""
    return _deliver_all([delivery_ids] if isinstance(delivery_ids, int) else delivery_ids)


@queue.task()
def run_outbox_task(delivery_ids: list[int]) -> list[str]:
    """Worker side of defer(): the same tries as deliver_task, on the main queue."""
    return _deliver_all(delivery_ids)


def _deliver_all(ids: list[int]) -> list[str]:
    outcomes = []
    for delivery_id in ids:
        try:
            outcomes.append(_deliver_one(delivery_id))
        except Exception:  # one delivery's failure must not hold up the rest of the batch
            log.exception("delivery %s: try not recorded; the sweep takes it again", delivery_id)
            outcomes.append("error")
    return outcomes


def _take(delivery_id: int) -> NotificationDelivery | None:
    """Lease a pending delivery whose try is due to this worker (None: delivered, dead, or
    another worker holds it), so no two workers send it at once on any database."""
    now = _wall()
    with session_scope() as db:
        row = db.execute(
            select(NotificationDelivery.channel, NotificationDelivery.url).where(
                NotificationDelivery.id == delivery_id
            )
        ).first()
        if row is None:
            return None
        lease = timedelta(seconds=_lease_s(row.channel, row.url))
        taken = db.execute(
            update(NotificationDelivery)
            .where(
                NotificationDelivery.id == delivery_id,
                NotificationDelivery.status == "pending",
                or_(
                    NotificationDelivery.next_attempt_at.is_(None),
                    NotificationDelivery.next_attempt_at <= now + timedelta(seconds=1),
                ),
            )
            .values(next_attempt_at=now + lease)
        ).rowcount  # type: ignore[attr-defined]
        if taken != 1:
            return None
        delivery = db.get(NotificationDelivery, delivery_id)
        assert delivery is not None
        db.expunge(delivery)
        return delivery


def _lease_s(channel: str, handler_name: str) -> float:
    if channel != TASK_CHANNEL:
        return get_settings().notify_timeout_s + 10
    h = _handlers.get(handler_name)
    if h is None:
        return 60.0
    return h.lease_s() if callable(h.lease_s) else h.lease_s


def _deliver_one(delivery_id: int) -> str:
    taken = _take(delivery_id)
    if taken is None:
        return "skipped"
    # The webhook is called outside any transaction; its answer is recorded afterwards. If
    # that record is lost, the lease runs out, the sweep sends again, same Idempotency-Key.
    try:
        status_code: int | None = _senders[taken.channel](
            taken.url, taken.payload, delivery_key(taken.id)
        )
        error = None
    except DeliveryError as exc:
        status_code, error = exc.status_code, str(exc)
    with session_scope() as db:
        delivery = db.get(NotificationDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.status != "pending":
            return "skipped"
        outcome = record_attempt(db, delivery, status_code=status_code, error=error)
        delay = retry_delay(delivery.attempts)
    if outcome == "retrying":
        _task_for(taken.channel).schedule(args=([delivery_id],), delay=delay)
    return outcome


def record_attempt(
    db: Session, delivery: NotificationDelivery, *, status_code: int | None, error: str | None
) -> str:
    """Record one try's answer (error None: delivered); publish the outcome when it is final.
    Returns delivered, retrying or dead."""
    settings = get_settings()
    now = clock.now()
    delivery.attempts += 1
    db.add(
        NotificationAttempt(
            delivery_id=delivery.id, at=now, ok=error is None, status_code=status_code, error=error
        )
    )
    if error is None:
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.last_error = None
        delivery.next_attempt_at = None
        events.publish(NotificationDelivered(delivery=delivery), db=db)
        return "delivered"
    delivery.last_error = error
    if delivery.attempts >= settings.notify_max_attempts:
        delivery.status = "dead"
        delivery.next_attempt_at = None
        events.publish(NotificationFailed(delivery=delivery), db=db)
        return "dead"
    delivery.next_attempt_at = _wall() + timedelta(seconds=retry_delay(delivery.attempts))
    return "retrying"


def sweep(*, now: datetime | None = None) -> list[int]:
    """Queue again the pending deliveries whose try is overdue by sweep_grace() (their queue
    message was lost, or the worker died mid-try, its lease long over); returns their ids.
    They are marked due at once (next_attempt_at None), so any worker may take them."""
    cutoff = (now or _wall()) - sweep_grace()
    overdue = (NotificationDelivery.status == "pending") & or_(
        NotificationDelivery.next_attempt_at.is_(None),
        NotificationDelivery.next_attempt_at < cutoff,
    )
    with session_scope() as db:
        rows = db.execute(
            select(NotificationDelivery.id, NotificationDelivery.channel)
            .where(overdue)
            .order_by(NotificationDelivery.id)
            .limit(SWEEP_BATCH)
        ).all()
        ids = [r.id for r in rows]
        if ids:
            db.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.id.in_(ids), overdue)
                .values(next_attempt_at=None)
            )
    for channel in {r.channel for r in rows}:
        same = [r.id for r in rows if r.channel == channel]
        for i in range(0, len(same), DELIVERY_BATCH):
            _task_for(channel)(same[i : i + DELIVERY_BATCH])
    if ids:
        log.warning("re-queued %d deliveries whose try was overdue", len(ids))
    return ids


@every(lambda: get_settings().outbox_sweep_s)
def sweep_task() -> int:
    """Every HOTLINE_OUTBOX_SWEEP_S in every worker: deliveries and outbox jobs that lost their
    queue message are queued again (a ticker, not a queued periodic task: a Redis restart
    loses the queue's schedule with its messages)."""
    return len(sweep())


def revive(*, db: Session, delivery_id: int) -> NotificationDelivery | None:
    """Send a dead delivery again (an admin fixed the receiver): pending, tries from zero,
    same Idempotency-Key. None if there is no such dead delivery."""
    delivery = db.get(NotificationDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != "dead":
        return None
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = _wall()
    enqueue_after_commit(db, _task_for(delivery.channel), [delivery_id])
    return delivery


def recent(*, db: Session, channel: str = "webhook", limit: int = 30) -> list[NotificationDelivery]:
    """The latest deliveries on a channel, newest first (where each stands, tries, last
    error)."""
    stmt = (
        select(NotificationDelivery)
        .where(NotificationDelivery.channel == channel)
        .order_by(NotificationDelivery.id.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))
