"""Agent review queue: auto-filled tickets, lowest confidence first; confirm or correct."""

import io
import re
import wave
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console.highlight import entity_terms, highlight
from console.web import AREAS, Viewer, posted_form, redirect, render, require
from core.deps import get_db
from core.errors import ApiError
from knowledge_base.models import KBEntry
from tickets import service as tickets
from tickets.models import Ticket
from tickets.recordings import load_recording, recording_path
from triage.rules import TriageRules, get_rules

router = APIRouter(prefix="/review")
REVIEWERS = require(*AREAS["review"])
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


def queue(db: Session, limit: int = QUEUE_PAGE) -> tuple[list[Ticket], int]:
    """Tickets waiting for review (auto-filled, or imported and awaiting a quality check),
    lowest confidence first."""
    # Not yet reviewed, whatever dispatch has done with it meanwhile.
    waiting = Ticket.reviewed_at.is_(None) & Ticket.status.not_in(CLOSED_STATUSES)
    total = db.scalar(select(func.count()).select_from(Ticket).where(waiting)) or 0
    rows = db.scalars(
        select(Ticket).where(waiting).order_by(Ticket.confidence, Ticket.id).limit(limit)
    ).all()
    return list(rows), total


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
    return [r for r in tickets.required_fields(db, ticket, values, kb_id) if r["missing"]]


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
) -> Response:
    rules = get_rules()
    labels = {n: s.get("label", n) for n, s in rules.fields.items()}
    terms = entity_terms(ticket.fields, rules)
    segments = [
        {**s, "html": highlight(s.get("text", ""), terms, labels)} for s in ticket.transcript or []
    ]
    diagnosis = ticket.diagnosis or {}
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
    return render(
        request,
        "review_ticket.html",
        viewer,
        code=status,
        t=ticket,
        text_html=highlight(ticket.description, terms, labels),
        segments=segments,
        has_audio=recording_path(ticket.id).exists(),
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
        NO_MATCH=NO_MATCH,
        OTHER=OTHER,
    )


@router.get("")
def queue_page(
    request: Request, db: Session = Depends(get_db), viewer: Viewer = Depends(REVIEWERS)
) -> Response:
    """The review queue."""
    rows, total = queue(db)
    newest = db.scalar(select(func.max(Ticket.id)))
    return render(request, "review_queue.html", viewer, rows=rows, total=total, since=newest or 0)


@router.get("/rows")
def queue_rows(
    request: Request,
    since: int = 0,
    db: Session = Depends(get_db),
    viewer: Viewer = Depends(REVIEWERS),
) -> Response:
    """The queue table alone (polled by htmx so new tickets appear without a reload)."""
    rows, total = queue(db)
    return render(request, "_queue_rows.html", viewer, rows=rows, total=total, since=since)


@router.get("/{ticket_id}")
def ticket_page(
    ticket_id: int,
    request: Request,
    db: Session = Depends(get_db),
    viewer: Viewer = Depends(REVIEWERS),
) -> Response:
    """One ticket: transcript, audio, filled fields with the chain, candidates."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    return _ticket_page(request, db, viewer, ticket)


@router.get("/{ticket_id}/audio")
def ticket_audio(
    ticket_id: int, db: Session = Depends(get_db), _: Viewer = Depends(REVIEWERS)
) -> Response:
    """The call as a WAV every browser plays (the upload may be AMR or another codec)."""
    from asr.audio import decode

    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    data = load_recording(ticket.id)
    if data is None:
        raise ApiError(404, "no_recording", f"工单 {ticket.number} 没有通话录音。")
    decoded = decode(data, max_seconds=24 * 3600)
    pcm = np.clip(np.vstack(decoded.channels).T, -1.0, 1.0)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(len(decoded.channels))
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((pcm * 32767).astype("<i2").tobytes())
    return Response(buf.getvalue(), media_type="audio/wav")


@router.post("/{ticket_id}")
def submit_review(
    ticket_id: int,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = Depends(get_db),
    viewer: Viewer = Depends(REVIEWERS),
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
    changed = {k: v for k, v in values.items() if ticket.fields.get(k) != v}
    predicted = None if ticket.no_match else ticket.kb_id
    tickets.review(
        db=db,
        ticket_id=ticket.id,
        actor=viewer.actor,
        kb_id=kb_id if kb_id != predicted else None,
        no_match=no_match,
        fields=changed,
        note=note or None,
        expected_version=int(version) if version.isdigit() else None,
    )
    db.flush()
    rows, _ = queue(db, limit=1)
    db.commit()
    return redirect(
        f"/review/{rows[0].id}?done={ticket.id}" if rows else f"/review?done={ticket.id}"
    )
