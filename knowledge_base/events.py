"""The events the knowledge base publishes (core.events)."""

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class KbChanged(Event):
    """Published entries changed (publish, retire, import): what depends on them refits."""

    name = "kb.changed"
