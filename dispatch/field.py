"""The technician app's actions on a job: answer the offer, set off, call, arrive, start,
pause, resume and resolve — each idempotent under the id the app generated for it.

The app queues actions while offline and resends them; a resend (same action id) returns the
stored answer and does nothing twice. Other domains react through `field.action` (the SLA
records the GPS "viewed" evidence on arrival, the tap-to-call fact, and pauses); they may add
to the `outcome` dict, which becomes part of the answer.
"""

import base64
import binascii
import hashlib
import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import clock, events
from core.errors import ApiError
from core.settings import get_settings
from dispatch import answers, customer_notify, parts, requirements, technicians, views
from dispatch.cards import device_history, navigation_url
from dispatch.events import FieldActionDone
from dispatch.geofence import check_coordinates
from dispatch.models import Assignment, FieldAction, FieldVisit, Technician
from knowledge_base.models import KBEntry
from tickets import service as tickets
from tickets.models import Ticket
from tickets.states import FINAL

KINDS = ("accept", "decline", "on_way", "call", "arrive", "start", "pause", "resume", "resolve")
PAUSE_REASONS = {"waiting_part": "等备件", "waiting_customer": "等客户"}
ACTION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_PHOTOS = 6
MAX_IMAGE_BYTES = 3 * 1024 * 1024
IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}


def visit_of(db: Session, ticket_id: int) -> FieldVisit | None:
    """The ticket's visit record, if the app or the customer has touched it."""
    return db.get(FieldVisit, ticket_id)


def _visit(db: Session, ticket_id: int, assignment_id: int | None) -> FieldVisit:
    """The visit for this assignment: a new technician starts the progress over (the
    customer's appointment window stays)."""
    row = db.get(FieldVisit, ticket_id)
    now = clock.now()
    if row is None:
        row = FieldVisit(ticket_id=ticket_id, photos=[], parts_used=[], updated_at=now)
        db.add(row)
    if assignment_id is not None and row.assignment_id != assignment_id:
        row.assignment_id = assignment_id
        for name in ("eta_at", "on_way_at", "called_at", "arrived_at", "started_at"):
            setattr(row, name, None)
        row.paused, row.resolved_at, row.resolution, row.signature = None, None, None, None
        row.photos, row.parts_used = [], []
    row.updated_at = now
    return row


def set_window(db: Session, *, ticket: Ticket, start: Any, end: Any, actor: str) -> FieldVisit:
    """Book (or rebook) the customer's appointment window."""
    if end <= start or end - start > timedelta(hours=12):
        raise ApiError(422, "invalid_window", "预约时段须在 12 小时以内，且结束晚于开始。")
    if start < clock.now() - timedelta(minutes=5):
        raise ApiError(422, "window_in_past", "不能预约已经过去的时间。")
    if start > clock.now() + timedelta(days=60):
        raise ApiError(422, "window_too_far", "只能预约 60 天以内的时间。")
    if ticket.status in FINAL or ticket.status == "resolved":
        raise ApiError(409, "ticket_done", "工单已完成，无需预约。")
    row = _visit(db, ticket.id, None)
    old = [row.window_start, row.window_end]
    row.window_start, row.window_end = start, end
    tickets.record_event(
        db,
        ticket,
        actor=actor,
        kind="note",
        changes={"appointment": [[str(v) if v else None for v in old], [str(start), str(end)]]},
        reason="预约时段变更",
    )
    db.flush()
    return row


def _image(value: Any, what: str, ticket_id: int) -> dict[str, Any]:
    """Store one data-URL image (PNG or JPEG, checked by its bytes) under the data dir."""
    if not isinstance(value, str) or not value.startswith("data:image/") or "," not in value:
        raise ApiError(422, "invalid_image", f"{what}: expected a data:image/… URL.")
    try:
        raw = base64.b64decode(value.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(422, "invalid_image", f"{what}: not valid base64.") from exc
    if len(raw) > MAX_IMAGE_BYTES:
        raise ApiError(413, "image_too_large", f"{what}: larger than {MAX_IMAGE_BYTES} bytes.")
    ext = next((e for magic, e in IMAGE_TYPES.items() if raw.startswith(magic)), None)
    if ext is None:
        raise ApiError(422, "invalid_image", f"{what}: only PNG or JPEG images are accepted.")
    digest = hashlib.sha256(raw).hexdigest()
    root = get_settings().data_dir
    path = root / "field" / str(ticket_id) / f"{digest}.{ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{uuid.uuid4().hex}.part")
        tmp.write_bytes(raw)
        tmp.replace(path)
    return {"path": str(path.relative_to(root)), "sha256": digest, "bytes": len(raw)}


def _held(assignment: Assignment, what: str) -> None:
    if assignment.status != "accepted":
        raise ApiError(
            409, "not_accepted", f"{what}：该派单状态为 {assignment.status}，接单后才能操作。"
        )


def _publish(db: Session, ctx: dict[str, Any], outcome: dict[str, Any]) -> None:
    events.publish(FieldActionDone(outcome=outcome, **ctx), db=db)


def _accept(db: Session, ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    row = answers.accept(db, ctx["assignment"].id, tech=ctx["technician"], actor=ctx["actor"])
    _visit(db, row.ticket_id, row.id)
    return {"customer": _notify(db, ctx, "accepted")}


def _decline(db: Session, ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    reason = str(data.get("reason") or "").strip()[:200] or None
    answers.decline(
        db, ctx["assignment"].id, tech=ctx["technician"], actor=ctx["actor"], reason=reason
    )
    return {}


def _on_way(db: Session, ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    _held(ctx["assignment"], "出发")
    minutes = data.get("eta_minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 720:
        raise ApiError(422, "invalid_eta", "eta_minutes: 1 到 720 的整数（预计几分钟到达）。")
    visit = _visit(db, ctx["ticket"].id, ctx["assignment"].id)
    visit.on_way_at = clock.now()
    visit.eta_at = visit.on_way_at + timedelta(minutes=minutes)
    return {"eta_at": visit.eta_at, "customer": _notify(db, ctx, "on_way", visit.eta_at)}


def _call(db: Session, ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    _held(ctx["assignment"], "拨打电话")
    visit = _visit(db, ctx["ticket"].id, ctx["assignment"].id)
    visit.called_at = visit.called_at or clock.now()
    tickets.add_note(
        db=db, ticket=ctx["ticket"], actor=ctx["actor"], note="技师从 App 拨打客户电话"
    )
    outcome: dict[str, Any] = {"tel": ctx["ticket"].phone}
    _publish(db, ctx, outcome)
    return outcome


def _arrive(db: Session, ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    _held(ctx["assignment"], "到达")
    try:
        lat, lon = float(data["lat"]), float(data["lon"])
        check_coordinates(lat, lon)
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(422, "invalid_coordinates", f"到达需要 GPS 位置（lat, lon）：{exc}") from exc
    accuracy = data.get("accuracy_m")
    accuracy = float(accuracy) if isinstance(accuracy, int | float) else None
    technicians.record_location(db, ctx["technician"], lat, lon, accuracy)
    visit = _visit(db, ctx["ticket"].id, ctx["assignment"].id)
    visit.arrived_at = visit.arrived_at or clock.now()
    outcome: dict[str, Any] = {"arrived_at": visit.arrived_at}
    _publish(db, {**ctx, "data": {"lat": lat, "lon": lon, "accuracy_m": accuracy}}, outcome)
    outcome["customer"] = _notify(db, ctx, "arrived")
    return outcome


def _start(db: Session, ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    _held(ctx["assignment"], "开始维修")
    tickets.transition(
        db=db,
        ticket_id=ctx["ticket"].id,
        to="in_progress",
        actor=ctx["actor"],
        reason="技师开始维修",
    )
    visit = _visit(db, ctx["ticket"].id, ctx["assignment"].id)
    visit.started_at = clock.now()
    return {"status": "in_progress"}


def _pause(db: Session, ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    _held(ctx["assignment"], "暂停")
    reason = data.get("reason")
    if reason not in PAUSE_REASONS:
        raise ApiError(422, "invalid_pause", f"reason: one of {sorted(PAUSE_REASONS)}.")
    visit = _visit(db, ctx["ticket"].id, ctx["assignment"].id)
    if ctx["ticket"].status != "in_progress" or visit.paused:
        raise ApiError(409, "pause_state", "只有维修中且未暂停的工单可以暂停。")
    visit.paused = reason
    tickets.add_note(
        db=db, ticket=ctx["ticket"], actor=ctx["actor"], note=f"暂停：{PAUSE_REASONS[reason]}"
    )
    outcome: dict[str, Any] = {"paused": reason}
    _publish(db, {**ctx, "data": {"reason": reason, "action": "start"}}, outcome)
    return outcome


def _resume_paused(db: Session, ctx: dict[str, Any], visit: FieldVisit) -> dict[str, Any]:
    reason, visit.paused = visit.paused, None
    outcome: dict[str, Any] = {"resumed": reason}
    _publish(db, {**ctx, "kind": "resume", "data": {"reason": reason, "action": "end"}}, outcome)
    return outcome


def _resume(db: Session, ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    _held(ctx["assignment"], "继续")
    visit = _visit(db, ctx["ticket"].id, ctx["assignment"].id)
    if not visit.paused:
        raise ApiError(409, "pause_state", "工单未暂停。")
    return _resume_paused(db, ctx, visit)


def _resolve(db: Session, ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    _held(ctx["assignment"], "完成")
    ticket = ctx["ticket"]
    if ticket.status != "in_progress":
        raise ApiError(409, "not_started", "请先点“开始维修”，再提交完成。")
    resolution = str(data.get("resolution") or "").strip()
    if not resolution or len(resolution) > 2000:
        raise ApiError(422, "resolution_required", "请填写处理结果（2000 字以内）。")
    photos = data.get("photos") or []
    if not isinstance(photos, list) or not 1 <= len(photos) <= MAX_PHOTOS:
        raise ApiError(422, "photos_required", f"请上传 1 到 {MAX_PHOTOS} 张现场照片。")
    if not data.get("signature"):
        raise ApiError(422, "signature_required", "请客户签字确认。")
    used = data.get("parts_used") or []
    if not isinstance(used, list) or not all(isinstance(x, int) for x in used):
        raise ApiError(422, "invalid_parts", "parts_used: the ids of the reservations fitted.")
    held = {r.id: r for r in parts.held(db, ticket.id)}
    unknown = [x for x in used if x not in held]
    if unknown:
        raise ApiError(422, "invalid_parts", f"这些备件未为本工单预留：{unknown}")
    stored = [_image(p, f"照片 {i + 1}", ticket.id) for i, p in enumerate(photos)]
    signature = _image(data["signature"], "签名", ticket.id)
    visit = _visit(db, ticket.id, ctx["assignment"].id)
    outcome: dict[str, Any] = {}
    if visit.paused:
        outcome["pause"] = _resume_paused(db, ctx, visit)
    consumed = [
        parts.reservation_view(parts.consume(db, held[x], actor=ctx["actor"])) for x in used
    ]
    tickets.transition(
        db=db, ticket_id=ticket.id, to="resolved", actor=ctx["actor"], reason=resolution[:200]
    )
    visit.resolved_at, visit.resolution = clock.now(), resolution
    visit.photos, visit.signature = stored, signature
    visit.parts_used = [
        {"reservation_id": c["id"], "sku": c["sku"], "qty": c["qty"]} for c in consumed
    ]
    outcome.update(status="resolved", photos=len(stored), parts_used=visit.parts_used)
    outcome["customer"] = _notify(db, ctx, "resolved")
    return outcome


def _notify(db: Session, ctx: dict[str, Any], event: str, eta: Any = None) -> dict[str, Any]:
    return customer_notify.notify_customer(
        db,
        ticket=ctx["ticket"],
        assignment_id=ctx["assignment"].id,
        event=event,
        tech_name=ctx["technician"].name,
        eta=eta,
    )


HANDLERS = {
    "accept": _accept,
    "decline": _decline,
    "on_way": _on_way,
    "call": _call,
    "arrive": _arrive,
    "start": _start,
    "pause": _pause,
    "resume": _resume,
    "resolve": _resolve,
}


def perform(
    db: Session,
    *,
    technician: Technician,
    assignment_id: int,
    kind: str,
    action_id: str,
    data: dict[str, Any],
    actor: str,
) -> dict[str, Any]:
    """Do one app action for the technician's own offer or job, once per action id."""
    if not ACTION_ID.match(action_id or ""):
        raise ApiError(422, "invalid_action_id", "action_id: 8-64 letters, digits, '-' or '_'.")
    if kind not in HANDLERS:
        raise ApiError(422, "unknown_action", f"kind: one of {list(KINDS)}.")
    done = db.scalar(select(FieldAction).where(FieldAction.action_id == action_id))
    if done is not None:
        if (done.technician_id, done.assignment_id, done.kind) != (
            technician.id,
            assignment_id,
            kind,
        ):
            raise ApiError(409, "action_id_conflict", "This action id was used for another action.")
        return {**done.result, "replayed": True}
    assignment = answers.get_assignment(db, assignment_id, lock=True)
    if assignment.technician_id != technician.id:
        raise ApiError(403, "not_yours", f"Assignment {assignment_id} is someone else's.")
    ticket = tickets.get_ticket(db=db, ticket_id=assignment.ticket_id)
    row = FieldAction(
        action_id=action_id,
        technician_id=technician.id,
        assignment_id=assignment.id,
        ticket_id=ticket.id,
        kind=kind,
        at=clock.now(),
        actor=actor,
        result={},
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError as exc:
        raise ApiError(409, "action_in_flight", "The same action is being handled; retry.") from exc
    ctx = {
        "ticket": ticket,
        "technician": technician,
        "assignment": assignment,
        "kind": kind,
        "action_id": action_id,
        "actor": actor,
        "data": data,
    }
    outcome = HANDLERS[kind](db, ctx, data)
    result = {
        "action_id": action_id,
        "kind": kind,
        "assignment_id": assignment.id,
        "assignment_status": assignment.status,
        "ticket_status": ticket.status,
        **outcome,
    }
    row.result = _plain(result)
    db.flush()
    return row.result


def _plain(value: Any) -> Any:
    """JSON-storable copy (instants as ISO text)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def own_job(db: Session, technician: Technician, assignment_id: int) -> Assignment:
    """The technician's own open offer or job (a resolved one included); 403 for anyone
    else's and for one that has ended for them (declined, expired, reassigned)."""
    row = answers.get_assignment(db, assignment_id)
    if row.technician_id != technician.id:
        raise ApiError(403, "not_yours", f"Assignment {assignment_id} is someone else's.")
    if row.status not in ("offered", "accepted"):
        raise ApiError(
            403, "not_yours", f"Assignment {assignment_id} is {row.status}: no longer yours."
        )
    return row


def job_view(db: Session, assignment: Assignment) -> dict[str, Any]:
    """Everything the technician needs on site: the customer, the place, the diagnosis and
    its resolution, the parts reserved, the device's history, and the visit so far. The
    customer's name, phone and words only once the job is accepted."""
    ticket = tickets.get_ticket(db=db, ticket_id=assignment.ticket_id)
    taken = assignment.status == "accepted"
    req = requirements.requirement(db, ticket)
    entry = db.get(KBEntry, ticket.kb_id) if ticket.kb_id else None
    kb = (entry.published if entry else None) or {}
    visit = db.get(FieldVisit, ticket.id)
    current = visit if visit is not None and visit.assignment_id == assignment.id else None
    address = ticket.address or (req.device.address if req.device else None)
    return {
        "assignment": views.assignment_view(assignment),
        "ticket": {
            "id": ticket.id,
            "number": ticket.number,
            "status": ticket.status,
            "sla_class": ticket.sla_class,
            "customer_name": ticket.customer_name if taken else None,
            "phone": ticket.phone if taken else None,
            "address": address,
            "navigation_url": navigation_url(*req.site, address or "") if req.site else None,
            "product_type": ticket.product_type,
            "model": ticket.model,
            "firmware": ticket.firmware,
            "hardware_id": ticket.hardware_id,
            "fault_code": ticket.fault_code,
            "description": ticket.description if taken else None,
        },
        "diagnosis": {
            "kb_id": ticket.kb_id,
            "title": kb.get("title") or (ticket.diagnosis or {}).get("title"),
            "root_cause": kb.get("root_cause"),
            "resolution": kb.get("resolution"),
            "remote_fixable": kb.get("remote_fixable"),
        },
        "parts": [parts.reservation_view(r) for r in parts.held(db, ticket.id)],
        "history": device_history(db, ticket.hardware_id, exclude_ticket_id=ticket.id),
        "visit": visit_view(current) if current else None,
        "window": visit_window(visit),
    }


def visit_window(visit: FieldVisit | None) -> dict[str, Any] | None:
    """The customer's appointment window, if booked."""
    if visit is None or visit.window_start is None:
        return None
    return {"start": visit.window_start, "end": visit.window_end}


def visit_view(visit: FieldVisit) -> dict[str, Any]:
    """API representation of a visit's progress."""
    return {
        "eta_at": visit.eta_at,
        "on_way_at": visit.on_way_at,
        "called_at": visit.called_at,
        "arrived_at": visit.arrived_at,
        "started_at": visit.started_at,
        "paused": visit.paused,
        "resolved_at": visit.resolved_at,
        "resolution": visit.resolution,
        "photos": visit.photos,
        "signature": visit.signature,
        "parts_used": visit.parts_used,
    }


def jobs_today(db: Session, technician: Technician) -> list[Assignment]:
    """The technician's open offers and jobs (a job resolved before today drops off), newest
    first."""
    start = technicians.day_start()
    rows = db.execute(
        select(Assignment, Ticket, FieldVisit)
        .join(Ticket, Ticket.id == Assignment.ticket_id)
        .outerjoin(FieldVisit, FieldVisit.ticket_id == Assignment.ticket_id)
        .where(
            Assignment.technician_id == technician.id,
            Assignment.status.in_(("offered", "accepted")),
            Ticket.status.not_in(tuple(FINAL)),
        )
        .order_by(Assignment.id.desc())
        .limit(100)
    )
    return [
        a
        for a, t, v in rows
        if not (
            t.status == "resolved" and v is not None and v.resolved_at and v.resolved_at < start
        )
    ]
