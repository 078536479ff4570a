"""Escalation past a deadline: yellow at +5 min, red at +30 min, black at +2 h.

Each level fires exactly once per ticket and deadline: the row's unique key (ticket, deadline
kind, deadline instant, level) is inserted in a savepoint, so of several workers (or a
scheduled task and the safety sweep) only one insert wins; the alert is recorded in the
same transaction, so it is sent exactly when the row is. Firing is driven by durable Huey
tasks scheduled at the escalation instants when a deadline becomes known, plus a periodic
sweep that catches anything a lost schedule missed.

A collaboration request still unanswered at its due time raises one `overdue` escalation the
same way (task at the due instant + the sweep, same unique key): the region's supervisor is
alerted through the same path (digests included) and the owning department's contact is told
in the same transaction.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, exists, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import clock, notify
from core.db import session_scope
from core.settings import get_settings
from core.tasks import enqueue_after_commit, urgent
from sla.config import region_contact
from sla.models import (
    FLAG_KINDS,
    Collaboration,
    Department,
    Escalation,
    RegionContact,
    TicketSla,
)
from sla.service import resolved_at, running_clocks_due
from tickets.models import Ticket

LEVELS: dict[str, timedelta] = {
    "yellow": timedelta(minutes=5),
    "red": timedelta(minutes=30),
    "black": timedelta(hours=2),
}
# The level of a collaboration request left unanswered past its due time.
OVERDUE = "overdue"
LEVEL_LABELS = {
    "yellow": "黄色预警",
    "red": "红色预警",
    "black": "黑色升级（区域总监）",
    OVERDUE: "协作超时",
}
log = logging.getLogger("hotline.sla")
KIND_LABELS = {"response": "响应", "resolution": "解决", "collab": "协作答复"}


def collaboration_kind(collaboration_id: int) -> str:
    """The deadline kind of a collaboration request's escalation: one key per request."""
    return f"collab:{collaboration_id}"


def schedule(db: Session, ticket_id: int, kind: str, deadline_at: datetime) -> None:
    """After this transaction commits, schedule one durable task per level at its instant."""
    enqueue_after_commit(db, arm, ticket_id, kind, deadline_at)


def arm(ticket_id: int, kind: str, deadline_at: datetime) -> None:
    """Schedule the durable task of every level of one deadline, each at its instant."""
    now = clock.now()
    for level, offset in LEVELS.items():
        # A delay, not a wall-clock eta: it stays right when tests shift the injectable clock.
        delay = max(0.0, (deadline_at + offset - now).total_seconds())
        fire_task.schedule(args=(ticket_id, kind, deadline_at.isoformat(), level), delay=delay)


def fire(
    db: Session, ticket_id: int, kind: str, deadline_at: datetime, level: str
) -> tuple[str, datetime]:
    """Fire one level if it is due and still deserved. Returns (outcome, due instant):
    fired | duplicate | early | stale (deadline moved or paused) | met | cancelled | no_sla.

    Reads the ticket's cached clocks without recomputing them: every fact that moves a
    deadline or proves a response (evidence, pauses, calendar edits) refreshes them when it
    is recorded, and a resolution is read from the ticket's history here.
    """
    due = deadline_at + LEVELS[level]
    sla = db.get(TicketSla, ticket_id)
    if sla is None:
        return "no_sla", due
    ticket = db.get(Ticket, ticket_id)
    assert ticket is not None
    if ticket.status == "cancelled":
        return "cancelled", due
    if getattr(sla, f"{kind}_deadline_at") != deadline_at:
        return "stale", due
    done = sla.responded_at if kind == "response" else resolved_at(db, ticket)
    if done is not None and done < due:
        return "met", due
    now = clock.now()
    if now < due:
        return "early", due
    esc = Escalation(
        ticket_id=ticket_id,
        deadline_kind=kind,
        deadline_at=deadline_at,
        level=level,
        due_at=due,
        fired_at=now,
        region=ticket.region,
    )
    if not _claim(db, esc):
        return "duplicate", due
    _alert(db, esc, ticket)
    return "fired", due


def _claim(db: Session, esc: Escalation) -> bool:
    """Insert the escalation unless another worker already did (its unique key)."""
    try:
        with db.begin_nested():
            db.add(esc)
            db.flush()
    except IntegrityError:
        return False
    return True


def fire_collaboration(db: Session, collaboration_id: int) -> tuple[str, datetime | None]:
    """Escalate a collaboration request still unanswered at its due time, exactly once: the
    region's supervisor is alerted (as for any escalation) and the owning department's
    contact is told. Returns (outcome, due): fired | duplicate | early | answered | missing."""
    row = db.get(Collaboration, collaboration_id)
    if row is None:
        return "missing", None
    if row.status != "open":
        return "answered", row.due_at
    now = clock.now()
    if now < row.due_at:
        return "early", row.due_at
    ticket = db.get(Ticket, row.ticket_id)
    dept = db.get(Department, row.department_id)
    assert ticket is not None and dept is not None
    esc = Escalation(
        ticket_id=ticket.id,
        deadline_kind=collaboration_kind(row.id),
        deadline_at=row.due_at,
        level=OVERDUE,
        due_at=row.due_at,
        fired_at=now,
        region=ticket.region,
    )
    if not _claim(db, esc):
        return "duplicate", row.due_at
    _alert(db, esc, ticket)
    notify.send(
        db=db,
        kind="sla.collaboration_overdue",
        recipient=dept.contact,
        url=dept.contact_url,
        payload={
            "msgtype": "markdown",
            "markdown": {
                "content": f"协作请求超时未答复：工单 {ticket.number} {FLAG_KINDS[row.kind]}，"
                f"应于 {row.due_at:%Y-%m-%d %H:%M} UTC 前答复（{dept.name}）。{row.summary}"
            },
            "hotline": {
                "type": "sla.collaboration_overdue",
                "collaboration_id": row.id,
                "department": dept.name,
                **_item(esc, ticket),
            },
        },
        ref_type="sla.collaboration",
        ref_id=row.id,
    )
    return "fired", row.due_at


def _recipient(db: Session, region: str | None, level: str) -> tuple[str, str | None]:
    """Who is told: the region's supervisor (director for black), else the SLA admin — an
    alert never goes to nobody. The URL is None when the admin has no webhook either."""
    contact = region_contact(db, region)
    if contact is None:
        settings = get_settings()
        return settings.sla_admin_contact, settings.sla_admin_webhook_url
    if level == "black":
        return contact.director, contact.director_url
    return contact.supervisor, contact.supervisor_url


def unreachable(name: str) -> str:
    """What the board shows as the recipient when even the fallback has no webhook."""
    return f"未通知：{name}未配置 webhook"


def alert_staff(
    db: Session,
    *,
    region: str | None,
    text: str,
    item: dict[str, Any],
    ref_type: str,
    ref_id: int | str,
) -> str:
    """Tell the region's supervisor (or the SLA admin) at once about something that must not
    stay silent (a push card that cannot be delivered, an unanswered override); who was told."""
    name, url = _recipient(db, region, "red")
    if url is None:
        log.warning("dispatch alert for %s %s reached nobody: %s", ref_type, ref_id, text)
        return unreachable(name)
    notify.send(
        db=db,
        kind="dispatch.alert",
        recipient=name,
        url=url,
        payload={"msgtype": "markdown", "markdown": {"content": text}, "hotline": item},
        ref_type=ref_type,
        ref_id=ref_id,
    )
    return name


def _line(esc: Escalation, ticket: Ticket) -> str:
    late = esc.fired_at - esc.deadline_at
    kind = KIND_LABELS[esc.deadline_kind.split(":")[0]]
    return (
        f"{LEVEL_LABELS[esc.level]} 工单 {ticket.number}（{ticket.region or '未知区域'}，"
        f"{ticket.product_type or '未知产品'}）{kind}超时 "
        f"{int(late.total_seconds() // 60)} 分钟"
    )


def _item(esc: Escalation, ticket: Ticket) -> dict[str, Any]:
    return {
        "escalation_id": esc.id,
        "ticket_id": ticket.id,
        "ticket_number": ticket.number,
        "region": ticket.region,
        "deadline_kind": esc.deadline_kind,
        "deadline_at": esc.deadline_at.isoformat(),
        "level": esc.level,
        "fired_at": esc.fired_at.isoformat(),
    }


def _alert(db: Session, esc: Escalation, ticket: Ticket) -> None:
    """Tell the region's supervisor (or director, for black) now, or hold the alert for a
    digest when this recipient already got many within the digest window."""
    name, url = _recipient(db, ticket.region, esc.level)
    if url is None:
        esc.recipient = unreachable(name)  # the board says so, rather than an empty cell
        log.warning("escalation %s of ticket %s reached nobody", esc.id, ticket.id)
        db.flush()
        return
    esc.recipient = name
    settings = get_settings()
    window = timedelta(seconds=settings.sla_digest_window_s)
    recent = db.scalar(
        select(func.count())
        .select_from(Escalation)
        .where(
            Escalation.recipient == name,
            Escalation.fired_at >= esc.fired_at - window,
            Escalation.id != esc.id,
        )
    )
    if recent < settings.sla_digest_after:
        payload = {
            "msgtype": "markdown",
            "markdown": {"content": _line(esc, ticket)},
            "hotline": {"type": "sla.alert", **_item(esc, ticket)},
        }
        delivery = notify.send(
            db=db,
            kind="sla.alert",
            recipient=name,
            url=url,
            payload=payload,
            ref_type="ticket",
            ref_id=ticket.id,
        )
        esc.delivery_id = delivery.id
        db.flush()
        return
    db.flush()
    held_before = db.scalar(
        select(func.count())
        .select_from(Escalation)
        .where(
            Escalation.recipient == name,
            Escalation.delivery_id.is_(None),
            Escalation.id != esc.id,
        )
    )
    if not held_before:
        enqueue_after_commit(
            db, flush_digest_task.schedule, args=(name,), delay=window.total_seconds()
        )


def _url_of(db: Session, recipient: str) -> str | None:
    for c in db.scalars(
        select(RegionContact).where(
            or_(RegionContact.supervisor == recipient, RegionContact.director == recipient)
        )
    ):
        return c.director_url if c.director == recipient else c.supervisor_url
    settings = get_settings()
    return settings.sla_admin_webhook_url if recipient == settings.sla_admin_contact else None


def flush_digest(db: Session, recipient: str) -> int:
    """Send every held escalation of recipient as one digest; how many it carried."""
    held = list(
        db.scalars(
            select(Escalation)
            .where(Escalation.recipient == recipient, Escalation.delivery_id.is_(None))
            .order_by(Escalation.fired_at)
        )
    )
    url = _url_of(db, recipient)
    if not held or url is None:
        return 0
    tickets = {
        t.id: t
        for t in db.scalars(select(Ticket).where(Ticket.id.in_({e.ticket_id for e in held})))
    }
    counts = {lvl: sum(e.level == lvl for e in held) for lvl in LEVEL_LABELS}
    header = (
        f"SLA 预警汇总：{len(held)} 条（"
        + "，".join(f"{LEVEL_LABELS[k]} {v}" for k, v in counts.items() if v)
        + "）"
    )
    lines = [_line(e, tickets[e.ticket_id]) for e in held[:50]]
    if len(held) > 50:
        lines.append(f"……另有 {len(held) - 50} 条，见 SLA 看板")
    delivery = notify.send(
        db=db,
        kind="sla.digest",
        recipient=recipient,
        url=url,
        payload={
            "msgtype": "markdown",
            "markdown": {"content": "\n".join([header, *lines])},
            "hotline": {
                "type": "sla.digest",
                "counts": counts,
                "items": [_item(e, tickets[e.ticket_id]) for e in held],
            },
        },
        ref_type="sla.digest",
        ref_id=recipient[:64],
    )
    # Claim the rows only if no concurrent flush took them (the whole digest rolls back then).
    claimed = db.execute(
        update(Escalation)
        .where(Escalation.id.in_([e.id for e in held]), Escalation.delivery_id.is_(None))
        .values(delivery_id=delivery.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != len(held):
        raise RuntimeError(f"digest for {recipient} raced with another flush; retried later")
    return len(held)


def _overdue_collaborations(db: Session, now: datetime) -> list[int]:
    """Open collaboration requests past their due time and not escalated yet."""
    kind = literal("collab:", String) + cast(Collaboration.id, String)
    escalated = exists().where(
        Escalation.ticket_id == Collaboration.ticket_id,
        Escalation.deadline_kind == kind,
        Escalation.level == OVERDUE,
    )
    stmt = select(Collaboration.id).where(
        Collaboration.status == "open", Collaboration.due_at <= now, ~escalated
    )
    return list(db.scalars(stmt.order_by(Collaboration.id)))


def sweep(db: Session) -> dict[str, int]:
    """Fire every due, unfired level (covers lost schedules and restarts), escalate overdue
    collaboration requests, and flush digests held longer than the window. Returns outcome
    counts."""
    now = clock.now()
    first = LEVELS["yellow"]

    def open_levels(kind: str) -> Any:
        # Not yet escalated to black for the deadline it has now.
        deadline = getattr(TicketSla, f"{kind}_deadline_at")
        return ~exists().where(
            Escalation.ticket_id == TicketSla.ticket_id,
            Escalation.deadline_kind == kind,
            Escalation.deadline_at == deadline,
            Escalation.level == "black",
        )

    rows = db.execute(
        select(TicketSla.ticket_id)
        .join(Ticket, Ticket.id == TicketSla.ticket_id)
        .where(running_clocks_due(now - first, open_levels))
    ).scalars()
    candidates = list(rows)
    fired = {
        (e.ticket_id, e.deadline_kind, e.deadline_at, e.level)
        for e in db.scalars(select(Escalation).where(Escalation.ticket_id.in_(candidates)))
    }
    outcomes: dict[str, int] = {}
    for ticket_id in candidates:
        sla = db.get(TicketSla, ticket_id)
        assert sla is not None
        for kind in ("response", "resolution"):
            deadline_at = getattr(sla, f"{kind}_deadline_at")
            if deadline_at is None:
                continue
            for level, offset in LEVELS.items():
                if deadline_at + offset > now or (ticket_id, kind, deadline_at, level) in fired:
                    continue
                outcome, _ = fire(db, ticket_id, kind, deadline_at, level)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
    for collaboration_id in _overdue_collaborations(db, now):
        outcome, _ = fire_collaboration(db, collaboration_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    window = timedelta(seconds=get_settings().sla_digest_window_s)
    stale_held = db.scalars(
        select(Escalation.recipient)
        .where(
            Escalation.delivery_id.is_(None),
            Escalation.recipient.is_not(None),
            Escalation.fired_at <= now - window,
        )
        .distinct()
    )
    for recipient in list(stale_held):
        outcomes["digests"] = outcomes.get("digests", 0) + bool(flush_digest(db, recipient))
    return outcomes


# Retries cover transient database errors (SQLite's "database is locked" under contention).
@urgent.task(retries=3, retry_delay=1)
def fire_task(ticket_id: int, kind: str, deadline_iso: str, level: str) -> None:
    """Fire one escalation level at its instant; re-arm if the worker picked it up early.

    Returns nothing: Huey keeps non-None results, and tens of thousands of these run a day.
    """
    deadline_at = datetime.fromisoformat(deadline_iso)
    with session_scope() as db:
        outcome, due = fire(db, ticket_id, kind, deadline_at, level)
    if outcome == "early":
        fire_task.schedule(
            args=(ticket_id, kind, deadline_iso, level),
            delay=max(0.2, (due - clock.now()).total_seconds()),
        )
    log.debug("escalation %s %s %s %s: %s", ticket_id, kind, deadline_iso, level, outcome)


@urgent.task(retries=3, retry_delay=1)
def collaboration_overdue_task(collaboration_id: int) -> None:
    """A collaboration request's due time: escalate it if still unanswered (exactly once;
    the minute sweep is the backstop); re-arm if the worker picked it up early."""
    with session_scope() as db:
        outcome, due = fire_collaboration(db, collaboration_id)
    if outcome == "early" and due is not None:
        collaboration_overdue_task.schedule(
            args=(collaboration_id,), delay=max(0.2, (due - clock.now()).total_seconds())
        )
    log.debug("collaboration %s overdue check: %s", collaboration_id, outcome)


@urgent.task(retries=3, retry_delay=2)
def flush_digest_task(recipient: str) -> None:
    """Send the alerts held for recipient as one digest."""
    with session_scope() as db:
        flush_digest(db, recipient)
