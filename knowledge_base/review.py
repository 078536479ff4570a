"""Four eyes on the KB: draft → review request → publish by a second person, for every door.

A curator submits a draft for review; publishing needs a pending request made at the entry's
current revision (an edit after submission makes it stale) and a different person than the
submitter. A rejected draft is published only after it is submitted again. An admin may
publish alone (no request) while `kb_single_person_publish` is on (the default; turn it off
and admins need a second person too). The API, the console, `hotline kb publish` and every
import with publish all come through `publish` / `import_entries` here.
"""

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from core.errors import ApiError
from core.settings import get_settings
from knowledge_base import service as kb
from knowledge_base.models import KBEntry, KBReviewRequest
from knowledge_base.schemas import ImportReport

MAX_REJECT_REASON = 500  # characters: a reason the author reads, not a second draft


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
        rejected = last_rejection(db=db, entry_id=entry.id)
        if rejected is not None:
            raise ApiError(
                409,
                "draft_rejected",
                f"条目 {entry.id} 的草稿已被 {rejected.decided_by} 驳回"
                f"（{rejection_reason(rejected)}），修改后重新提交审核。",
            )
        raise ApiError(
            409,
            "not_submitted",
            f"条目 {entry.id} 的草稿尚未提交审核：先提交审核，再由另一位知识工程师发布。",
        )
    if req.revision != entry.revision:
        raise ApiError(
            409,
            "stale_review",
            f"条目 {entry.id} 在提交审核后又被修改过（提交时修订 {req.revision}，现为 "
            f"{entry.revision}），请重新提交审核。",
        )
    if req.submitted_by == actor and not may_publish_alone(is_admin):
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


def may_publish_alone(is_admin: bool) -> bool:
    """Whether the caller may publish without a review request (admins, while allowed)."""
    return is_admin and get_settings().kb_single_person_publish


def publish(
    *,
    db: Session,
    entry_id: str,
    actor: str,
    is_admin: bool = False,
    expected_revision: int | None = None,
    reason: str | None = None,
) -> KBEntry:
    """Publish through the four-eyes rule: a pending request by someone else, or an admin
    alone while single-person publish is allowed (never a draft rejected since its last
    submission)."""
    if may_publish_alone(is_admin) and pending_request(db=db, entry_id=entry_id) is None:
        entry = kb.get_entry(db=db, entry_id=entry_id)
        rejected = last_rejection(db=db, entry_id=entry_id)
        if rejected is not None and rejected.revision == entry.revision:
            raise ApiError(
                409,
                "draft_rejected",
                f"条目 {entry_id} 的草稿已被 {rejected.decided_by} 驳回"
                f"（{rejection_reason(rejected)}），修改后再发布。",
            )
        return kb.publish_entry(
            db=db,
            entry_id=entry_id,
            actor=actor,
            expected_revision=expected_revision,
            reason=reason or "管理员单人发布",
        )
    return approve_and_publish(
        db=db,
        entry_id=entry_id,
        actor=actor,
        is_admin=is_admin,
        expected_revision=expected_revision,
        reason=reason,
    )


def import_entries(
    *,
    db: Session,
    data: bytes,
    fmt: str,
    actor: str,
    publish: bool = False,
    partial: bool = False,
    is_admin: bool = False,
) -> ImportReport:
    """Import a file; with publish, an admin alone publishes (while allowed) and anyone else
    leaves every new or changed entry submitted for review by a second person (`submitted`)."""
    alone = publish and may_publish_alone(is_admin)
    report = kb.import_entries(
        db=db, data=data, fmt=fmt, actor=actor, publish=alone, partial=partial
    )
    if publish and not alone and report.ok:
        for entry_id in report.created + report.updated:
            if kb.get_entry(db=db, entry_id=entry_id).draft is not None:
                submit(db=db, entry_id=entry_id, actor=actor, note="导入时申请发布")
                report.submitted.append(entry_id)
    return report


def reject(
    *, db: Session, entry_id: str, actor: str, is_admin: bool = False, note: str | None = None
) -> KBReviewRequest:
    """Send the draft back to its author (the draft stays, unpublished) with the reviewer's
    reason, which the author reads on the entry's page and history: 422 without one."""
    entry = kb.get_entry(db=db, entry_id=entry_id)
    req = _open_request(db, entry, actor, is_admin)  # who may not decide hears that first
    reason = (note or "").strip()
    if not reason:
        raise ApiError(
            422, "reason_required", "驳回必须写明原因：作者要据此修改草稿后重新提交审核。"
        )
    if len(reason) > MAX_REJECT_REASON:
        raise ApiError(
            422,
            "reason_too_long",
            f"驳回原因请控制在 {MAX_REJECT_REASON} 字以内（现在 {len(reason)} 字）。",
        )
    req.status, req.decided_by, req.decided_at = "rejected", actor, clock.now()
    req.note = "\n".join(x for x in (req.note, f"驳回：{reason}") if x)
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


def rejection_reason(req: KBReviewRequest) -> str:
    """The reviewer's words from a rejected request's note (after 驳回：)."""
    note = req.note or ""
    return note.rsplit("驳回：", 1)[1] if "驳回：" in note else "（未写原因）"


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
    return req is not None and (may_publish_alone(is_admin) or req.submitted_by != actor)


def pending_requests(*, db: Session, limit: int = 50) -> list[KBReviewRequest]:
    """Open review requests, oldest first (the reviewers' to-do list)."""
    stmt = (
        select(KBReviewRequest)
        .where(KBReviewRequest.status == "pending")
        .order_by(KBReviewRequest.id)
        .limit(limit)
    )
    return list(db.scalars(stmt).all())
