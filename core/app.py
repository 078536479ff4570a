"""The FastAPI application: routers of every domain mounted in one place."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.errors import install_error_handlers


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
    try:
        yield
    finally:
        if consumer is not None:
            tasks.stop_worker(consumer)


def create_app(*, warm_up: bool = True) -> FastAPI:
    """Build the service."""
    from core.auth_api import router as access_router
    from core.notify_api import router as notifications_router
    from dispatch.api import router as dispatch_router
    from intake.api import router as intake_router
    from intake.bridges.api import router as bridges_router
    from intake.import_api import router as imports_router
    from intake.openai_api import router as speech_router
    from intake.stream_api import router as stream_router
    from knowledge_base.api import router as kb_router
    from sla.api import router as sla_router
    from tickets.api import corrections_router
    from tickets.api import router as tickets_router
    from tickets.recurrence_api import router as predictions_router
    from triage.api import router as triage_router

    app = FastAPI(
        title="Hotline",
        version="0.1.0",
        description="Voice/AI intake and triage for field-service hotlines.",
        lifespan=_lifespan,
    )
    app.state.warm_up = warm_up
    install_error_handlers(app)
    for router in (
        access_router,
        intake_router,
        imports_router,
        bridges_router,
        predictions_router,
        speech_router,
        stream_router,
        triage_router,
        tickets_router,
        corrections_router,
        kb_router,
        sla_router,
        dispatch_router,
        notifications_router,
    ):
        app.include_router(router)
    from console.web import create_console

    # Server-rendered pages with their own HTML error pages (the API keeps JSON errors).
    app.mount("/console", create_console())

    from asr import streaming
    from core import health
    from knowledge_base import live_index

    health.install(
        app, checks={"index": live_index.health_check, "asr_decoder": streaming.health_check}
    )
    return app
