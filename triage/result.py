"""What triage makes of one text: the typed result every door turns into a ticket."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TriageResult:
    """Fields under the KB's names (triage.entities.FIELD_NAMES), the fields the chain requires
    next, and the diagnosis (`kb_id`, `no_match`, `confidence`, ranked `candidates`, and the
    matched entry's resolution)."""

    # In the order of the JSON the API and the CLI print.
    text: str
    normalized_text: str
    homophone_fixes: list[dict[str, str]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    required_fields: list[dict[str, Any]] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    diagnosis: dict[str, Any] = field(default_factory=dict)
    severity: str | None = None
    sla_class: str = "P3"
    latency_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (the API's and the CLI's shape)."""
        return asdict(self)
