"""The FastAPI application: routers of every domain mounted in one place."""

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from core import access, body_limit, control_chars, http_security, log_redaction, public_url
from core.errors import install_error_handlers
from hotline import openapi_links, policy, registry


@asynccontextmanager
async def _lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    from core import tasks
    from core.settings import get_settings

    tasks.configure()
    workers = get_settings().embedded_workers
    consumer = tasks.start_worker(workers) if workers else None
    if app.state.warm_up:
        from knowledge_base import live_index
        from triage.service import triage_text

        # Load models and the index before the first caller waits for them.
        live_index.get_index()
        try:
            triage_text("门锁指纹没反应")
        except Exception:  # an empty KB is fine at start-up
            logging.getLogger("hotline").info("warm-up triage skipped", exc_info=True)
    audiosocket = None
    if get_settings().audiosocket_port is not None:
        from intake.audiosocket import start_audiosocket

        audiosocket = app.state.audiosocket = await start_audiosocket(get_settings())
    try:
        yield
    finally:
        if audiosocket is not None:
            await audiosocket.stop()
        if consumer is not None:
            tasks.stop_worker(consumer)


def create_app(*, warm_up: bool = True) -> FastAPI:
    """Build the service."""
    registry.install()
    policy.install()
    app = FastAPI(
        title="Hotline",
        version="0.1.0",
        description="Voice/AI intake and triage for field-service hotlines.",
        lifespan=_lifespan,
        # Every route, these documents included, passes the access policy (hotline/policy.py);
        # then no parameter or body field may hold a control character (core/control_chars.py).
        dependencies=[Depends(access.guard), Depends(control_chars.refuse_control_characters)],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.warm_up = warm_up
    install_error_handlers(app)
    log_redaction.install()
    http_security.install(app)
    body_limit.install(app)
    public_url.install(app)
    for router in registry.routers():
        app.include_router(router)
    from console.app import create_console

    # Server-rendered pages with their own HTML error pages (the API keeps JSON errors).
    app.mount("/console", create_console())

    build = app.openapi

    def openapi_with_links() -> dict:
        fresh = app.openapi_schema is None
        doc = build()
        return openapi_links.add_links(doc) if fresh else doc

    app.openapi = openapi_with_links  # type: ignore[method-assign]
    _serve_description(app)

    from asr import streaming
    from core import health
    from knowledge_base import live_index

    health.install(
        app, checks={"index": live_index.health_check, "asr_decoder": streaming.health_check}
    )
    return app


def _serve_description(app: FastAPI) -> None:
    """/openapi.json, /docs and /redoc as routes of their own, so the policy's guard covers
    them (FastAPI's built-in ones bypass app dependencies)."""

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    # Swagger UI's files come with the package (swagger-ui-bundle-v2), not from a CDN: the
    # service runs where there is no internet, and its content policy admits only its own
    # scripts. ReDoc has no such package, so /redoc shows Swagger UI too.
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Hotline API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return docs()
