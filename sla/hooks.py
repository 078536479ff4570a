"""What the SLA engine does when other domains report a change (core.events)."""

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import events
from core.notify import NotificationDelivered, NotificationFailed
from core.tasks import enqueue_after_commit
from dispatch.events import (
    CardUndeliverable,
    DispatchAssigned,
    FieldActionDone,
    OverrideUnanswered,
    TransferArrived,
    TransferCreated,
    Unassigned,
)
from dispatch.models import TransferOrder
from sla import escalation, evidence, service
from sla.events import CalendarChanged, DeadlineSet
from sla.models import TicketSla
from tickets import service as tickets
from tickets.events import TicketTriaged
from tickets.models import Ticket

log = logging.getLogger("hotline.sla")


@events.subscribe(DeadlineSet)
def on_deadline_set(event: DeadlineSet, *, db: Session) -> None:
    """A new or moved deadline not met yet: its escalation levels fire at their instants."""
    escalation.schedule(db, event.ticket_id, event.kind, event.deadline_at)


@events.subscribe(CalendarChanged)
def on_calendar_changed(event: CalendarChanged, *, db: Session) -> None:
    """An edited calendar moves the deadlines of its open tickets, after commit."""
    enqueue_after_commit(db, service.refresh_calendar_task, event.calendar_id)


@events.subscribe(TicketTriaged)
def on_triaged(event: TicketTriaged, *, db: Session) -> None:
    """A new ticket gets its policy and deadlines."""
    ticket = event.ticket
    if service.attach(db, ticket) is None:
        log.info("no SLA policy matches ticket %s", ticket.id)


@events.subscribe(NotificationDelivered)
def on_delivered(event: NotificationDelivered, *, db: Session) -> None:
    """A push card that reached the technician is the "pushed" evidence of its ticket."""
    delivery = event.delivery
    if delivery.kind != "dispatch.card" or delivery.ref_type != "ticket":
        return
    try:
        ticket_id = int(delivery.ref_id)
    except (TypeError, ValueError):
        log.warning("push card %s names no ticket id (%r)", delivery.id, delivery.ref_id)
        return
    if db.get(Ticket, ticket_id) is None:
        # Never abort the delivery's own transaction over a card for a vanished ticket.
        log.warning("push card %s names unknown ticket %s", delivery.id, ticket_id)
        return
    evidence.record_pushed(
        db,
        ticket_id=ticket_id,
        at=delivery.delivered_at,
        actor=f"system:notify:{delivery.channel}",
        proof={
            "delivery_id": delivery.id,
            "recipient": delivery.recipient,
            "channel": delivery.channel,
            "attempts": delivery.attempts,
        },
        key=f"delivery:{delivery.id}",
    )


@events.subscribe(DispatchAssigned)
def on_assigned(event: DispatchAssigned, *, db: Session) -> None:
    """Remember who took each ticket, for attainment by technician (one query per batch of
    offers: a dispatched pool of 1,000 must not cost 1,000 lookups)."""
    offers = event.offers
    ids = [o.ticket.id for o in offers]
    slas = {
        s.ticket_id: s for s in db.scalars(select(TicketSla).where(TicketSla.ticket_id.in_(ids)))
    }
    for o in offers:
        sla = slas.get(o.ticket.id)
        if sla is not None:
            sla.technician = getattr(o.technician, "name", None) or str(o.technician)
            sla.department = getattr(o.technician, "department", None) or sla.department


def _part_pause(db: Session, ticket_id: int, order: TransferOrder, action: str) -> None:
    ref = str(order.id)
    service.record_pause(
        db,
        ticket_id=ticket_id,
        kind="waiting_part",
        action=action,
        actor="system:parts",
        ref=ref,
        key=f"transfer:{ref}",
    )


@events.subscribe(TransferCreated)
def on_transfer_created(event: TransferCreated, *, db: Session) -> None:
    """Waiting for a part stops the clocks until its transfer order arrives."""
    ticket_id, order = event.ticket_id, event.order
    _part_pause(db, ticket_id, order, "start")


@events.subscribe(TransferArrived)
def on_transfer_arrived(event: TransferArrived, *, db: Session) -> None:
    """The part is there: the clocks run again."""
    ticket_id, order = event.ticket_id, event.order
    _part_pause(db, ticket_id, order, "end")


@events.subscribe(FieldActionDone)
def on_field_action(event: FieldActionDone, *, db: Session) -> None:
    """The technician app's evidence: arrival with GPS is the "viewed" node (counted inside
    the service radius), a tap-to-call is kept as a fact, a pause stops the clocks."""
    kind, ticket, technician = event.kind, event.ticket, event.technician
    action_id, actor, data, outcome = event.action_id, event.actor, event.data, event.outcome
    if kind == "arrive":
        row, _dup = evidence.record_viewed(
            db,
            ticket_id=ticket.id,
            technician_id=technician.id,
            lat=data["lat"],
            lon=data["lon"],
            actor=actor,
            report_id=action_id,
        )
    elif kind == "call":
        row, _dup = evidence.record_call_started(
            db,
            ticket_id=ticket.id,
            technician_id=technician.id,
            callee=ticket.phone,
            actor=actor,
            key=action_id,
        )
    elif kind in ("pause", "resume", "resolve") and data.get("reason"):
        service.record_pause(
            db,
            ticket_id=ticket.id,
            kind=data["reason"],
            action=data["action"],
            actor=actor,
            ref="app",
            key=action_id,
        )
        return
    else:
        return
    outcome["evidence"] = {
        "kind": row.kind,
        "accepted": row.accepted,
        "rejection_reason": row.rejection_reason,
    }


def _tell(db: Session, ticket: Ticket, text: str, item: dict[str, Any]) -> str:
    """Alert the supervisor now and note on the ticket who was told."""
    who = escalation.alert_staff(
        db, region=ticket.region, text=text, item=item, ref_type="ticket", ref_id=ticket.id
    )
    tickets.add_note(db=db, ticket=ticket, actor="system:sla", note=f"{text}（已告知：{who}）")
    return who


@events.subscribe(CardUndeliverable)
def on_card_undeliverable(event: CardUndeliverable, *, db: Session) -> None:
    """Push cards that cannot be sent: each region's supervisor hears of them at once, one
    alert per dispatch batch (the technician still sees the offer in the app)."""
    offers, reason = event.offers, event.reason
    by_region: dict[str | None, list[Any]] = {}
    for o in offers:
        by_region.setdefault(o.ticket.region, []).append(o)
    for region, group in by_region.items():
        shown = "、".join(f"{o.ticket.number} → {o.technician.name}" for o in group[:20])
        more = f" 等 {len(group)} 张" if len(group) > 20 else ""
        text = f"派单推送无法送达（{reason}）：{shown}{more}"
        who = escalation.alert_staff(
            db,
            region=region,
            text=text,
            item={
                "type": "dispatch.card_undeliverable",
                "ticket_ids": [o.ticket.id for o in group],
            },
            ref_type="ticket",
            ref_id=group[0].ticket.id,
        )
        for o in group:
            tickets.record_event(
                db,
                o.ticket,
                actor="system:sla",
                kind="note",
                reason=f"派单推送无法送达：{reason}（已告知：{who}）",
            )
            o.assignment.explanation = {**o.assignment.explanation, "card_alert": who}


@events.subscribe(NotificationFailed)
def on_card_failed(event: NotificationFailed, *, db: Session) -> None:
    """A push card the notifier gave up on: the supervisor is told."""
    delivery = event.delivery
    if delivery.kind != "dispatch.card" or delivery.ref_type != "ticket":
        return
    ticket = db.get(Ticket, int(delivery.ref_id))
    if ticket is not None:
        text = (
            f"派单推送失败：工单 {ticket.number} → {delivery.recipient}，"
            f"{delivery.attempts} 次尝试均失败（{(delivery.last_error or '')[:80]}）"
        )
        _tell(db, ticket, text, {"type": "dispatch.card_failed", "delivery_id": delivery.id})


@events.subscribe(OverrideUnanswered)
def on_override_unanswered(event: OverrideUnanswered, *, db: Session) -> None:
    """A supervisor's assignment nobody answered stays in place; the supervisor is told."""
    assignment = event.assignment
    ticket = db.get(Ticket, assignment.ticket_id)
    if ticket is not None:
        text = (
            f"主管指派未应答：工单 {ticket.number} 指派给技师 #{assignment.technician_id} "
            "已超时未接单，派单保留，请联系技师或改派"
        )
        _tell(
            db,
            ticket,
            text,
            {"type": "dispatch.override_unanswered", "assignment_id": assignment.id},
        )


@events.subscribe(Unassigned)
def on_unassigned(event: Unassigned, *, db: Session) -> None:
    """The ticket went back to the pool: the board no longer names the technician."""
    ticket = event.ticket
    sla = db.scalar(select(TicketSla).where(TicketSla.ticket_id == ticket.id))
    if sla is not None:
        sla.technician = None
