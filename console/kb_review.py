"""The KB draft → review → publish flow on top of knowledge_base.service.

A curator submits a draft for review; publishing needs a pending request made at the entry's
current revision (an edit after submission makes it stale), and a different person than the
submitter (admin excepted): four eyes on everything agents' tickets will be matched against.
"""

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from console.models import KBReviewRequest
from core import clock
from core.errors import ApiError
from knowledge_base import service as kb
from knowledge_base.models import KBEntry
from tickets.models import ReviewCorrection


def pending_request(*, db: Session, entry_id: str) -> KBReviewRequest | None:
    """The entry's open review request, if any."""
    return db.scalar(
        select(KBReviewRequest)
        .where(KBReviewRequest.entry_id == entry_id, KBReviewRequest.status == "pending")
        .order_by(KBReviewRequest.id.desc())
    )


def submit(*, db: Session, entry_id: str, actor: str, note: str | None = None) -> KBReviewRequest:
    """Ask for review of the entry's draft as it is now."""
    entry = kb.get_entry(db=db, entry_id=entry_id)
    if entry.draft is None:
        raise ApiError(409, "no_draft", f"条目 {entry_id} 没有草稿，先编辑再提交审核。")
    db.execute(
        update(KBReviewRequest)
        .where(KBReviewRequest.entry_id == entry_id, KBReviewRequest.status == "pending")
        .values(status="superseded", decided_at=clock.now(), decided_by=actor)
    )
    req = KBReviewRequest(
        entry_id=entry_id,
        revision=entry.revision,
        submitted_by=actor,
        submitted_at=clock.now(),
        note=note,
        status="pending",
    )
    db.add(req)
    db.flush()
    return req


def _open_request(db: Session, entry: KBEntry, actor: str, is_admin: bool) -> KBReviewRequest:
    req = pending_request(db=db, entry_id=entry.id)
    if req is None:
        raise ApiError(409, "not_submitted", f"条目 {entry.id} 的草稿尚未提交审核。")
    if req.revision != entry.revision:
        raise ApiError(
            409,
            "stale_review",
            f"条目 {entry.id} 在提交审核后又被修改过（提交时修订 {req.revision}，现为 "
            f"{entry.revision}），请重新提交审核。",
        )
    if req.submitted_by == actor and not is_admin:
        raise ApiError(403, "four_eyes", "不能审核发布自己提交的草稿，请由另一位知识工程师审核。")
    return req


def approve_and_publish(
    *,
    db: Session,
    entry_id: str,
    actor: str,
    is_admin: bool = False,
    expected_revision: int | None = None,
    reason: str | None = None,
) -> KBEntry:
    """Publish the reviewed draft; the search index picks it up after commit."""
    entry = kb.get_entry(db=db, entry_id=entry_id)
    req = _open_request(db, entry, actor, is_admin)
    entry = kb.publish_entry(
        db=db,
        entry_id=entry_id,
        actor=actor,
        expected_revision=expected_revision,
        reason=reason or f"审核通过（提交人 {req.submitted_by}）",
    )
    req.status, req.decided_by, req.decided_at = "published", actor, clock.now()
    db.flush()
    return entry


def reject(
    *, db: Session, entry_id: str, actor: str, is_admin: bool = False, note: str | None = None
) -> KBReviewRequest:
    """Send the draft back to its author (the draft stays, unpublished)."""
    entry = kb.get_entry(db=db, entry_id=entry_id)
    req = _open_request(db, entry, actor, is_admin)
    req.status, req.decided_by, req.decided_at = "rejected", actor, clock.now()
    req.note = "\n".join(x for x in (req.note, f"驳回：{note}" if note else "驳回") if x)
    db.flush()
    return req


def last_rejection(*, db: Session, entry_id: str) -> KBReviewRequest | None:
    """The entry's latest review request when it was rejected (its note holds the reason)."""
    last = db.scalar(
        select(KBReviewRequest)
        .where(KBReviewRequest.entry_id == entry_id)
        .order_by(KBReviewRequest.id.desc())
        .limit(1)
    )
    return last if last is not None and last.status == "rejected" else None


def requests_of(*, db: Session, entry_id: str) -> list[KBReviewRequest]:
    """Every review request of the entry, oldest first (the history shows them)."""
    stmt = (
        select(KBReviewRequest)
        .where(KBReviewRequest.entry_id == entry_id)
        .order_by(KBReviewRequest.id)
    )
    return list(db.scalars(stmt).all())


def may_decide(req: KBReviewRequest | None, actor: str, is_admin: bool) -> bool:
    """Whether actor may publish or reject the request (four eyes: not its submitter)."""
    return req is not None and (is_admin or req.submitted_by != actor)


def pending_requests(*, db: Session, limit: int = 50) -> list[KBReviewRequest]:
    """Open review requests, oldest first (the reviewers' to-do list)."""
    stmt = (
        select(KBReviewRequest)
        .where(KBReviewRequest.status == "pending")
        .order_by(KBReviewRequest.id)
        .limit(limit)
    )
    return list(db.scalars(stmt).all())


def most_corrected(*, db: Session, limit: int = 10) -> list[dict]:
    """Entries agents corrected away from most often (review verdicts), with where they went."""
    rows = db.execute(
        select(
            ReviewCorrection.predicted_kb_id,
            func.count().label("n"),
        )
        .where(ReviewCorrection.diagnosis_correct.is_(False))
        .group_by(ReviewCorrection.predicted_kb_id)
        .order_by(func.count().desc(), ReviewCorrection.predicted_kb_id)
        .limit(limit)
    ).all()
    totals = dict(
        db.execute(
            select(ReviewCorrection.predicted_kb_id, func.count()).group_by(
                ReviewCorrection.predicted_kb_id
            )
        ).all()
    )
    out = []
    for kb_id, n in rows:
        targets = db.execute(
            select(ReviewCorrection.corrected_kb_id, func.count())
            .where(
                ReviewCorrection.predicted_kb_id.is_(None)
                if kb_id is None
                else ReviewCorrection.predicted_kb_id == kb_id,
                ReviewCorrection.diagnosis_correct.is_(False),
            )
            .group_by(ReviewCorrection.corrected_kb_id)
            .order_by(func.count().desc())
            .limit(3)
        ).all()
        entry = db.get(KBEntry, kb_id) if kb_id else None
        out.append(
            {
                "kb_id": kb_id,
                "title": entry.title if entry else "（初判为无匹配）",
                "corrected": n,
                "reviewed": totals.get(kb_id, n),
                "to": [{"kb_id": t, "count": c} for t, c in targets],
            }
        )
    return out
