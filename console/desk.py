"""The agent's desk: find any ticket, and finish it — close, cancel, merge, notes, attachments.

The ticket page itself is the review page (`console/review.py`); this module adds the list
and search, the actions that end a ticket without a visit, and what the ticket page shows
around the form (who else has it open, likely duplicates, attachments, the SLA countdown).
"""

from datetime import timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from console.models import TicketPresence
from console.web import Viewer, form_text, posted_form, redirect, render, signed_in
from core import clock, phone_reads
from core.deps import DB
from core.errors import ApiError
from intake.models import ImportBatch, ImportRecord
from intake.service import intake_text
from sla.models import TicketSla
from tickets import attachments, customer_link, finish, search
from tickets import service as tickets
from tickets.desk_api import file_response
from tickets.models import Ticket
from tickets.schemas import CancelIn, CloseIn, DeskAction, MergeIn, NoteIn
from tickets.states import FINAL, STATES
from triage.rules import get_rules

router = APIRouter()
# Someone who opened a ticket this recently is taken to still be working on it.
PRESENCE_WINDOW = timedelta(minutes=10)
# The presets shown above the list; agents save their own next to them (in the browser).
VIEWS = [
    ("待质检（导入）", {"status": "pending_qc"}),
    ("待审核", {"status": "triaged"}),
    ("处理中", {"status": "reviewed,dispatched,in_progress"}),
    ("无匹配", {"no_match": "1"}),
    ("P1 紧急", {"sla_class": "P1"}),
    ("已结束", {"status": "resolved,closed,cancelled"}),
]
FILTER_KEYS = (
    "q",
    "status",
    "channel",
    "product_type",
    "sla_class",
    "no_match",
    "batch",
    "created_from",
    "created_to",
)


@router.get("/tickets")
def ticket_list(
    request: Request, db: Session = DB, viewer: Viewer = Depends(signed_in)
) -> Response:
    """Every ticket, newest first: search box, filters, keyset paging."""
    params = dict(request.query_params)
    filters = search.filters_from(params)
    extra = []
    batch = params.get("batch", "").strip()
    if batch:
        if not batch.isdigit():
            raise ApiError(422, "invalid_request", "导入批次必须是数字编号。")
        extra.append(
            Ticket.id.in_(select(ImportRecord.ticket_id).where(ImportRecord.batch_id == int(batch)))
        )
    page = search.search(db=db, filters=filters, extra=extra, cursor=params.get("after") or None)
    kept = {k: v for k, v in params.items() if k in FILTER_KEYS and v}
    batches = db.execute(
        select(ImportBatch.id, ImportBatch.filename).order_by(ImportBatch.id.desc()).limit(50)
    ).all()
    phone_reads.record_customers(db, viewer, "console GET /console/tickets", page.rows)
    return render(
        request,
        "tickets.html",
        viewer,
        nav="tickets",
        page=page,
        params=kept,
        views=VIEWS,
        statuses=STATES,
        products=list(get_rules().product_synonyms),
        batches=batches,
        deadlines=deadlines_of(db, [t.id for t in page.rows]),
        now=clock.now(),
    )


def deadlines_of(db: Session, ids: list[int]) -> dict[int, Any]:
    """The running SLA deadline of each ticket (response until answered, then resolution)."""
    if not ids:
        return {}
    out = {}
    for row in db.scalars(select(TicketSla).where(TicketSla.ticket_id.in_(ids))):
        out[row.ticket_id] = running_deadline(row)
    return out


def running_deadline(row: TicketSla | None) -> dict[str, Any] | None:
    """Which SLA deadline runs now for a ticket, or None when both are met or it is paused."""
    if row is None or row.paused:
        return None
    if row.responded_at is None and row.response_deadline_at is not None:
        return {"kind": "response", "label": "响应", "at": row.response_deadline_at}
    if row.resolved_at is None and row.resolution_deadline_at is not None:
        return {"kind": "resolution", "label": "解决", "at": row.resolution_deadline_at}
    return None


def touch(db: Session, ticket: Ticket, viewer: Viewer) -> list[TicketPresence]:
    """Note that viewer has the ticket open; returns the others who opened it recently."""
    now = clock.now()
    try:
        # A savepoint: two tabs of one agent opening the ticket at once must not fail the page.
        with db.begin_nested():
            row = db.get(TicketPresence, (ticket.id, viewer.actor))
            if row is None:
                db.add(
                    TicketPresence(
                        ticket_id=ticket.id,
                        actor=viewer.actor,
                        name=viewer.user.display_name,
                        seen_at=now,
                    )
                )
            else:
                row.seen_at = now
            stale = TicketPresence.seen_at < now - PRESENCE_WINDOW * 6
            db.execute(delete(TicketPresence).where(stale))
    except IntegrityError:
        pass  # the other tab wrote the same row
    return list(
        db.scalars(
            select(TicketPresence).where(
                TicketPresence.ticket_id == ticket.id,
                TicketPresence.actor != viewer.actor,
                TicketPresence.seen_at >= now - PRESENCE_WINDOW,
            )
        )
    )


def open_elsewhere(db: Session, ids: list[int], viewer: Viewer) -> dict[int, list[str]]:
    """For a list of tickets: who else has each one open (the queue's collision hint)."""
    if not ids:
        return {}
    rows = db.scalars(
        select(TicketPresence).where(
            TicketPresence.ticket_id.in_(ids),
            TicketPresence.actor != viewer.actor,
            TicketPresence.seen_at >= clock.now() - PRESENCE_WINDOW,
        )
    )
    out: dict[int, list[str]] = {}
    for r in rows:
        out.setdefault(r.ticket_id, []).append(r.name)
    return out


def desk_context(db: Session, ticket: Ticket, viewer: Viewer) -> dict[str, Any]:
    """What the ticket page shows around the review form."""
    sla_row = db.get(TicketSla, ticket.id)
    return {
        "others": touch(db, ticket, viewer),
        "duplicates": []
        if ticket.status in FINAL
        else finish.duplicate_candidates(db=db, ticket=ticket),
        "attachments": attachments.of_ticket(db=db, ticket_id=ticket.id),
        "deadline": running_deadline(sla_row),
        "outcomes": finish.OUTCOMES,
        "final": ticket.status in FINAL,
        # For a caller who asks how it is going: the signed page their SMS links to.
        "customer_link": customer_link.link_for(ticket.id),
    }


# How the page names an action's fields when it says what is missing.
LABELS = {
    "outcome": "关闭结果",
    "reason": "取消原因",
    "into": "要合并到的工单号",
    "note": "备注内容",
}
Action = TypeVar("Action", bound=DeskAction)


def _posted(model: type[Action], **values: Any) -> Action:
    """A form's action parsed by the model the API parses it with (tickets.schemas), so both
    doors take and refuse the same input; a refusal is the same 422, said in Chinese."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            label = LABELS.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else "表单"
            if e["type"] in ("missing", "string_too_short"):
                problems.append(f"请填写{label}。")
            elif e["type"] == "string_too_long":
                limit, typed = e["ctx"]["max_length"], len(str(e["input"]))
                problems.append(f"{label}最多 {limit} 字，现有 {typed} 字，请删减后再提交。")
            else:
                problems.append(f"{label}格式不正确。")
        raise ApiError(422, "invalid_request", "".join(problems)) from exc


def _version(form: FormData) -> int | None:
    value = str(form.get("version", ""))
    return int(value) if value.isdigit() else None


# A call typed in by an agent: the doors an agent takes calls through, and a bound that holds
# any real call (the review page shows it whole).
CALL_CHANNELS = ("phone", "wechat", "web", "app")
MAX_CALL_CHARS = 4000


@router.get("/tickets/new")
def new_call_form(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """The form an agent types a call into (the console's door to text intake)."""
    return _new_call_page(request, viewer, text="", channel="phone")


@router.post("/tickets/new")
def new_call(
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Triage the typed call into a ticket, as `POST /api/v1/intake/text` does, and open it for
    review; a refusal keeps what was typed on the form."""
    text = str(form.get("text") or "")
    channel = str(form.get("channel") or "")
    channel = channel if channel in CALL_CHANNELS else "phone"
    error = None
    if not text.strip():
        error = "请填写来电描述：客户说了什么。"
    elif len(text) > MAX_CALL_CHARS:
        error = f"来电描述最多 {MAX_CALL_CHARS} 字，现有 {len(text)} 字，请删减后再提交。"
    if error:
        return _new_call_page(request, viewer, text=text, channel=channel, error=error, code=422)
    ticket = intake_text(db=db, text=text, channel=channel, actor=viewer.actor)
    return redirect(f"/review/{ticket.id}")


def _new_call_page(
    request: Request,
    viewer: Viewer,
    *,
    text: str,
    channel: str,
    error: str | None = None,
    code: int = 200,
) -> Response:
    return render(
        request,
        "new_call.html",
        viewer,
        code=code,
        text=text,
        channel=channel,
        channels=CALL_CHANNELS,
        max_chars=MAX_CALL_CHARS,
        error=error,
    )


@router.post("/tickets/{ticket_id}/close")
def close_ticket(
    ticket_id: str,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Close with an outcome (not a fault, solved by phone or remotely …)."""
    body = _posted(
        CloseIn,
        outcome=form.get("outcome", ""),
        note=form_text(form, "note"),
        expected_version=_version(form),
    )
    ticket = finish.close(
        db=db,
        ticket_id=ticket_id,
        outcome=body.outcome,
        actor=viewer.actor,
        note=body.note,
        expected_version=body.expected_version,
    )
    return redirect(f"/review/{ticket.id}?closed=1")


@router.post("/tickets/{ticket_id}/cancel")
def cancel_ticket(
    ticket_id: str,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Cancel with a reason (required)."""
    body = _posted(CancelIn, reason=form.get("reason", ""), expected_version=_version(form))
    ticket = finish.cancel(
        db=db,
        ticket_id=ticket_id,
        reason=body.reason,
        actor=viewer.actor,
        expected_version=body.expected_version,
    )
    return redirect(f"/review/{ticket.id}?cancelled=1")


@router.post("/tickets/{ticket_id}/merge")
def merge_ticket(
    ticket_id: str,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Merge this ticket into another (typed or suggested) one; opens the kept ticket."""
    body = _posted(MergeIn, into=form.get("into", ""), note=form_text(form, "note"))
    kept = finish.merge(
        db=db, duplicate_id=ticket_id, into_id=body.into, actor=viewer.actor, note=body.note
    )
    return redirect(f"/review/{kept.id}?merged={ticket_id}")


@router.post("/tickets/{ticket_id}/note")
def add_note(
    ticket_id: str,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """An internal note in the ticket's history."""
    body = _posted(NoteIn, note=form.get("note", ""))
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    tickets.add_note(db=db, ticket=ticket, actor=viewer.actor, note=body.note)
    return redirect(f"/review/{ticket.id}#history")


@router.post("/tickets/{ticket_id}/attachments")
def upload_attachment(
    ticket_id: str,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Upload a photo/screenshot (optionally filling a field); back to the ticket page."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ApiError(422, "file_required", "请选择要上传的文件。")
    field = form_text(form, "field")
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    data = upload.file.read(attachments.MAX_BYTES + 1)
    attachments.add(
        db=db, ticket=ticket, data=data, filename=upload.filename, actor=viewer.actor, field=field
    )
    return redirect(f"/review/{ticket.id}?uploaded=1")


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
def attachment_file(
    ticket_id: str,
    attachment_id: int,
    thumb: bool = False,
    db: Session = DB,
    _: Viewer = Depends(signed_in),
) -> Response:
    """An attachment (or its thumbnail) for the ticket page."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    att = attachments.get(db=db, ticket_id=ticket.id, attachment_id=attachment_id)
    return file_response(att, thumb=thumb)
