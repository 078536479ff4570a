"""Log in, log out, and the landing page of each role."""

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from console import accounts, throttle
from console.web import COOKIE, PREFIX, Viewer, home_of, redirect, render, signed_in
from core.deps import DB

router = APIRouter()


def _safe_next(nxt: str | None) -> str | None:
    """Only console paths: an open redirect would let a phishing link bounce through us."""
    if nxt and nxt.startswith(PREFIX + "/") and not nxt.startswith("//") and "\\" not in nxt:
        return nxt
    return None


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form."""
    return render(request, "login.html", None, next=_safe_next(next) or "", error=None)


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
    db: Session = DB,
) -> Response:
    """Check the credentials (unless this name or address failed too often), start a session
    and go to the user's page."""
    name, address = username.strip(), request.client.host if request.client else "?"
    wait_s = throttle.blocked_for(name, address)
    user = None if wait_s else accounts.authenticate(db=db, username=name, password=password)
    if user is None:
        if not wait_s:
            throttle.failed(name, address)
        error = (
            f"登录失败次数过多，请 {-(-wait_s // 60)} 分钟后再试。"
            if wait_s
            else "用户名或密码错误，或账号已停用。"
        )
        return render(
            request,
            "login.html",
            None,
            code=429 if wait_s else 401,
            next=_safe_next(next) or "",
            error=error,
            username=username,
        )
    throttle.succeeded(name)
    token = accounts.start_session(db=db, user=user)
    found = accounts.lookup_session(db=db, token=token)
    assert found is not None
    target = _safe_next(next) or PREFIX + home_of(Viewer(found[1], found[0]))
    response = redirect(target.removeprefix(PREFIX))
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(accounts.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        # The whole site: the API description (/docs) admits a console login too. The JSON API
        # ignores the cookie, so cross-site requests gain nothing from it.
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, db: Session = DB, _: Viewer = Depends(signed_in)) -> Response:
    """End the session."""
    accounts.end_session(db=db, token=request.cookies.get(COOKIE))
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(COOKIE, path=PREFIX)  # set by versions before the cookie covered /
    return response


@router.get("/")
def home(viewer: Viewer = Depends(signed_in)) -> Response:
    """Each role's first page."""
    return redirect(home_of(viewer))


@router.get("/me")
def me(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """Who is logged in (the landing page of roles without a console area)."""
    return render(request, "me.html", viewer)
