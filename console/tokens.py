"""The admin's page for API tokens: the list (never a value: only hashes are stored), a new
token shown once, and revoking one. The same core.auth functions as /api/v1/tokens."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console import accounts
from console.web import RowId, Viewer, posted_form, redirect, render, signed_in
from core import auth
from core.auth import Role
from core.auth_api import TokenIn
from core.deps import DB

router = APIRouter(prefix="/tokens")


def _page(
    request: Request,
    db: Session,
    viewer: Viewer,
    *,
    new: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    error: str | None = None,
    revoked: str | None = None,
    code: int = 200,
) -> Response:
    return render(
        request,
        "tokens.html",
        viewer,
        code=code,
        admintab="tokens",
        tokens=list(reversed(auth.list_tokens(db=db))),
        roles=list(accounts.ROLE_LABELS.items()),
        new=new,
        typed=typed or {"role": Role.agent.value},
        error=error,
        revoked=revoked,
    )


@router.get("")
def tokens_page(
    request: Request,
    revoked: str | None = None,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Every token, newest first, and the form for a new one."""
    return _page(request, db, viewer, revoked=revoked)


@router.post("")
def create_token(
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """A new token: its value is in this answer only (a page, not a redirect, so no later
    GET can show it again)."""
    typed = {"name": str(form.get("name") or "").strip(), "role": str(form.get("role") or "")}
    try:
        # The API's own shape (POST /api/v1/tokens): both doors take and refuse the same input.
        body = TokenIn.model_validate(typed)
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        error = (
            "请填写令牌名称（用在哪个系统或谁在用）：最多 120 个字，不能含控制字符。"
            if "name" in fields
            else "请选择一个角色。"
        )
        return _page(request, db, viewer, typed=typed, error=error, code=422)
    plain = auth.create_token(db=db, name=body.name, role=body.role)
    return _page(request, db, viewer, new={"name": body.name, "token": plain})


@router.post("/{token_id}/revoke")
def revoke_token(
    token_id: RowId,
    db: Session = DB,
    _: Viewer = Depends(signed_in),
) -> Response:
    """Revoke a token: every request carrying it gets 401 from now on."""
    row = auth.revoke_token(db=db, token_id=token_id)
    return redirect(f"/tokens?revoked={row.id}")
