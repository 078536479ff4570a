"""A ceiling on every request body, whatever the route does with it.

Routes check their own limits (an attachment 10 MB, a registry CSV 5 MB), but only after the
body has arrived: a multipart upload is spooled to disk in full and a JSON body is read into
memory in full before any handler runs. This middleware refuses a body over the upload limit
(plus 1 MB for multipart framing and form fields) as it arrives: at once when Content-Length
says so, else at the chunk that passes it.
"""

import json

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import error_body
from core.settings import get_settings

FRAMING_BYTES = 1024 * 1024


def request_limit() -> int:
    """The largest request body accepted (bytes)."""
    return get_settings().max_upload_bytes + FRAMING_BYTES


def message(limit: int) -> str:
    """What a 413 for a body over limit says."""
    return (
        f"The request body is over {limit / (1024 * 1024):.0f} MB (HOTLINE_MAX_UPLOAD_BYTES "
        "plus 1 MB); nothing was stored."
    )


class BodyTooLarge(HTTPException):
    """The body passed the limit while a route was reading it (the app's handler of
    HTTPException answers it: JSON for the API, a page for the console)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, message(limit))


class BodyLimit:
    """ASGI middleware: 413 `body_too_large` for an HTTP request body over request_limit()."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = request_limit()
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return msg

        await self.app(scope, counted, send)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(error_body("body_too_large", message(limit), {"limit": limit})).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    """Put the ceiling on every request of app (and of the apps mounted in it)."""
    app.add_middleware(BodyLimit)
