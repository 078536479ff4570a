"""The service's public base URL, for links that leave it: a customer's progress link, the
push card's links to the technician app.

`HOTLINE_DISPATCH_APP_URL` when it is set (the override, and what production sets). Unset,
a link in an answer (a ticket's `customer_link` in the API and the console) uses the base URL
the request reached the service at, so it works on whatever host serves it. A link in a
message that leaves by another way (a customer's SMS, a push card) has no request of its own
to go by: it takes the setting or the loopback default, and `hotline serve` warns when it
listens on another address without the setting.
"""

import ipaddress
from contextvars import ContextVar

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from core.settings import get_settings

DEFAULT = "http://127.0.0.1:8000"
_request_base: ContextVar[str | None] = ContextVar("hotline_request_base_url", default=None)


def base_url() -> str:
    """Where links in an answer should point (no trailing slash): the setting, else the
    address the request being answered came in on, else the default."""
    return (get_settings().dispatch_app_url or _request_base.get() or DEFAULT).rstrip("/")


def sent_base_url() -> str:
    """Where links in a message sent elsewhere (an SMS, a push card) should point: the setting
    or the default, never the address of whichever request set the message off (an internal
    address, or a Host header the sender chose)."""
    return (get_settings().dispatch_app_url or DEFAULT).rstrip("/")


def unset_warning(host: str) -> str | None:
    """What to tell whoever starts a service listening on host without the setting (links
    made without a request would point at the loopback address); None when nothing to say."""
    if get_settings().dispatch_app_url:
        return None
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a host name: reached from elsewhere
    if loopback:
        return None
    return (
        f"HOTLINE_DISPATCH_APP_URL is not set while the service listens on {host}: links in "
        "answers use the address each request came in on, but links in messages (customers' "
        f"SMS and WeChat, push cards) point at {DEFAULT}. Set it to the public URL."
    )


def install(app: FastAPI) -> None:
    """Remember each HTTP request's base URL while it is answered (base_url reads it)."""
    app.add_middleware(RequestBaseUrl)


class RequestBaseUrl:
    """Pure ASGI, like core.http_security: the value is set in the request's own context,
    which the route (and the thread a sync route runs in) inherits."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _request_base.set(str(Request(scope).base_url))
        try:
            await self.app(scope, receive, send)
        finally:
            _request_base.reset(token)
