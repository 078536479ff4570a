"""Agent review queue: auto-filled tickets, lowest confidence first; confirm or correct."""

import json
import re
import wave
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console import desk, zh
from console.highlight import entity_terms, highlight
from console.web import Viewer, posted_form, redirect, render, signed_in
from core import clock, phone_reads
from core.deps import DB
from core.errors import ApiError
from knowledge_base.models import KBEntry
from sla.models import TicketSla
from tickets import service as tickets
from tickets.models import Ticket
from tickets.recordings import has_recording, recording_file
from tickets.states import STATES
from triage.rules import TriageRules, get_rules

router = APIRouter(prefix="/review")
CLOSED_STATUSES = ("resolved", "closed", "cancelled")
QUEUE_PAGE = 50
# Always on the form; every other field of the rules appears when the chain requires it.
BASE_FIELDS = ("product_type", "model", "fault_code", "phone", "address", "customer_name")
NO_MATCH = "__none__"
OTHER_SUGGESTIONS = 300
OTHER = "__other__"
_WHY = [
    (re.compile(r"^product_type (.*) matches$"), "产品类型 {0} 一致"),
    (re.compile(r"^product_type (.*) does not match$"), "产品类型 {0} 不一致"),
    (re.compile(r"^model (.*) matches$"), "型号 {0} 在适用型号内"),
    (re.compile(r"^model (.*) does not match$"), "型号 {0} 不在适用型号内"),
    (re.compile(r"^firmware (.*) matches$"), "固件 {0} 在受影响版本内"),
    (re.compile(r"^firmware (.*) does not match$"), "固件 {0} 不在受影响版本内"),
    (re.compile(r"^fault_code (.*) matches$"), "故障码 {0} 一致"),
    (re.compile(r"^fault_code (.*) does not match$"), "故障码 {0} 不一致"),
    (re.compile(r"^run count (.*) past the entry's limit$"), "累计运行次数 {0} 超过条目阈值"),
    (re.compile(r"^semantic similarity (.*)$"), "语义相似度 {0}"),
    (re.compile(r"^keyword/pinyin overlap (.*)$"), "关键词/拼音重合 {0}"),
]


def why_cn(reason: str) -> str:
    """A triage reason in Chinese (unknown reasons pass through)."""
    for pattern, template in _WHY:
        m = pattern.match(reason)
        if m:
            return template.format(*m.groups())
    return reason


def queue(
    db: Session, limit: int = QUEUE_PAGE, offset: int = 0, status: str | None = None
) -> tuple[list[Ticket], int]:
    """Tickets waiting for review (auto-filled, or imported and awaiting a quality check),
    most urgent first: SLA class, then the time left on the response clock, then the least
    confident. status narrows it (e.g. pending_qc: the imported rows)."""
    # Not yet reviewed, whatever dispatch has done with it meanwhile. Open statuses are named
    # (not "not closed") so the (status, reviewed_at) index answers it at any table size.
    open_statuses = [s for s in STATES if s not in CLOSED_STATUSES]
    waiting = Ticket.status.in_(open_statuses) & Ticket.reviewed_at.is_(None)
    if status:
        waiting = waiting & (Ticket.status == status)
    total = db.scalar(select(func.count()).select_from(Ticket).where(waiting)) or 0
    # Clocks not yet answered count; a ticket without one sorts after those with one.
    due = case((TicketSla.responded_at.is_(None), TicketSla.response_deadline_at), else_=None)
    # Sort ids only, then load the page (sorting whole rows drags every ticket's JSON along).
    ids = list(
        db.scalars(
            select(Ticket.id)
            .outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id)
            .where(waiting)
            .order_by(Ticket.sla_class, due.is_(None), due, Ticket.confidence, Ticket.id)
            .limit(limit)
            .offset(offset)
        )
    )
    found = {t.id: t for t in db.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    return [found[i] for i in ids], total


def passes_checks(ticket: Ticket) -> bool:
    """Whether an imported ticket may be confirmed in bulk: a diagnosis was found and no
    required field is missing (anything else needs a person to look at it)."""
    return (
        ticket.status == "pending_qc"
        and not ticket.no_match
        and ticket.kb_id is not None
        and not any(r.get("missing") for r in ticket.required_fields or [])
    )


def _field_specs(rules: TriageRules) -> list[dict[str, Any]]:
    names = list(dict.fromkeys([*BASE_FIELDS, *rules.fields]))
    return [
        {
            "name": n,
            "label": rules.fields.get(n, {}).get("label", n),
            "kind": rules.fields.get(n, {}).get("kind", "text"),
            "base": n in BASE_FIELDS,
        }
        for n in names
    ]


def _parse_form(form: Any, rules: TriageRules) -> tuple[dict[str, Any], str | None, bool, str]:
    """Field values, chosen kb_id, no_match flag and note from a posted review form."""
    values: dict[str, Any] = {}
    for spec in _field_specs(rules):
        raw = str(form.get("f_" + spec["name"], "")).strip()
        value: Any = raw or None
        if value is not None and spec["kind"] == "number":
            try:
                value = int(raw)
            except ValueError as exc:
                raise ApiError(422, "invalid_number", f"{spec['label']}必须是整数。") from exc
        values[spec["name"]] = value
    unavailable = {
        spec["name"]: str(form.get("na_" + spec["name"], "")).strip()
        for spec in _field_specs(rules)
        if form.get("na_" + spec["name"]) and not values.get(spec["name"])
    }
    if unavailable:
        values["unavailable"] = unavailable
    choice = str(form.get("kb_choice", ""))
    no_match = choice == NO_MATCH
    kb_id = None
    if choice == OTHER:
        kb_id = str(form.get("kb_other", "")).strip() or None
        if kb_id is None:
            raise ApiError(422, "kb_required", "选择“其他条目”时请填写知识库条目编号。")
    elif choice and not no_match:
        kb_id = choice
    return values, kb_id, no_match, str(form.get("note", "")).strip()


def missing_required(
    db: Session, ticket: Ticket, values: dict[str, Any], kb_id: str | None
) -> list[dict[str, Any]]:
    """The chain's required fields still empty for these values (the server-side check)."""
    required = tickets.required_fields(db, ticket, values, kb_id)
    return [r for r in release_unavailable(required, values) if r["missing"]]


def _segment(seg: dict[str, Any], terms: Any, labels: dict[str, str]) -> dict[str, Any]:
    """A transcript line for the page: a call segment has a start second (click-to-seek), a
    chat message has its send time instead, and an imported line may have neither."""
    start = seg.get("start")
    at = seg.get("at")
    if isinstance(start, int | float):
        stamp = f"{int(start) // 60}:{int(start) % 60:02d}"
    elif isinstance(at, str) and len(at) >= 16:
        stamp = at[5:16].replace("T", " ")
    else:
        stamp = ""
    return {
        "start": start if isinstance(start, int | float) else None,
        "stamp": stamp,
        "speaker": seg.get("speaker") or "",
        "html": highlight(str(seg.get("text") or ""), terms, labels),
    }


def _ticket_page(
    request: Request,
    db: Session,
    viewer: Viewer,
    ticket: Ticket,
    *,
    values: dict[str, Any] | None = None,
    choice: str | None = None,
    errors: list[str] | None = None,
    status: int = 200,
    conflict: dict[str, Any] | None = None,
) -> Response:
    rules = get_rules()
    labels = {n: s.get("label", n) for n, s in rules.fields.items()}
    terms = entity_terms(ticket.fields, rules)
    segments = [_segment(s, terms, labels) for s in ticket.transcript or []]
    diagnosis = tickets.diagnosis_view(ticket.diagnosis)
    candidates = [
        {**c, "why_cn": [why_cn(w) for w in c.get("why", [])]}
        for c in diagnosis.get("candidates", [])
    ]
    # Suggestions for "another entry": the ticket's product first, bounded so a 100k-entry KB
    # does not bloat the page (any published id can still be typed; the server checks it).
    published = db.execute(
        select(KBEntry.id, KBEntry.title, KBEntry.product_type)
        .where(KBEntry.status == "published")
        .order_by(KBEntry.product_type != (ticket.product_type or ""), KBEntry.id)
        .limit(OTHER_SUGGESTIONS)
    ).all()
    kb_texts = {
        e.id: " ".join([e.published.get("title", ""), *e.published.get("symptoms", [])])
        for e in db.scalars(select(KBEntry).where(KBEntry.id.in_([c["kb_id"] for c in candidates])))
        if e.published
    }
    if choice is None:
        choice = NO_MATCH if ticket.no_match or not ticket.kb_id else ticket.kb_id
    rows, total = queue(db)
    position = next((i for i, t in enumerate(rows) if t.id == ticket.id), None)
    phone_reads.record_customers(db, viewer, "console /console/review/{id}", [ticket])
    return render(
        request,
        "review_ticket.html",
        viewer,
        code=status,
        t=ticket,
        text_html=highlight(ticket.description, terms, labels),
        segments=segments,
        has_audio=has_recording(ticket.id),
        reviewable=ticket.reviewed_at is None and ticket.status not in CLOSED_STATUSES,
        specs=_field_specs(rules),
        values=values if values is not None else ticket.fields,
        chain=rules.field_chain,
        candidates=candidates,
        kb_texts=kb_texts,
        choice=choice,
        in_candidates=choice in {c["kb_id"] for c in candidates} or choice == NO_MATCH,
        published=published,
        products=list(rules.product_synonyms),
        errors=errors or [],
        queue_total=total,
        prev_id=rows[position - 1].id if position else None,
        next_id=rows[position + 1].id
        if position is not None and position + 1 < len(rows)
        else None,
        history=tickets.history(db=db, ticket_id=ticket.id),
        field_labels=labels,
        conflict=conflict,
        desk=desk.desk_context(db, ticket, viewer),
        NO_MATCH=NO_MATCH,
        OTHER=OTHER,
    )


def _queue_view(
    request: Request, db: Session, viewer: Viewer, page: int, status: str | None, since: int
) -> dict[str, Any]:
    if status not in (None, "", "pending_qc", "triaged"):
        raise ApiError(422, "invalid_request", "队列只能按“待质检”或“待审核”筛选。")
    page = max(page, 1)
    rows, total = queue(db, offset=(page - 1) * QUEUE_PAGE, status=status or None)
    ids = [t.id for t in rows]
    return {
        "rows": rows,
        "total": total,
        "since": since,
        "page": page,
        "pages": max(1, -(-total // QUEUE_PAGE)),
        "status": status or "",
        "passing": {t.id for t in rows if passes_checks(t)},
        "elsewhere": desk.open_elsewhere(db, ids, viewer),
        "deadlines": desk.deadlines_of(db, ids),
        "now": clock.now(),
    }


@router.get("")
def queue_page(
    request: Request,
    page: int = 1,
    status: str | None = None,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The review queue, most urgent first, a page at a time."""
    newest = db.scalar(select(func.max(Ticket.id))) or 0
    ctx = _queue_view(request, db, viewer, page, status, newest)
    return render(request, "review_queue.html", viewer, **ctx)


@router.get("/rows")
def queue_rows(
    request: Request,
    since: int = 0,
    page: int = 1,
    status: str | None = None,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The queue table alone (polled by htmx so new tickets appear without a reload)."""
    ctx = _queue_view(request, db, viewer, page, status, since)
    return render(request, "_queue_rows.html", viewer, **ctx)


@router.post("/bulk")
def bulk_confirm(
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Confirm the chosen imported tickets that pass the checks; the others stay queued."""
    ids = [int(v) for v in form.getlist("ids") if str(v).isdigit()]
    if not ids:
        raise ApiError(422, "invalid_request", "请先勾选要批量确认的工单。")
    done = skipped = 0
    for ticket in db.scalars(select(Ticket).where(Ticket.id.in_(ids[:500]))):
        if not passes_checks(ticket) or ticket.reviewed_at is not None:
            skipped += 1
            continue
        tickets.review(db=db, ticket_id=ticket.id, actor=viewer.actor, note="批量质检确认")
        done += 1
    status = str(form.get("status") or "")
    return redirect(
        f"/review?bulk={done}&skipped={skipped}" + (f"&status={status}" if status else "")
    )


@router.get("/{ticket_id}")
def ticket_page(
    ticket_id: str,
    request: Request,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """One ticket: transcript, audio, filled fields with the chain, candidates."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    return _ticket_page(request, db, viewer, ticket)


@router.get("/{ticket_id}/audio")
def ticket_audio(ticket_id: str, db: Session = DB, _: Viewer = Depends(signed_in)) -> Response:
    """The call as a WAV every browser plays (the upload may be AMR or another codec), with
    HTTP Range support so the player can seek (Chromium will not seek without it)."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    source = recording_file(ticket.id)
    if source is None:
        raise ApiError(404, "no_recording", f"工单 {ticket.number} 没有通话录音。")
    wav = source.with_suffix(".wav")
    if not wav.exists() or wav.stat().st_mtime < source.stat().st_mtime:
        _write_wav(source.read_bytes(), wav)
    return FileResponse(wav, media_type="audio/wav")


def _write_wav(data: bytes, target: Path) -> None:
    """Decode a recording once into a 16 kHz 16-bit WAV next to it (written atomically)."""
    from asr.audio import decode

    decoded = decode(data, max_seconds=24 * 3600)
    pcm = np.clip(np.vstack(decoded.channels).T, -1.0, 1.0)
    tmp = target.with_suffix(".wav.tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(len(decoded.channels))
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((pcm * 32767).astype("<i2").tobytes())
    tmp.replace(target)


@router.post("/{ticket_id}")
def submit_review(
    ticket_id: str,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Confirm, or correct and confirm; then open the next ticket of the queue."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    rules = get_rules()
    values, kb_id, no_match, note = _parse_form(form, rules)
    choice = NO_MATCH if no_match else kb_id
    missing = missing_required(db, ticket, values, None if no_match else kb_id)
    if missing:
        names = "、".join(m["label"] for m in missing)
        return _ticket_page(
            request,
            db,
            viewer,
            ticket,
            values=values,
            choice=choice,
            errors=[f"以下字段为必填：{names}"],
            status=422,
        )
    version = str(form.get("version", ""))
    expected = int(version) if version.isdigit() else None
    changed = {k: v for k, v in values.items() if ticket.fields.get(k) != v}
    predicted = None if ticket.no_match else ticket.kb_id
    try:
        if form.get("mode") == "fields" or ticket.reviewed_at is not None:
            # Someone reviewed it first: the agent's field edits still apply, as plain changes.
            tickets.set_fields(
                db=db,
                ticket_id=ticket.id,
                changes=changed,
                actor=viewer.actor,
                reason=note or "审核冲突后重新应用",
                expected_version=expected,
            )
        else:
            tickets.review(
                db=db,
                ticket_id=ticket.id,
                actor=viewer.actor,
                kb_id=kb_id if kb_id != predicted else None,
                no_match=no_match,
                fields=changed,
                note=note or None,
                expected_version=expected,
            )
    except ApiError as exc:
        if exc.status != 409:
            raise
        db.rollback()
        base = _loaded_fields(form)
        return _conflict_page(request, db, viewer, ticket_id, values, base, choice, exc)
    # The chain is re-evaluated on the reviewed values (a corrected product brings its fields).
    ticket.required_fields = release_unavailable(
        tickets.required_fields(db, ticket, ticket.fields, ticket.kb_id), ticket.fields
    )
    db.flush()
    rows, _ = queue(db, limit=1)
    return redirect(
        f"/review/{rows[0].id}?done={ticket.id}" if rows else f"/review?done={ticket.id}"
    )


def _conflict_page(
    request: Request,
    db: Session,
    viewer: Viewer,
    ticket_id: str,
    values: dict[str, Any],
    loaded: dict[str, Any] | None,
    choice: str | None,
    exc: ApiError,
) -> Response:
    """The 409 page: the ticket as it is now (theirs) next to what this agent changed (yours),
    the form refilled with theirs plus the agent's changes at the new version, so one click
    re-applies. Fields the agent did not touch keep the other person's values."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    rules = get_rules()
    labels = {n: s.get("label", n) for n, s in rules.fields.items()}
    if loaded is None:  # an old form without the loaded values: everything posted is "mine"
        loaded = {}
    mine = {
        k: v
        for k, v in values.items()
        if k == "unavailable" or (loaded.get(k) or None) != (v or None)
    }
    rows = [
        {
            "name": k,
            "label": labels.get(k, zh.FIELD_LABELS.get(k, k)),
            "theirs": ticket.fields.get(k),
            "yours": v,
        }
        for k, v in mine.items()
        if k != "unavailable" and (ticket.fields.get(k) or None) != (v or None)
    ]
    values = {**ticket.fields, **mine}
    who = ticket.reviewed_by or "其他坐席"
    message = (
        f"该工单已由 {who} 审核。你的字段修改未丢失，可对照后“重新应用我的修改”。"
        if ticket.reviewed_at is not None
        else "该工单在你编辑期间被其他人修改。你的修改未丢失，请对照后重新提交。"
    )
    return _ticket_page(
        request,
        db,
        viewer,
        ticket,
        values=values,
        choice=choice,
        errors=[message],
        status=409,
        conflict={"rows": rows, "code": exc.code},
    )


def _loaded_fields(form: FormData) -> dict[str, Any] | None:
    """The ticket's fields as the form showed them (to tell the agent's edits from the rest)."""
    try:
        loaded = json.loads(str(form.get("loaded") or ""))
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def release_unavailable(
    required: list[dict[str, Any]], fields: dict[str, Any]
) -> list[dict[str, Any]]:
    """Required fields the customer could not provide (with a reason) no longer count as
    missing; the reason stays on the entry."""
    gone = fields.get("unavailable") or {}
    return [
        {**r, "missing": False, "unavailable": gone[r["name"]]}
        if r.get("missing") and r["name"] in gone
        else r
        for r in required
    ]
