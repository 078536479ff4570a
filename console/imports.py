"""Import pages: upload an old repair sheet or a WeChat chat export, follow it, read its report.

The upload is checked in the request (a file that cannot be imported is refused with the
reason and nothing is stored) and imported by a background worker, as over the API; the
batch page refreshes itself until the import is done.
"""

import re

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from console.web import Viewer, posted_form, redirect, render, signed_in, templates
from core.deps import DB
from core.errors import ApiError, not_found
from intake import excel_import
from intake.api import read_upload
from intake.import_api import XLSX, accept_excel, accept_wechat
from intake.import_tasks import queue_import
from intake.importer import batch_rows, batch_view
from intake.models import ImportBatch

# The importer reports in English (the API's language); the console shows agents Chinese.
# Messages not listed here are shown as they are.
REPORT_ZH = [
    (re.compile(r"^blank row$"), "空行"),
    (re.compile(r"^repeated header row$"), "重复的表头行"),
    (re.compile(r"^totals row$"), "合计行"),
    (re.compile(r"^no fault description \((.+) is empty\)$"), r"没有故障描述（\1 为空）"),
    (re.compile(r"^duplicate: imported concurrently$"), "重复：另一次导入同时导入了此行"),
    (
        re.compile(r"^duplicate: same content as (.+) earlier in this file \(ticket (.+)\)$"),
        r"重复：与本文件 \1 内容相同（工单 \2）",
    ),
    (
        re.compile(r"^duplicate: same content as (.+) in import #(\d+) \(ticket (.+)\)$"),
        r"重复：与导入 #\2 的 \1 内容相同（工单 \3）",
    ),
    (re.compile(r"^not stored: (.*)$"), r"未保存：\1"),
    (re.compile(r"^(.+) is not a phone number: left empty$"), r"\1 不是电话号码：已留空"),
    (re.compile(r"^(.+) not understood: left empty$"), r"\1 无法识别：已留空"),
    (re.compile(r"^(.+) longer than (\d+) characters: cut$"), r"\1 超过 \2 个字符：已截断"),
    (
        re.compile(r"^columns not imported \(unknown names\): (.*)$"),
        r"未导入的列（无法识别的列名）：\1",
    ),
]


ROW_REF = re.compile(r"\brow (\d+)")


def report_zh(message: str) -> str:
    """An import report message (or a row reference) in Chinese, as far as it is one the
    importer is known to write."""
    for pattern, replacement in REPORT_ZH:
        if pattern.match(message):
            message = pattern.sub(replacement, message)
            break
    return ROW_REF.sub(r"第 \1 行", message)


DUPLICATE_OF = re.compile(r"^duplicate: same content as .+ \(ticket (\S+)\)$")


def duplicate_of(reason: str | None) -> str | None:
    """The number of the ticket a row skipped as a duplicate already made (the importer's
    reason names it), so the report can open it."""
    m = DUPLICATE_OF.match(reason or "")
    return m.group(1) if m else None


templates.env.filters["report_zh"] = report_zh
templates.env.filters["duplicate_of"] = duplicate_of
router = APIRouter(prefix="/imports")
ROWS_PAGE = 200
RUNNING = ("queued", "running")


async def _upload(form: FormData) -> tuple[str, bytes]:
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise ApiError(422, "file_required", "请选择要导入的文件。")
    return file.filename, await read_upload(file)


def _queued(db: Session, batch: ImportBatch) -> Response:
    queue_import(db, batch)
    return redirect(f"/imports/{batch.id}")


@router.get("")
def imports_page(
    request: Request, db: Session = DB, viewer: Viewer = Depends(signed_in)
) -> Response:
    """The upload forms and the latest imports."""
    batches = db.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(30)).all()
    return render(request, "imports.html", viewer, batches=[batch_view(b) for b in batches])


@router.get("/template")
def template(_: Viewer = Depends(signed_in)) -> Response:
    """The sheet template with the old column names and the two new ones."""
    return Response(
        excel_import.template(),
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename=hotline-import-template.xlsx"},
    )


@router.post("/excel")
async def upload_excel(
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Check the sheet and queue its import; then show its page."""
    filename, data = await _upload(form)
    mapping = str(form.get("mapping") or "").strip() or None
    return _queued(db, accept_excel(db, data, filename, mapping, viewer.actor))


@router.post("/wechat")
async def upload_wechat(
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Check the chat export (or screenshot) and queue its import; then show its page."""
    filename, data = await _upload(form)
    try:
        window = float(str(form.get("window_minutes") or 60))
    except ValueError:
        window = -1.0
    if not 0 < window <= 24 * 60:
        raise ApiError(422, "bad_window", "合并时间窗须为 1–1440 分钟。")
    staff = str(form.get("staff") or "")
    return _queued(db, accept_wechat(db, data, filename, window, staff, viewer.actor))


def _batch_context(db: Session, batch_id: int, offset: int) -> dict:
    batch = db.get(ImportBatch, batch_id)
    if batch is None:
        raise not_found("import", batch_id)
    return {
        "batch": {**batch_view(batch), "total_estimate": batch.report.get("total_estimate")},
        "rows": batch_rows(db, batch, ROWS_PAGE, offset),
        "offset": offset,
        "page": ROWS_PAGE,
        "running": batch.status in RUNNING,
    }


@router.get("/{batch_id}")
def batch_page(
    batch_id: int,
    request: Request,
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """One import: status, progress, counts, warnings and the per-row report."""
    return render(request, "import_batch.html", viewer, **_batch_context(db, batch_id, offset))


@router.get("/{batch_id}/status")
def batch_status(
    batch_id: int,
    request: Request,
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The batch page's live part (htmx polls it while the import runs)."""
    ctx = _batch_context(db, batch_id, offset)
    return render(request, "_import_status.html", viewer, **ctx)
