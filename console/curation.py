"""Knowledge curation pages: search, edit a draft, review and publish, history, try a query."""

import difflib
import html
import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console import kb_review, try_query
from console.web import Viewer, form_text, posted_form, redirect, render, signed_in
from core.auth import Role
from core.deps import DB
from core.errors import ApiError
from knowledge_base import review
from knowledge_base import service as kb
from knowledge_base.models import KBEntry
from knowledge_base.schemas import LIST_FIELDS, EntryData
from triage.rules import get_rules
from triage.service import validate_text

router = APIRouter(prefix="/kb")
PAGE = 50
FORM_FIELDS = (
    ("title", "标题"),
    ("product_type", "产品类型"),
    ("models", "适用型号"),
    ("firmware", "受影响固件"),
    ("symptoms", "症状（每行一条）"),
    ("fault_code", "故障码"),
    ("root_cause", "根因"),
    ("resolution", "处理方案"),
    ("remote_fixable", "可远程处理"),
    ("parts", "备件"),
    ("skills", "技能/资质"),
    ("severity", "严重度"),
)
LABELS = dict(FORM_FIELDS)
SEVERITIES = {"low": "低", "medium": "中", "high": "高", "critical": "紧急"}
STATUSES = {"draft": "草稿", "published": "已发布", "retired": "已下线"}
# The validator's English messages (pydantic types and our own), said in Chinese.
PROBLEMS = (
    ("Field required", "缺少此项（必填）"),
    ("at least 1 character", "不能为空"),
    ("at most", "太长"),
    ("valid list", "应为列表（多项用逗号分隔）"),
    ("valid boolean", "应为 是/否（true/false）"),
    ("valid string", "应为文字"),
    ("id must be", "编号只能含字母、数字、“-”“_”“.”，以字母或数字开头，最长 64 个字符"),
    ("severity", "严重度{label}无法识别：可写 P0–P4、紧急/高/中/低、一级–四级或 1–4"),
    ("duplicate id", "编号重复：{tail}"),
    ("not valid JSON", "这一行不是合法的 JSON"),
    ("must be a JSON object", "这一行应为一个 JSON 对象"),
)


def _form_content(form: Any) -> dict[str, Any]:
    """Entry content from the edit form (lists: one item per line or comma)."""
    out: dict[str, Any] = {}
    for name, _ in FORM_FIELDS:
        raw = str(form.get(name, "")).strip()
        if name in LIST_FIELDS:
            sep = "\n" if name == "symptoms" else None
            items = raw.split(sep) if sep else raw.replace("，", ",").replace("\n", ",").split(",")
            out[name] = [i.strip() for i in items if i.strip()]
        elif name == "remote_fixable":
            out[name] = form.get(name) == "on"
        elif name == "fault_code":
            out[name] = raw or None
        else:
            out[name] = raw
    return out


def problem_zh(problem: str) -> str:
    """One problem of an entry (import report or edit form) in Chinese (the original kept
    when unknown)."""
    # The value the curator wrote, named so that a long sheet's bad cell is found at once.
    quoted = re.search(r"""severity (['"])(.*?)\1 is not""", problem)
    label = f"“{quoted.group(2)}”" if quoted else ""
    for needle, text in PROBLEMS:
        if needle in problem:
            tail = problem.split(":", 1)[-1].strip().replace("already used on row", "已用于第")
            return text.format(tail=f"{tail} 行" if "第" in tail else tail, label=label)
    return problem


def _problems(exc: ValidationError) -> str:
    """The form's problems in Chinese, each with its field's label."""
    labels = {**LABELS, "id": "编号"}
    return "；".join(
        f"{labels.get(str(e['loc'][0]), e['loc'][0]) if e['loc'] else '条目'}："
        + problem_zh(e["msg"].removeprefix("Value error, "))
        for e in exc.errors()
    )


@router.get("")
def kb_list(
    request: Request,
    q: str = "",
    product_type: str = "",
    status: str = "",
    offset: int = 0,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Entries with search and filters; the review to-do list; the most corrected entries."""
    if status and status not in STATUSES:
        raise ApiError(422, "invalid_status", f"状态必须是 {list(STATUSES)} 之一。")
    rows, total = kb.list_entries(
        db=db,
        q=q.strip() or None,
        product_type=product_type or None,
        status=status or None,
        limit=PAGE,
        offset=max(offset, 0),
    )
    products = db.scalars(select(KBEntry.product_type).distinct().order_by(KBEntry.product_type))
    return render(
        request,
        "kb_list.html",
        viewer,
        rows=rows,
        total=total,
        q=q,
        product_type=product_type,
        status=status,
        offset=offset,
        page=PAGE,
        products=list(products),
        statuses=STATUSES,
        pending=review.pending_requests(db=db),
        corrected=kb_review.most_corrected(db=db),
        calibration=try_query.calibration_summary(db),
    )


@router.get("/new")
def new_entry_page(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """An empty edit form for a new entry."""
    return _edit_page(request, viewer, None, content={"severity": "medium"}, history=[])


@router.post("/new")
def create_entry(
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Create a new entry as a draft."""
    content = {"id": str(form.get("id", "")).strip(), **_form_content(form)}
    try:
        data = EntryData.model_validate(content)
    except ValidationError as exc:
        return _edit_page(
            request, viewer, None, content=content, history=[], error=_problems(exc), status=422
        )
    kb.create_entry(db=db, data=data, actor=viewer.actor, reason=str(form.get("reason") or ""))
    return redirect(f"/kb/{data.id}?saved=1")


def _edit_page(
    request: Request,
    viewer: Viewer,
    entry: KBEntry | None,
    *,
    content: dict[str, Any],
    history: list,
    pending: Any = None,
    error: str | None = None,
    reject_reason: str = "",
    status: int = 200,
    db: Session | None = None,
) -> Response:
    rejection = review.last_rejection(db=db, entry_id=entry.id) if db and entry else None
    return render(
        request,
        "kb_edit.html",
        viewer,
        code=status,
        kbtab="list",
        entry=entry,
        rejection=rejection,
        rejection_reason=review.rejection_reason(rejection) if rejection else None,
        may_decide=review.may_decide(pending, viewer.actor, viewer.role is Role.admin),
        c=content,
        fields=FORM_FIELDS,
        list_fields=LIST_FIELDS,
        severities=SEVERITIES,
        statuses=STATUSES,
        products=list(get_rules().product_synonyms),
        history=history[-5:],
        pending=pending,
        error=error,
        reject_reason=reject_reason,
        max_reject_reason=review.MAX_REJECT_REASON,
        is_admin=viewer.role is Role.admin,
    )


@router.get("/try")
def try_page(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """The “try a query” box."""
    return render(request, "kb_try.html", viewer, result=None, text="")


@router.post("/try")
def try_run(
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Rank a caller sentence against the published KB and the KB with drafts applied."""
    text = validate_text(str(form.get("text", "")))
    result = try_query.compare(db, text)
    template = "_try_result.html" if request.headers.get("hx-request") else "kb_try.html"
    return render(request, template, viewer, result=result, text=text)


@router.get("/{entry_id}")
def edit_page(
    entry_id: str,
    request: Request,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The entry's edit form (its draft, or the published content to start a draft from)."""
    entry = kb.get_entry(db=db, entry_id=entry_id)
    return _edit_page(
        request,
        viewer,
        entry,
        content=entry.draft or entry.published or {},
        history=kb.history(db=db, entry_id=entry_id),
        pending=review.pending_request(db=db, entry_id=entry_id),
        db=db,
    )


@router.post("/{entry_id}")
def save_draft(
    entry_id: str,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Save the form as the entry's draft (409 if someone saved in between)."""
    entry = kb.get_entry(db=db, entry_id=entry_id)
    content = _form_content(form)
    rev = str(form.get("revision", ""))
    try:
        kb.update_entry(
            db=db,
            entry_id=entry_id,
            changes=content,
            actor=viewer.actor,
            expected_revision=int(rev) if rev.isdigit() else None,
            reason=form_text(form, "reason"),
        )
    except ValidationError as exc:
        return _edit_page(
            request,
            viewer,
            entry,
            content={**content, "id": entry_id},
            history=kb.history(db=db, entry_id=entry_id),
            pending=review.pending_request(db=db, entry_id=entry_id),
            error=_problems(exc),
            status=422,
            db=db,
        )
    if form.get("submit_review"):
        review.submit(db=db, entry_id=entry_id, actor=viewer.actor, note=None)
        return redirect(f"/kb/{entry_id}?submitted=1")
    return redirect(f"/kb/{entry_id}?saved=1")


@router.post("/{entry_id}/submit")
def submit_review(
    entry_id: str,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Submit the draft for review."""
    review.submit(db=db, entry_id=entry_id, actor=viewer.actor, note=form_text(form, "note"))
    return redirect(f"/kb/{entry_id}?submitted=1")


@router.post("/{entry_id}/publish")
def publish(
    entry_id: str,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Approve the submitted draft and publish it (the index updates after commit)."""
    rev = str(form.get("revision", ""))
    review.publish(
        db=db,
        entry_id=entry_id,
        actor=viewer.actor,
        is_admin=viewer.role is Role.admin,
        expected_revision=int(rev) if rev.isdigit() else None,
        reason=form_text(form, "reason"),
    )
    return redirect(f"/kb/{entry_id}?published=1")


@router.post("/{entry_id}/reject")
def reject(
    entry_id: str,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Send the draft back to its author, with the reason they will read (without one, the
    entry's page again, saying so, with what was typed kept)."""
    reason = str(form.get("reason", ""))
    try:
        review.reject(
            db=db,
            entry_id=entry_id,
            actor=viewer.actor,
            is_admin=viewer.role is Role.admin,
            note=reason,
        )
    except ApiError as exc:
        if exc.code not in ("reason_required", "reason_too_long"):
            raise
        db.rollback()
        entry = kb.get_entry(db=db, entry_id=entry_id)
        return _edit_page(
            request,
            viewer,
            entry,
            content=entry.draft or entry.published or {},
            history=kb.history(db=db, entry_id=entry_id),
            pending=review.pending_request(db=db, entry_id=entry_id),
            error=exc.message,
            reject_reason=reason,
            status=422,
            db=db,
        )
    return redirect(f"/kb/{entry_id}?rejected=1")


@router.post("/{entry_id}/retire")
def retire(
    entry_id: str,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Take the entry out of search."""
    kb.retire_entry(db=db, entry_id=entry_id, actor=viewer.actor, reason=form_text(form, "reason"))
    return redirect(f"/kb/{entry_id}?retired=1")


def diff_html(old: Any, new: Any) -> Markup:
    """A readable diff of one field: character-level for text, item-level for lists."""
    if isinstance(old, list) or isinstance(new, list):
        old_items, new_items = list(old or []), list(new or [])
        parts = [f"<del>{html.escape(str(i))}</del>" for i in old_items if i not in new_items]
        parts += [f"<ins>{html.escape(str(i))}</ins>" for i in new_items if i not in old_items]
        kept = [html.escape(str(i)) for i in new_items if i in old_items]
        return Markup(" ".join(parts + ([f"<span>（未变 {len(kept)} 项）</span>"] if kept else [])))
    a, b = "" if old is None else str(old), "" if new is None else str(new)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape(a[i1:i2]))
        if op in ("delete", "replace"):
            out.append(f"<del>{html.escape(a[i1:i2])}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{html.escape(b[j1:j2])}</ins>")
    return Markup("".join(out))


@router.get("/{entry_id}/history")
def history_page(
    entry_id: str,
    request: Request,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Every revision of the entry with field-by-field diffs."""
    entry = kb.get_entry(db=db, entry_id=entry_id)
    items = [
        {
            "at": r.at,
            "actor": r.actor,
            "action": r.action,
            "version": r.version,
            "reason": r.reason,
            "diffs": [
                (LABELS[name], diff_html(shown(name, change[0]), shown(name, change[1])))
                for name, change in r.changes.items()
                if name in LABELS and isinstance(change, list) and len(change) == 2
            ],
        }
        for r in kb.history(db=db, entry_id=entry_id)
    ]
    for req in review.requests_of(db=db, entry_id=entry_id):
        items.append(
            {"at": req.submitted_at, "actor": req.submitted_by, "action": "submit",
             "version": None, "reason": None, "diffs": []}
        )  # fmt: skip
        if req.decided_at and req.status in REVIEW_OUTCOMES:
            items.append(
                {"at": req.decided_at, "actor": req.decided_by, "action": req.status,
                 "version": None, "reason": review.rejection_reason(req) if req.status == "rejected"
                 else None, "diffs": []}
            )  # fmt: skip
    items.sort(key=lambda i: i["at"], reverse=True)
    return render(request, "kb_history.html", viewer, kbtab="list", entry=entry, revisions=items)


# An approval is the publish revision itself (its reason names the submitter).
REVIEW_OUTCOMES = {"rejected": "驳回"}


def shown(name: str, value: Any) -> Any:
    """A field's value as a curator reads it: 是/否, 高/中/低, 已发布 …"""
    if isinstance(value, bool):
        return "是" if value else "否"
    if name == "severity":
        return SEVERITIES.get(value, value)
    if name == "status":
        return STATUSES.get(value, value)
    return value
