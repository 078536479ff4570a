"""The console sub-application: its pages and its HTML error pages, mounted under /console.

The console is its own small ASGI app, so its failures render as HTML pages (login redirect,
403 page) while the JSON API keeps its JSON error shape.
"""

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from console import (
    accounts,
    boards,
    curation,
    holidays,
    imports,
    kb_gaps,
    kb_transfer,
    login,
    review,
    tech,
)
from console.web import COOKIE, HERE, PREFIX, Forbidden, LoginRequired, Viewer, render
from core.errors import ApiError


def create_console() -> FastAPI:
    """The console sub-application (mounted at /console by hotline.app)."""
    app = FastAPI(title="Hotline console", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    # kb_gaps and kb_transfer before curation: its /kb/{entry_id} would take /kb/gaps.
    for module in (login, review, kb_gaps, kb_transfer, curation, boards, imports, holidays, tech):
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
        return _error_page(request, exc.status, "操作未完成", exc.message, viewer)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = "页面不存在" if exc.status_code == 404 else "请求有误"
        return _error_page(request, exc.status_code, title, str(exc.detail), _viewer_of(request))

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
