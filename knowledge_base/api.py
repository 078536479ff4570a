"""KB curation endpoints."""

from typing import Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.access import caller
from core.auth import Principal, Role
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses
from core.settings import get_settings
from knowledge_base import interchange, live_index, review, service
from knowledge_base.models import KBEntry, KBReviewRequest
from knowledge_base.schemas import (
    ActionIn,
    EntryData,
    EntryList,
    EntryOut,
    EntryPatch,
    ImportReport,
    ReviewRequestOut,
    RevisionList,
    SearchOut,
)

router = APIRouter(
    prefix="/api/v1/kb", tags=["knowledge base"], responses=error_responses(*GUARDED)
)
MEDIA = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/entries", response_model=EntryList)
def list_entries(
    status: str | None = Query(default=None, pattern="^(draft|published|retired)$"),
    product_type: str | None = None,
    q: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Entries by status, product type or text in id/title."""
    rows, total = service.list_entries(
        db=db, status=status, product_type=product_type, q=q, limit=limit, offset=offset
    )
    return {"total": total, "items": [service.entry_view(e) for e in rows]}


@router.get("/entries/{entry_id}", response_model=EntryOut, responses=error_responses(404))
def get_entry(entry_id: str, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """One entry with its published content and pending draft."""
    return service.entry_view(service.get_entry(db=db, entry_id=entry_id))


@router.post("/entries", status_code=201, response_model=EntryOut, responses=error_responses(409))
def create_entry(body: EntryData, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """A new entry (a draft until published)."""
    entry = service.create_entry(db=db, data=body, actor=who.actor)
    return _saved(db, entry)


@router.patch("/entries/{entry_id}", response_model=EntryOut, responses=error_responses(404, 409))
def edit_entry(
    entry_id: str, body: EntryPatch, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Edit an entry's draft; the published version stays searchable until publish."""
    changes: dict[str, Any] = body.model_dump(
        exclude_unset=True, exclude={"expected_revision", "reason"}
    )
    if not changes:
        raise ApiError(422, "empty_edit", "Nothing to change: send at least one field.")
    entry = service.update_entry(
        db=db,
        entry_id=entry_id,
        changes=changes,
        actor=who.actor,
        expected_revision=body.expected_revision,
        reason=body.reason,
    )
    return _saved(db, entry)


@router.post(
    "/entries/{entry_id}/publish", response_model=EntryOut, responses=error_responses(404, 409)
)
def publish_entry(
    entry_id: str,
    body: ActionIn | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Publish the draft; the search index picks it up at once. Four eyes: the draft must be
    submitted for review (POST …/review) by someone else (403 `four_eyes` for its submitter,
    409 `not_submitted` / `draft_rejected`); an admin may publish alone while
    HOTLINE_KB_SINGLE_PERSON_PUBLISH is on."""
    body = body or ActionIn()
    entry = review.publish(
        db=db,
        entry_id=entry_id,
        actor=who.actor,
        is_admin=who.role is Role.admin,
        expected_revision=body.expected_revision,
        reason=body.reason,
    )
    return _saved(db, entry)


@router.post(
    "/entries/{entry_id}/review",
    status_code=201,
    response_model=ReviewRequestOut,
    responses=error_responses(404, 409),
)
def submit_for_review(
    entry_id: str,
    body: ActionIn | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Submit the draft as it is now for review; a second person publishes or rejects it."""
    req = review.submit(
        db=db, entry_id=entry_id, actor=who.actor, note=body.reason if body else None
    )
    return _request_view(req)


@router.post(
    "/entries/{entry_id}/reject",
    response_model=ReviewRequestOut,
    responses=error_responses(404, 409),
)
def reject_draft(
    entry_id: str,
    body: ActionIn | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Send the submitted draft back to its author (not its submitter: four eyes) with a
    `reason` the author reads on the entry's history: required, at most 500 characters
    (422 `reason_required` / `reason_too_long`)."""
    req = review.reject(
        db=db,
        entry_id=entry_id,
        actor=who.actor,
        is_admin=who.role is Role.admin,
        note=body.reason if body else None,
    )
    return _request_view(req)


def _saved(db: Session, entry: KBEntry) -> dict:
    """A write's answer, flushed first: it shows the revision the flush gives the entry."""
    db.flush()
    return service.entry_view(entry)


def _request_view(req: KBReviewRequest) -> dict:
    return {
        "id": req.id,
        "entry_id": req.entry_id,
        "revision": req.revision,
        "status": req.status,
        "submitted_by": req.submitted_by,
        "decided_by": req.decided_by,
        "note": req.note,
    }


@router.post(
    "/entries/{entry_id}/retire", response_model=EntryOut, responses=error_responses(404, 409)
)
def retire_entry(
    entry_id: str,
    body: ActionIn | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Take an entry out of search (history kept)."""
    body = body or ActionIn()
    entry = service.retire_entry(
        db=db,
        entry_id=entry_id,
        actor=who.actor,
        expected_revision=body.expected_revision,
        reason=body.reason,
    )
    return _saved(db, entry)


@router.get(
    "/entries/{entry_id}/history", response_model=RevisionList, responses=error_responses(404)
)
def entry_history(entry_id: str, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Every change: who, when, what (field → [old, new])."""
    return {
        "items": [
            {
                "id": r.id,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "version": r.version,
                "changes": r.changes,
                "reason": r.reason,
            }
            for r in service.history(db=db, entry_id=entry_id)
        ]
    }


@router.post("/import", response_model=ImportReport, responses=error_responses(409, 413, 415))
async def import_file(
    request: Request,
    file: UploadFile = File(description="JSONL, CSV or XLSX in the interchange format"),
    publish: bool = False,
    partial: bool = Query(default=False, description="Import the good rows even if some are bad"),
    db: Session = DB,
    who: Principal = Depends(caller),
) -> ImportReport:
    """Import entries; any bad row → 422 with row numbers and nothing imported (unless partial).
    With publish, a knowledge engineer's import leaves the new and changed entries submitted
    for review (`submitted`): a second person publishes them; an admin publishes alone while
    HOTLINE_KB_SINGLE_PERSON_PUBLISH is on."""
    try:
        fmt = interchange.detect_format(file.filename or "")
    except interchange.FormatError as exc:
        raise ApiError(415, "unsupported_format", str(exc)) from exc
    limit = get_settings().max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "file_too_large", f"The file is over {limit} bytes.")
    report = review.import_entries(
        db=db,
        data=data,
        fmt=fmt,
        actor=who.actor,
        publish=publish,
        partial=partial,
        is_admin=who.role is Role.admin,
    )
    if not report.ok:
        raise ApiError(
            422,
            "import_rejected",
            f"{len(report.errors)} problem(s) in the file; nothing was imported. "
            "Fix the rows listed, or pass partial=true to import the good rows.",
            report.model_dump(),
        )
    return report


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "description": "The entries in the chosen interchange format.",
            "content": {media.split(";")[0]: {} for media in MEDIA.values()},
        }
    },
)
def export_file(
    format: str = Query(default="jsonl", pattern="^(jsonl|csv|xlsx)$"),
    include_drafts: bool = False,
    include_retired: bool = False,
    db: Session = DB,
    _: Principal = Depends(caller),
) -> Response:
    """Export entries in the interchange format."""
    data = service.export_entries(
        db=db, fmt=format, include_drafts=include_drafts, include_retired=include_retired
    )
    return Response(
        data,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="kb.{format}"'},
    )


@router.get("/search", response_model=SearchOut)
def search(
    q: str = Query(min_length=1, max_length=2000),
    k: int = Query(default=10, ge=1, le=50),
    _: Principal = Depends(caller),
) -> dict:
    """Raw hybrid search over published entries (no triage rules)."""
    index = live_index.get_index()
    hits = index.search(q, k=k)
    return {
        "items": [
            {
                "kb_id": h.kb_id,
                "title": h.entry.get("title"),
                "score": round(h.rrf, 6),
                "bm25": round(h.bm25, 4),
                "dense": round(h.dense, 4),
            }
            for h in hits
        ]
    }
