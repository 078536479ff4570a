"""KB import and export in the console, with the import report per row in Chinese."""

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from console.curation import LABELS, SEVERITIES
from console.web import Viewer, render, signed_in
from core.auth import Role
from core.deps import DB
from core.settings import get_settings
from knowledge_base import interchange, review
from knowledge_base import service as kb
from knowledge_base.api import MEDIA
from knowledge_base.schemas import ImportReport

router = APIRouter(prefix="/kb")
FIELD_LABELS = {**LABELS, "id": "编号"}
# The validator's English messages (pydantic types and our own), said in Chinese.
PROBLEMS = (
    ("Field required", "缺少此项（必填）"),
    ("at least 1 character", "不能为空"),
    ("at most", "太长"),
    ("valid list", "应为列表（多项用逗号分隔）"),
    ("valid boolean", "应为 是/否（true/false）"),
    ("valid string", "应为文字"),
    ("id must be", "编号只能含字母、数字、“-”“_”“.”，以字母或数字开头，最长 64 个字符"),
    ("severity", "严重度无法识别：可写 P0–P4、紧急/高/中/低、一级–四级或 1–4"),
    ("duplicate id", "编号重复：{tail}"),
    ("not valid JSON", "这一行不是合法的 JSON"),
    ("must be a JSON object", "这一行应为一个 JSON 对象"),
)
FORMAT_PROBLEMS = (
    ("neither UTF-8 nor GBK", "文件既不是 UTF-8 也不是 GBK 编码的文本"),
    ("empty", "文件是空的：第一行应为知识库的列名"),
    ("no 'id' column", "表头没有 id 列：第一行应为知识库的列名（id、title、product_type …）"),
    ("unsupported file type", "不支持的文件类型：请上传 .jsonl、.csv 或 .xlsx"),
    ("over", "文件太大，超过上传上限"),
)


def problem_zh(problem: str) -> str:
    """One problem of the import report in Chinese (the original kept when unknown)."""
    for needle, text in PROBLEMS:
        if needle in problem:
            tail = problem.split(":", 1)[-1].strip().replace("already used on row", "已用于第")
            return text.format(tail=f"{tail} 行" if "第" in tail else tail)
    return problem


def format_problem_zh(problem: str) -> str:
    """A whole-file problem in Chinese."""
    for needle, text in FORMAT_PROBLEMS:
        if needle in problem:
            return text
    return f"文件无法读取：{problem}"


def report_rows(report: ImportReport) -> list[dict[str, Any]]:
    """The report's errors as rows a curator reads: row, id, field label, problem."""
    out = []
    for e in report.errors:
        field = str(e.get("field") or "").split(".")[0]
        if e.get("row") is None:
            out.append(
                {"row": "文件", "id": "", "field": "", "problem": format_problem_zh(e["problem"])}
            )
            continue
        out.append(
            {
                "row": e["row"],
                "id": e.get("id") or "",
                "field": FIELD_LABELS.get(field, field),
                "problem": problem_zh(str(e["problem"])),
            }
        )
    return out


@router.get("/transfer")
def transfer_page(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """Import a file, export the KB."""
    return render(request, "kb_transfer.html", viewer, kbtab="transfer", report=None)


@router.post("/transfer")
def import_file(
    request: Request,
    file: UploadFile = File(),
    publish: str = Form(default=""),
    partial: str = Form(default=""),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Import JSONL/CSV/XLSX; any bad row → nothing imported (unless 仅导入正确的行)."""
    name = file.filename or ""
    limit = get_settings().max_upload_bytes
    try:
        fmt = interchange.detect_format(name)
    except interchange.FormatError as exc:
        report = ImportReport(
            ok=False, format="", rows=0, errors=[{"row": None, "problem": str(exc)}]
        )
        return _report_page(request, viewer, report, name, code=415)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        report = ImportReport(
            ok=False, format=fmt, rows=0, errors=[{"row": None, "problem": f"over {limit} bytes"}]
        )
        return _report_page(request, viewer, report, name, code=413)
    report = review.import_entries(
        db=db,
        data=data,
        fmt=fmt,
        actor=viewer.actor,
        publish=bool(publish),
        partial=bool(partial),
        is_admin=viewer.role is Role.admin,
    )
    if not report.ok:
        db.rollback()  # the page answers 422 without raising: nothing of the file is kept
    return _report_page(request, viewer, report, name, code=200 if report.ok else 422)


def _report_page(
    request: Request, viewer: Viewer, report: ImportReport, name: str, *, code: int
) -> Response:
    return render(
        request,
        "kb_transfer.html",
        viewer,
        code=code,
        kbtab="transfer",
        report=report,
        filename=name,
        rows=report_rows(report),
        severities=SEVERITIES,
    )


@router.get("/transfer/export")
def export_file(
    format: str = "jsonl",
    drafts: str = "",
    retired: str = "",
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Download the KB in the interchange format."""
    fmt = format if format in MEDIA else "jsonl"
    data = kb.export_entries(
        db=db, fmt=fmt, include_drafts=bool(drafts), include_retired=bool(retired)
    )
    return Response(
        data,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="kb.{fmt}"'},
    )
