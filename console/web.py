"""The console's web plumbing shared by its pages: login guard, CSRF, templates, redirects.

The console is its own small ASGI app mounted under /console, so its failures render as HTML
pages (login redirect, 403 page) while the JSON API keeps its JSON error shape.
"""

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Path as PathParam
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console import accounts, zh
from console.models import ConsoleSession, ConsoleUser
from core import access
from core.auth import Role
from core.deps import DB
from core.errors import ApiError
from core.settings import get_settings

HERE = Path(__file__).resolve().parent
COOKIE = "hotline_console"
PREFIX = "/console"
log = logging.getLogger("hotline.console")

templates = Jinja2Templates(directory=str(HERE / "templates"))


def _json_script(value: Any) -> Markup:
    """JSON safe inside <script type="application/json"> (no </script> break-out)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


templates.env.filters["jsonscript"] = _json_script
templates.env.filters["compact"] = lambda v: json.dumps(v, ensure_ascii=False, default=str)


def local_zone() -> ZoneInfo:
    """The business's time zone (HOTLINE_DISPATCH_TIMEZONE, as the customer's page and the
    shifts)."""
    return ZoneInfo(get_settings().dispatch_timezone)


def local_stamp(ts: Any, fmt: str = "%m-%d %H:%M") -> str:
    """A time as the business reads it: in its local zone, not the stored UTC — 8 hours apart
    in China."""
    if not ts:
        return ""
    if isinstance(ts, datetime):
        ts = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(local_zone())
    return format(ts, fmt)


def percent(value: float) -> str:
    """A probability as a curator reads it: one decimal under 10 % (a new KB's no-match cut is
    2 %, and 0.4 % against it says more than 0 %), whole numbers above."""
    pct = float(value) * 100
    return f"{pct:.1f}%" if pct < 10 else f"{pct:.0f}%"


templates.env.filters["stamp"] = local_stamp
templates.env.filters["percent"] = percent
templates.env.globals["status_labels"] = {
    "new": "新建",
    "pending_qc": "待质检",
    "triaged": "待审核",
    "reviewed": "已审核",
    "dispatched": "已派单",
    "in_progress": "处理中",
    "resolved": "已解决",
    "closed": "已关闭",
    "cancelled": "已取消",
}
templates.env.globals["channel_labels"] = zh.CHANNEL_LABELS
templates.env.globals["kb_actions"] = {
    "create": "创建",
    "edit": "编辑草稿",
    "publish": "发布",
    "retire": "下线",
    "submit": "提交审核",
    "rejected": "审核驳回",
    "published": "审核通过",
}
templates.env.globals["event_labels"] = {
    "created": "创建",
    "status": "状态变更",
    "fields": "字段修改",
    "review": "审核",
    "note": "备注",
    "dispatch": "派单",
    "close": "结束工单",
    "merge": "合并",
    "attachment": "附件",
}
templates.env.globals["severity_labels"] = {
    "low": "低",
    "medium": "中",
    "high": "高",
    "critical": "紧急",
}
templates.env.globals["describe_changes"] = zh.describe_changes
templates.env.globals["reason_text"] = zh.reason_text
templates.env.globals["actor_label"] = zh.actor_label
templates.env.filters["pending_cn"] = zh.pending_reason
templates.env.globals["outcome_labels"] = zh.OUTCOMES
templates.env.globals["field_names"] = zh.FIELD_LABELS
templates.env.globals["ROLE_LABELS"] = {r.value: label for r, label in accounts.ROLE_LABELS.items()}


# A row id in a page's path: beyond the database's integer it is a bad link (422 page), not
# an overflow inside the driver.
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


class LoginRequired(Exception):
    """The page needs a logged-in user."""


class Forbidden(Exception):
    """The logged-in user's role may not open the page."""

    def __init__(self, allowed: tuple[Role, ...]) -> None:
        super().__init__(allowed)
        self.allowed = allowed


@dataclass
class Viewer:
    """The logged-in user of a request, with the session's CSRF token."""

    user: ConsoleUser
    session: ConsoleSession

    @property
    def role(self) -> Role:
        """The user's role."""
        return Role(self.user.role)

    @property
    def actor(self) -> str:
        """How this user appears in ticket and KB histories."""
        return f"{self.user.role}:{self.user.username}"


# The nav's areas and the page each opens: an area shows when the access policy
# (hotline/policy.py, where every console page has its rule) lets the viewer open that page.
NAV = {
    "review": "/review",
    "tickets": "/tickets",
    "kb": "/kb",
    "imports": "/imports",
    "boards": "/boards",
    "holidays": "/holidays",
    "admin": "/users",
}


def page_key(method: str, path: str) -> str:
    """The access policy's key of a console page: 'GET /console/review/{ticket_id}'."""
    return access.operation(method, PREFIX + path)


async def signed_in(request: Request, db: Session = DB) -> Viewer:
    """Dependency of every page behind the login: a logged-in user whose role the access
    policy admits to this page; for POSTs the CSRF token (form field csrf_token or header
    X-CSRF-Token) must match the session's."""
    # The lookup is a blocking query: off the event loop, like FastAPI's sync handlers.
    found = await run_in_threadpool(
        accounts.lookup_session, db=db, token=request.cookies.get(COOKIE)
    )
    if found is None:
        raise LoginRequired()
    sess, user = found
    viewer = Viewer(user, sess)
    if request.method == "POST":
        sent = request.headers.get("x-csrf-token")
        if sent is None:
            form = await request.form()
            sent = str(form.get("csrf_token") or "")
        if not sent or not hmac.compare_digest(sent, sess.csrf_token):
            raise ApiError(403, "csrf", "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")
    key = page_key(request.method, access.route_path(request))
    if not access.page_admits(key, viewer.role):
        raise Forbidden(tuple(r for r in Role if r in access.rule_for(key).roles))
    return viewer


async def posted_form(request: Request) -> FormData:
    """The request's form, read once (handlers stay sync and run in the thread pool)."""
    return await request.form()


def has_control(*texts: str) -> bool:
    """Whether any of these one-line values holds a control character (a NUL is refused by
    PostgreSQL itself: a 500 unless refused here first)."""
    return any(ch < " " or ch == "\x7f" for text in texts for ch in text)


def form_text(form: FormData, name: str) -> str | None:
    """An optional text field of a posted form: None when it is missing or empty."""
    return str(form.get(name) or "") or None


def render(
    request: Request, template: str, viewer: Viewer | None, code: int = 200, **ctx: Any
) -> HTMLResponse:
    """A page with the viewer, nav areas and CSRF token available to the template."""
    role = viewer.role if viewer else None
    areas = [a for a, p in NAV.items() if role and access.page_admits(page_key("GET", p), role)]
    return templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "areas": areas,
            "csrf": viewer.session.csrf_token if viewer else "",
            "prefix": PREFIX,
            **ctx,
        },
        status_code=code,
    )


def redirect(path: str) -> RedirectResponse:
    """A 303 to a console path (after a POST the browser GETs the target)."""
    return RedirectResponse(PREFIX + path, status_code=303)


HOMES = {
    Role.agent: "/review",
    Role.knowledge_engineer: "/kb",
    Role.supervisor: "/boards",
    Role.technician: "/tech",
}


def home_of(viewer: Viewer) -> str:
    """Where a user lands after logging in: their role's main page (a technician login not
    linked to a technician has no field app to open)."""
    if viewer.role is Role.technician and viewer.user.technician_id is None:
        return "/me"
    return HOMES.get(viewer.role, "/review" if viewer.role is Role.admin else "/me")
