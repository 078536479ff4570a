"""In-process domain events: one domain reacts to another's change without importing it.

Handlers run synchronously, in the publisher's transaction, in subscription order; a handler
that needs slow or retried work enqueues a task on the durable queue (core.tasks) instead.
"""

import importlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

Handler = Callable[..., None]

_handlers: dict[str, list[Handler]] = defaultdict(list)
# Modules whose import subscribes handlers, named by the composition root
# (hotline/registry.py HANDLER_MODULES; their order is the call order).
_handler_modules: tuple[str, ...] = ()
_loaded = False


def use_handler_modules(modules: Sequence[str]) -> None:
    """Name the modules whose import subscribes handlers; they are imported at the first
    publish, in this order."""
    global _handler_modules, _loaded
    _handler_modules = tuple(modules)
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
        if not _handler_modules:
            # A publish nobody would hear is a wiring bug, not a quiet no-op.
            raise RuntimeError("no event handler modules: call hotline.registry.install() first")
        for module in _handler_modules:
            importlib.import_module(module)
        _loaded = True
