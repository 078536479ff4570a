"""The admin's page for webhooks: where the service posts (each region's SLA alert contacts,
the departments that answer collaboration requests, technicians' push cards, the addresses
set in the environment) and how the latest deliveries went. Region contacts and departments
are added and deleted here through sla.config, which enforces the same address rules
(core.webhook_targets) as the API."""

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console import zh
from console.web import RowId, Viewer, has_control, posted_form, redirect, render, signed_in
from core import notify
from core.deps import DB
from core.errors import ApiError
from core.settings import get_settings
from dispatch import technicians
from sla import config
from sla.models import FLAG_KINDS, Department, RegionContact
from sla.schemas import DepartmentIn, RegionContactIn

router = APIRouter(prefix="/webhooks")
LABELS = {
    "region": "区域",
    "supervisor": "主管",
    "supervisor_url": "主管 Webhook",
    "director": "区域总监",
    "director_url": "总监 Webhook",
    "name": "部门名称",
    "contact": "联系人",
    "contact_url": "联系人 Webhook",
    "handles": "负责的问题",
    "answer_hours": "答复时限（小时）",
}
DELIVERY_KINDS = {
    "dispatch.card": "派单卡片",
    "dispatch.alert": "派单告警",
    "sla.alert": "SLA 升级告警",
    "sla.digest": "SLA 告警汇总",
    "sla.collaboration": "协作请求",
    "sla.collaboration_overdue": "协作超时",
    "sla.holiday_year_unconfirmed": "调休未确认提醒",
}
DELIVERY_STATUS = {"pending": "待发送", "delivered": "已送达", "dead": "失败（已停止重试）"}
SAVED = {
    "region": "区域告警联系人已保存。",
    "region-deleted": "区域告警联系人已删除。",
    "department": "协作部门已添加。",
    "department-deleted": "协作部门已删除。",
}
REGION_MAX = 64  # sla_region_contacts.region
CONTROL = "填写的内容含有不可见的控制字符，请重新输入。"


def host_of(url: str | None) -> str:
    """The host a webhook URL posts to (its path and query often carry the receiver's key)."""
    try:
        return urlsplit(url or "").hostname or ""
    except ValueError:
        return ""


def _page(
    request: Request,
    db: Session,
    viewer: Viewer,
    *,
    saved: str | None = None,
    region_form: dict[str, str] | None = None,
    region_error: list[str] | None = None,
    department_form: dict[str, Any] | None = None,
    department_error: list[str] | None = None,
    code: int = 200,
) -> Response:
    settings = get_settings()
    configured = [
        (
            "HOTLINE_DISPATCH_WEBHOOK_URL",
            "派单卡片（技术员未设置自己的地址时）",
            settings.dispatch_webhook_url,
        ),
        (
            "HOTLINE_SLA_ADMIN_WEBHOOK_URL",
            "SLA 管理员（调休未确认提醒）",
            settings.sla_admin_webhook_url,
        ),
        (
            "HOTLINE_CUSTOMER_NOTIFY_URL",
            "客户通知（短信网关 / 微信模板）",
            settings.customer_notify_url,
        ),
    ]
    return render(
        request,
        "webhooks.html",
        viewer,
        code=code,
        admintab="webhooks",
        regions=list(db.scalars(select(RegionContact).order_by(RegionContact.region))),
        departments=list(db.scalars(select(Department).order_by(Department.id))),
        techs=[t for t in technicians.list_all(db) if t.webhook_url],
        configured=configured,
        deliveries=notify.recent(db=db, channel="webhook", limit=30),
        delivery_kinds=DELIVERY_KINDS,
        delivery_status=DELIVERY_STATUS,
        flag_kinds=FLAG_KINDS,
        host_of=host_of,
        saved=SAVED.get(saved or ""),
        region_form=region_form or {},
        region_error=region_error,
        department_form=department_form or {"answer_hours": "4", "handles": []},
        department_error=department_error,
    )


@router.get("")
def webhooks_page(
    request: Request,
    saved: str | None = None,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Every webhook the service posts to, and the latest deliveries."""
    return _page(request, db, viewer, saved=saved)


def _refused(exc: ApiError) -> list[str]:
    if exc.code == "webhook_target_refused":
        return [zh.webhook_refusal(exc.message, LABELS)]
    return [zh.error_message(exc.code, exc.message)]


@router.post("/regions")
def save_region(
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Create or replace a region's alert contacts ("*": every region without its own); a
    refusal comes back on the form as typed."""
    names = ("region", "supervisor", "supervisor_url", "director", "director_url")
    typed = {k: str(form.get(k) or "").strip() for k in names}
    problems = []
    if has_control(*typed.values()):
        problems.append(CONTROL)
    if not typed["region"] or len(typed["region"]) > REGION_MAX:
        problems.append(f"请填写区域（最多 {REGION_MAX} 个字；“*”表示其他所有区域）。")
    try:
        body = RegionContactIn.model_validate({k: typed[k] for k in names[1:]})
    except ValidationError as exc:
        problems += zh.form_problems(exc.errors(), LABELS)
    if not problems:
        try:
            config.set_region_contact(db=db, region=typed["region"], **body.model_dump())
        except ApiError as exc:
            db.rollback()
            problems = _refused(exc)
    if problems:
        return _page(request, db, viewer, region_form=typed, region_error=problems, code=422)
    return redirect("/webhooks?saved=region")


@router.post("/regions/{region}/delete")
def delete_region(region: str, db: Session = DB, _: Viewer = Depends(signed_in)) -> Response:
    """Stop alerting a region's contacts."""
    config.delete_region_contact(db=db, region=region)
    return redirect("/webhooks?saved=region-deleted")


@router.post("/departments")
def add_department(
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """A department that answers collaboration requests, with its contact's webhook."""
    typed: dict[str, Any] = {
        k: str(form.get(k) or "").strip()
        for k in ("name", "contact", "contact_url", "answer_hours")
    }
    texts = list(typed.values())
    typed["handles"] = [str(h) for h in form.getlist("handles")]
    if has_control(*texts, *typed["handles"]):
        return _page(
            request, db, viewer, department_form=typed, department_error=[CONTROL], code=422
        )
    try:
        body = DepartmentIn.model_validate(typed)
        config.create_department(db=db, **body.model_dump())
    except ValidationError as exc:
        problems, code = zh.form_problems(exc.errors(), LABELS), 422
    except ApiError as exc:
        db.rollback()
        problems, code = _refused(exc), exc.status
    else:
        return redirect("/webhooks?saved=department")
    return _page(request, db, viewer, department_form=typed, department_error=problems, code=code)


@router.post("/departments/{department_id}/delete")
def delete_department(
    department_id: RowId, db: Session = DB, _: Viewer = Depends(signed_in)
) -> Response:
    """Remove a department that has no collaboration requests yet."""
    config.delete_department(db=db, department_id=department_id)
    return redirect("/webhooks?saved=department-deleted")
