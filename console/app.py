"""The console sub-application: its pages and its HTML error pages, mounted under /console.

The console is its own small ASGI app, so its failures render as HTML pages (login redirect,
403 page) while the JSON API keeps its JSON error shape.
"""

import re

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from console import (
    accounts,
    audit,
    boards,
    curation,
    desk,
    holidays,
    imports,
    kb_gaps,
    kb_transfer,
    login,
    review,
    tech,
    tokens,
    users,
    webhooks,
    zh,
)
from console.web import COOKIE, HERE, PREFIX, Forbidden, LoginRequired, Viewer, render
from core import control_chars
from core.errors import ApiError
from triage.rules import get_rules

# The modules serving pages, in routing order: kb_gaps and kb_transfer before curation, whose
# /kb/{entry_id} would take /kb/gaps. Each page has its rule in the access policy
# (hotline/policy.py).
PAGES = (
    login,
    desk,
    review,
    kb_gaps,
    kb_transfer,
    curation,
    boards,
    imports,
    holidays,
    tech,
    users,
    tokens,
    webhooks,
    audit,
)


def create_console() -> FastAPI:
    """The console sub-application (mounted at /console by hotline.app)."""
    app = FastAPI(
        title="Hotline console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # A control character in a form or link is the 422 page that names the field.
        dependencies=[Depends(control_chars.refuse_control_characters)],
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in PAGES:
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            # htmx follows redirects inside the fragment; make it load the login page instead.
            return Response(status_code=401, headers={"HX-Redirect": PREFIX + "/login"})
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?next={nxt}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        allowed = "、".join(accounts.ROLE_LABELS[r] for r in exc.allowed)
        return _error_page(
            request, 403, "无权访问", f"此页面仅对{allowed}开放。", _viewer_of(request)
        )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        viewer = _viewer_of(request)
        message = zh.error_message(exc.code, exc.message)
        if exc.code == "control_character" and exc.details:
            rules = {n: str(f.get("label", n)) for n, f in get_rules().fields.items()}
            codepoint = re.search(r"U\+[0-9A-F]{4,}", exc.message)
            message = zh.control_character_message(
                str(exc.details[0].get("field", "")),
                codepoint.group() if codepoint else "",
                {**curation.LABELS, **rules},
            )
        return _error_page(request, exc.status, zh.error_title(exc.status), message, viewer)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # A bad path or query value (a typo in a link) is a Chinese page, never raw JSON.
        where = "、".join(str(e.get("loc", ("",))[-1]) for e in exc.errors())
        message = f"链接或表单中的参数不正确（{where}），请检查后重试。"
        return _error_page(request, 422, zh.error_title(422), message, _viewer_of(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = (
            "没有这个页面，请检查网址，或从导航进入。"
            if exc.status_code == 404
            else zh.error_message("", str(exc.detail))
        )
        title = zh.error_title(exc.status_code)
        return _error_page(request, exc.status_code, title, message, _viewer_of(request))

    return app


def _viewer_of(request: Request) -> Viewer | None:
    """The logged-in user, for the nav of an error page (the request's session was rolled back,
    which expired its objects)."""
    from core.db import session_scope

    with session_scope() as db:
        found = accounts.lookup_session(db=db, token=request.cookies.get(COOKIE))
        return Viewer(found[1], found[0]) if found else None


def _error_page(
    request: Request, status: int, title: str, message: str, viewer: Viewer | None = None
) -> HTMLResponse:
    return render(
        request, "error.html", viewer, code=status, status=status, title=title, message=message
    )
