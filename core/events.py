"""In-process domain events: one domain reacts to another's change without importing it.

Handlers run synchronously, in the publisher's transaction, in subscription order; a handler
that needs slow or retried work enqueues a task on the durable queue (core.tasks) instead.
"""

import importlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Handler = Callable[..., None]

# Modules whose import subscribes handlers; a domain adds its `hooks` module here.
# Order matters where handlers of one event build on each other: tickets.location places a
# ticket from its address before dispatch.hooks matches it (same transaction).
HANDLER_MODULES: tuple[str, ...] = (
    "sla.hooks",
    "intake.bridges.hooks",
    "tickets.location",
    "intake.bridges.geocoder",
    "dispatch.hooks",
    "tickets.calibration",
)

_handlers: dict[str, list[Handler]] = defaultdict(list)
_loaded = False


def subscribe(name: str) -> Callable[[Handler], Handler]:
    """Decorator: call the function with (db=..., **payload) whenever `name` is published."""

    def register(fn: Handler) -> Handler:
        if fn not in _handlers[name]:
            _handlers[name].append(fn)
        return fn

    return register


def unsubscribe(name: str, fn: Handler) -> None:
    """Stop calling fn for `name` (tests that listen for a while)."""
    if fn in _handlers.get(name, ()):
        _handlers[name].remove(fn)


def publish(name: str, *, db: Session, **payload: Any) -> None:
    """Tell every subscriber of `name`; an exception in a handler aborts the transaction."""
    _load_handlers()
    for fn in list(_handlers.get(name, ())):
        fn(db=db, **payload)


def _load_handlers() -> None:
    global _loaded
    if not _loaded:
        for module in HANDLER_MODULES:
            importlib.import_module(module)
        _loaded = True
