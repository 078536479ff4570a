"""HTTP doors for old habits: Excel/CSV sheet and WeChat chat-export uploads, the template."""

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import idempotency, storage
from core.access import caller
from core.auth import Principal
from core.db import session_scope
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses, not_found
from intake import excel_import, wechat_import
from intake.api import caller_of, read_upload
from intake.import_tasks import queue_import, run_batch
from intake.importer import batch_rows, batch_view, start_batch
from intake.models import ImportBatch
from intake.schemas import ImportList, ImportOut, ImportRows

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], responses=error_responses(*GUARDED))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# With wait=true the import runs in the request and answers 201 with its report.
WAITED: dict[int | str, dict[str, Any]] = {
    201: {"model": ImportOut, "description": "Imported in the request (wait=true)."},
    **error_responses(409, 413, 415),
}


def _store(data: bytes, filename: str) -> tuple[str, Path]:
    """Keep the upload in the storage (a worker on another machine reads it from there) and
    return its key and a local file of it, for the checks made now."""
    safe = re.sub(r"[^\w.\-]", "_", Path(filename).name)[-80:] or "upload"
    key = f"imports/{uuid.uuid4().hex}-{safe}"  # one file per upload, even of equal bytes
    storage.put(key, data)
    path = storage.local_file(key)
    assert path is not None
    return key, path


def _discard(key: str, path: Path) -> None:
    storage.delete(key)
    path.unlink(missing_ok=True)


def _queue_or_run(
    db: Session,
    accept: Callable[[Session], ImportBatch],
    wait: bool,
    response: Response,
    request: idempotency.Request,
) -> Any:
    if not wait:
        batch = accept(db)
        queue_import(db, batch)
        view = batch_view(batch)
        if first := idempotency.store(db=db, request=request, status_code=202, body=view):
            return first
        return view
    # Run here as a worker would: the import is a job with transactions of its own (a chunk
    # at a time), so its batch is committed in a unit of work of its own before it starts.
    response.status_code = 201
    with session_scope() as own:
        batch_id = accept(own).id
    run_batch(batch_id)
    done = db.get(ImportBatch, batch_id)
    assert done is not None
    if done.status == "failed":
        raise ApiError(422, "import_failed", done.error or "The import failed.")
    view = batch_view(done)
    # Stored after the run (its report is the answer): a retry sent while the import
    # still runs is not recognised and imports the sheet again.
    if first := idempotency.store(db=db, request=request, status_code=201, body=view):
        return first
    return view


def accept_excel(
    db: Session, data: bytes, filename: str, mapping: str | None, actor: str
) -> ImportBatch:
    """Check an uploaded sheet now (422 and nothing stored when it cannot be imported) and
    record it as a queued batch; its unit of work queues or runs it."""
    columns = excel_import.mapping_from_json(mapping)
    key, path = _store(data, filename)
    try:
        sheet = excel_import.open_sheet(path, columns)
    except ApiError:
        _discard(key, path)
        raise
    storage.drop_local_copy(key)
    batch = start_batch(
        db,
        kind=excel_import.CHANNEL,
        filename=filename,
        file_sha256=sheet.sha256,
        actor=actor,
        status="queued",
    )
    batch.report = {
        "rows": [],
        "warnings": sheet.warnings,
        "job": {"key": key, "mapping": json.loads(mapping) if mapping else None},
        "total_estimate": sheet.total_estimate,
    }
    return batch


def accept_wechat(
    db: Session, data: bytes, filename: str, window_minutes: float, staff: str, actor: str
) -> ImportBatch:
    """Check an uploaded chat export (or screenshot) now and record it as a queued batch."""
    key, path = _store(data, filename)
    try:
        wechat_import.parse(wechat_import.read_export(path))
    except ApiError:
        _discard(key, path)
        raise
    storage.drop_local_copy(key)
    batch = start_batch(
        db,
        kind=wechat_import.CHANNEL,
        filename=filename,
        file_sha256=hashlib.sha256(data).hexdigest(),
        actor=actor,
        status="queued",
    )
    names = [s.strip() for s in staff.split(",") if s.strip()]
    batch.report = {
        "rows": [],
        "warnings": [],
        "job": {"key": key, "window_minutes": window_minutes, "staff": names},
    }
    return batch


@router.post("/excel", status_code=202, response_model=ImportOut, responses=WAITED)
async def post_excel(
    response: Response,
    file: UploadFile = File(description="The old repair sheet: .xlsx or .csv (UTF-8 or GBK)."),
    mapping: str | None = Form(
        default=None, description='Extra column names as JSON: {"列名": "field"}.'
    ),
    wait: bool = Form(default=False, description="Import in this request and return the report."),
    db: Session = DB,
    who: Principal = Depends(caller),
    key: str | None = Depends(idempotency.key_header),
) -> Any:
    """Check the sheet now (422 and nothing stored when it cannot be imported), then import it
    as a job; poll GET /api/v1/imports/{id} for progress and the per-row report. With an
    `Idempotency-Key`, a retry returns the first answer and imports nothing."""
    data = await read_upload(file)
    filename = file.filename or "upload.xlsx"
    request = idempotency.Request(
        caller_of(who),
        key,
        "POST /api/v1/imports/excel",
        idempotency.fingerprint(data, filename, mapping, str(wait)),
    )
    if (first := idempotency.replay(db=db, request=request)) is not None:
        return first
    return _queue_or_run(
        db,
        lambda into: accept_excel(into, data, filename, mapping, who.actor),
        wait,
        response,
        request,
    )


@router.post("/wechat", status_code=202, response_model=ImportOut, responses=WAITED)
async def post_wechat(
    response: Response,
    file: UploadFile = File(description="Text export of a WeChat group chat (UTF-8 or GBK)."),
    window_minutes: float = Form(default=60, gt=0, le=24 * 60),
    staff: str = Form(default="", description="Display names of own staff, comma-separated."),
    wait: bool = Form(default=False),
    db: Session = DB,
    who: Principal = Depends(caller),
    key: str | None = Depends(idempotency.key_header),
) -> Any:
    """Find the repair requests in a chat export and create a pending-QC ticket for each.
    With an `Idempotency-Key`, a retry returns the first answer and imports nothing."""
    data = await read_upload(file)
    filename = file.filename or "chat.txt"
    request = idempotency.Request(
        caller_of(who),
        key,
        "POST /api/v1/imports/wechat",
        idempotency.fingerprint(data, filename, str(window_minutes), staff, str(wait)),
    )
    if (first := idempotency.replay(db=db, request=request)) is not None:
        return first
    return _queue_or_run(
        db,
        lambda into: accept_wechat(into, data, filename, window_minutes, staff, who.actor),
        wait,
        response,
        request,
    )


@router.get("/template", response_class=Response)
def get_template(_: Principal = Depends(caller)) -> Response:
    """The sheet template: the old column names plus 设备编号 and 故障码."""
    return Response(
        excel_import.template(),
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename=hotline-import-template.xlsx"},
    )


@router.get("", response_model=ImportList)
def list_imports(
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Imports, newest first."""
    rows = db.scalars(
        select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit).offset(offset)
    ).all()
    return {"items": [batch_view(b) for b in rows]}


def _batch(db: Session, batch_id: int) -> ImportBatch:
    batch = db.get(ImportBatch, batch_id)
    if batch is None:
        raise not_found("import", batch_id)
    return batch


@router.get("/{batch_id}", response_model=ImportOut, responses=error_responses(404))
def get_import(batch_id: int, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """An import's status, counts, progress and the rows that were skipped or failed."""
    batch = _batch(db, batch_id)
    return {**batch_view(batch), "total_estimate": batch.report.get("total_estimate")}


@router.get("/{batch_id}/rows", response_model=ImportRows, responses=error_responses(404))
def get_import_rows(
    batch_id: int,
    limit: int = Query(default=200, ge=1, le=5000),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """The per-row report: what each row became (ticket), or why it was skipped or failed."""
    batch = _batch(db, batch_id)
    return {"items": batch_rows(db, batch, limit, offset)}
