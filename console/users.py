"""The admin's pages for console accounts: the list, a new login, and one login's role, status,
password and link to a technician on the roster. Every change goes through console.accounts,
as `hotline user …` does."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console import accounts, zh
from console.models import ConsoleUser
from console.web import RowId, Viewer, posted_form, redirect, render, signed_in
from core.auth import Role
from core.deps import DB
from core.errors import ApiError, not_found
from dispatch import technicians

router = APIRouter(prefix="/users")

# What the form says about names and passwords: the rules console.accounts enforces.
RULES = {
    "username": "2–64 个字符：字母、数字、“.”“_”“-”，以字母或数字开头；创建后不能修改。",
    "password": f"至少 {accounts.MIN_PASSWORD} 个字符；请通过安全渠道交给本人。",
}
SAVED = {
    "created": "账号已创建，可以用初始密码登录。",
    "role": "角色已修改。",
    "technician": "技术员关联已保存。",
    "disabled": "账号已停用，它的登录会话已全部结束。",
    "enabled": "账号已启用。",
    "password": "密码已重置，此账号原有的登录会话已全部结束。",
}


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ApiError(422, "unknown_role", "请选择一个角色。") from None


def _technician_id(value: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise ApiError(422, "invalid_request", "请从花名册中选择技术员。")
    return int(value)


def _roster(db: Session) -> list[dict[str, Any]]:
    """The roster's technicians, each with the login already linked to it (if any)."""
    linked = {u.technician_id: u.username for u in accounts.list_users(db=db) if u.technician_id}
    return [
        {"id": t.id, "name": t.name, "active": t.active, "login": linked.get(t.id)}
        for t in technicians.list_all(db)
    ]


def _list_page(
    request: Request,
    db: Session,
    viewer: Viewer,
    *,
    typed: dict[str, str] | None = None,
    error: str | None = None,
    code: int = 200,
) -> Response:
    users = accounts.list_users(db=db)
    roster = _roster(db)
    names = {t["id"]: t["name"] for t in roster}
    return render(
        request,
        "users.html",
        viewer,
        code=code,
        admintab="users",
        users=users,
        tech_names=names,
        roster=roster,
        roles=list(accounts.ROLE_LABELS.items()),
        rules=RULES,
        typed=typed or {"role": Role.agent.value},
        error=error,
    )


@router.get("")
def users_page(request: Request, db: Session = DB, viewer: Viewer = Depends(signed_in)) -> Response:
    """Every login with its role and status, and the form for a new one."""
    return _list_page(request, db, viewer)


@router.post("")
def create_user(
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """A new login; a refusal (taken or bad name, short password) comes back on the form as
    typed."""
    typed = {k: str(form.get(k) or "") for k in ("username", "display_name", "role", "password")}
    typed["technician_id"] = str(form.get("technician_id") or "")
    try:
        role = _role(typed["role"])
        user = accounts.create_user(
            db=db,
            username=typed["username"].strip(),
            role=role,
            password=typed["password"],
            display_name=typed["display_name"].strip() or None,
            technician_id=_technician_id(typed["technician_id"])
            if role is Role.technician
            else None,
        )
    except ApiError as exc:
        db.rollback()
        message = zh.error_message(exc.code, exc.message)
        return _list_page(request, db, viewer, typed=typed, error=message, code=exc.status)
    return redirect(f"/users/{user.id}?saved=created")


def _user(db: Session, user_id: int) -> ConsoleUser:
    user = db.get(ConsoleUser, user_id)
    if user is None:
        raise not_found("user", user_id)
    return user


def _user_page(
    request: Request,
    db: Session,
    viewer: Viewer,
    user: ConsoleUser,
    *,
    saved: str | None = None,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    code: int = 200,
) -> Response:
    roster = _roster(db)
    return render(
        request,
        "user_edit.html",
        viewer,
        code=code,
        admintab="users",
        user=user,
        roster=roster,
        linked=next((t for t in roster if t["id"] == user.technician_id), None),
        roles=list(accounts.ROLE_LABELS.items()),
        rules=RULES,
        saved=SAVED.get(saved or ""),
        error=error,
        typed=typed or {},
        is_self=user.id == viewer.user.id,
    )


@router.get("/{user_id}")
def user_page(
    user_id: RowId,
    request: Request,
    saved: str | None = None,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """One login: role, technician link, status and password."""
    return _user_page(request, db, viewer, _user(db, user_id), saved=saved)


def _change(
    request: Request,
    db: Session,
    viewer: Viewer,
    user_id: RowId,
    saved: str,
    change: Any,
    typed: dict[str, str],
    *,
    locks_out: bool = False,
) -> Response:
    """Apply one change to a login; a refusal comes back on its page with what was typed.
    `locks_out`: the change would take the admin's own access away (refused on their own
    login)."""
    user = _user(db, user_id)
    try:
        if locks_out and user.id == viewer.user.id:
            raise ApiError(
                409, "own_login", "不能停用自己正在使用的账号，也不能取消自己的管理员角色。"
            )
        change(user.username)
    except ApiError as exc:
        db.rollback()
        user = _user(db, user_id)
        message = zh.error_message(exc.code, exc.message)
        return _user_page(request, db, viewer, user, error=message, typed=typed, code=exc.status)
    return redirect(f"/users/{user_id}?saved={saved}")


@router.post("/{user_id}/role")
def change_role(
    user_id: RowId,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Give the login another role (never the last enabled admin's)."""
    value = str(form.get("role") or "")
    return _change(
        request,
        db,
        viewer,
        user_id,
        "role",
        lambda name: accounts.set_role(db=db, username=name, role=_role(value)),
        {"role": value},
        locks_out=value != Role.admin.value,
    )


@router.post("/{user_id}/technician")
def link_technician(
    user_id: RowId,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Link a technician login to a technician on the roster (empty: unlink)."""
    value = str(form.get("technician_id") or "")
    return _change(
        request,
        db,
        viewer,
        user_id,
        "technician",
        lambda name: accounts.link_technician(
            db=db, username=name, technician_id=_technician_id(value)
        ),
        {"technician_id": value},
    )


@router.post("/{user_id}/status")
def change_status(
    user_id: RowId,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Disable a login (its sessions end at once) or enable it again."""
    disable = str(form.get("disabled") or "") == "1"
    return _change(
        request,
        db,
        viewer,
        user_id,
        "disabled" if disable else "enabled",
        lambda name: accounts.set_disabled(db=db, username=name, disabled=disable),
        {},
        locks_out=disable,
    )


@router.post("/{user_id}/password")
def reset_password(
    user_id: RowId,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Set a new password (its sessions end, the admin's own included)."""
    value = str(form.get("password") or "")
    return _change(
        request,
        db,
        viewer,
        user_id,
        "password",
        lambda name: accounts.set_password(db=db, username=name, password=value),
        {"password": value},
    )
