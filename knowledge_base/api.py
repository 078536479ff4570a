"""KB curation endpoints."""

from typing import Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.auth import Principal, Role, require_roles
from core.deps import get_db
from core.errors import GUARDED, ApiError, error_responses
from core.settings import get_settings
from knowledge_base import interchange, live_index, service
from knowledge_base.schemas import (
    ActionIn,
    EntryData,
    EntryList,
    EntryOut,
    EntryPatch,
    ImportReport,
    RevisionList,
    SearchOut,
)

router = APIRouter(
    prefix="/api/v1/kb", tags=["knowledge base"], responses=error_responses(*GUARDED)
)
READ = require_roles(Role.knowledge_engineer, Role.agent, Role.supervisor, Role.technician)
CURATE = require_roles(Role.knowledge_engineer)
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
    db: Session = Depends(get_db),
    _: Principal = Depends(READ),
) -> dict:
    """Entries by status, product type or text in id/title."""
    rows, total = service.list_entries(
        db=db, status=status, product_type=product_type, q=q, limit=limit, offset=offset
    )
    return {"total": total, "items": [service.entry_view(e) for e in rows]}


@router.get("/entries/{entry_id}", response_model=EntryOut, responses=error_responses(404))
def get_entry(entry_id: str, db: Session = Depends(get_db), _: Principal = Depends(READ)) -> dict:
    """One entry with its published content and pending draft."""
    return service.entry_view(service.get_entry(db=db, entry_id=entry_id))


@router.post("/entries", status_code=201, response_model=EntryOut, responses=error_responses(409))
def create_entry(
    body: EntryData, db: Session = Depends(get_db), who: Principal = Depends(CURATE)
) -> dict:
    """A new entry (a draft until published)."""
    entry = service.create_entry(db=db, data=body, actor=who.actor)
    db.commit()
    return service.entry_view(entry)


@router.patch("/entries/{entry_id}", response_model=EntryOut, responses=error_responses(404, 409))
def edit_entry(
    entry_id: str, body: EntryPatch, db: Session = Depends(get_db), who: Principal = Depends(CURATE)
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
    db.commit()
    return service.entry_view(entry)


@router.post(
    "/entries/{entry_id}/publish", response_model=EntryOut, responses=error_responses(404, 409)
)
def publish_entry(
    entry_id: str,
    body: ActionIn | None = None,
    db: Session = Depends(get_db),
    who: Principal = Depends(CURATE),
) -> dict:
    """Publish the draft; the search index picks it up at once."""
    body = body or ActionIn()
    entry = service.publish_entry(
        db=db,
        entry_id=entry_id,
        actor=who.actor,
        expected_revision=body.expected_revision,
        reason=body.reason,
    )
    db.commit()
    return service.entry_view(entry)


@router.post(
    "/entries/{entry_id}/retire", response_model=EntryOut, responses=error_responses(404, 409)
)
def retire_entry(
    entry_id: str,
    body: ActionIn | None = None,
    db: Session = Depends(get_db),
    who: Principal = Depends(CURATE),
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
    db.commit()
    return service.entry_view(entry)


@router.get(
    "/entries/{entry_id}/history", response_model=RevisionList, responses=error_responses(404)
)
def entry_history(
    entry_id: str, db: Session = Depends(get_db), _: Principal = Depends(READ)
) -> dict:
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
    db: Session = Depends(get_db),
    who: Principal = Depends(CURATE),
) -> ImportReport:
    """Import entries; any bad row → 422 with row numbers and nothing imported (unless partial)."""
    try:
        fmt = interchange.detect_format(file.filename or "")
    except interchange.FormatError as exc:
        raise ApiError(415, "unsupported_format", str(exc)) from exc
    limit = get_settings().max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "file_too_large", f"The file is over {limit} bytes.")
    report = service.import_entries(
        db=db, data=data, fmt=fmt, actor=who.actor, publish=publish, partial=partial
    )
    if not report.ok:
        db.rollback()
        raise ApiError(
            422,
            "import_rejected",
            f"{len(report.errors)} problem(s) in the file; nothing was imported. "
            "Fix the rows listed, or pass partial=true to import the good rows.",
            report.model_dump(),
        )
    db.commit()
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
    db: Session = Depends(get_db),
    _: Principal = Depends(READ),
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
    _: Principal = Depends(READ),
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
