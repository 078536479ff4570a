"""In-process domain events: one domain reacts to another's change without importing it.

Each event is a frozen dataclass subclassing `Event`, declared by the domain that publishes
it (its `name` beside its fields, e.g. tickets.events.TicketTriaged is "ticket.triaged").
Handlers take the payload and the session: `def on_x(event: X, *, db: Session) -> None`.
They run synchronously, in the publisher's transaction, in subscription order; a handler that
needs slow or retried work enqueues a task on the durable queue (core.tasks) with plain ids,
never the payload's rows.
"""

import importlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Event:
    """Base of every event payload; a subclass sets `name` and declares its fields."""

    name: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        """The fields by name (shallow: rows stay rows)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


E = TypeVar("E", bound=Event)
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


def _name(kind: type[Event] | str) -> str:
    return kind if isinstance(kind, str) else kind.name


def subscribe(
    kind: type[E] | str,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorator: call fn(event, db=...) whenever an event of this type (or name) is
    published."""

    def register(fn: Handler) -> Handler:
        if fn not in _handlers[_name(kind)]:
            _handlers[_name(kind)].append(fn)
        return fn

    return register


def unsubscribe(kind: type[Event] | str, fn: Handler) -> None:
    """Stop calling fn for this event (tests that listen for a while)."""
    if fn in _handlers.get(_name(kind), ()):
        _handlers[_name(kind)].remove(fn)


def publish(event: Event, *, db: Session) -> None:
    """Tell every subscriber; an exception in a handler aborts the transaction."""
    _load_handlers()
    for fn in list(_handlers.get(event.name, ())):
        fn(event, db=db)


def _load_handlers() -> None:
    global _loaded
    if not _loaded:
        if not _handler_modules:
            # A publish nobody would hear is a wiring bug, not a quiet no-op.
            raise RuntimeError("no event handler modules: call hotline.registry.install() first")
        for module in _handler_modules:
            importlib.import_module(module)
        _loaded = True
