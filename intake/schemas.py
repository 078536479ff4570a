"""API shapes of the intake doors: audio jobs, imports, bridges, the OpenAI-compatible door."""

from datetime import datetime
from typing import Any

from core.schemas import ApiModel
from tickets.schemas import TicketOut


class JobError(ApiModel):
    """Why a job failed."""

    code: str
    message: str | None = None


class JobOut(ApiModel):
    """A queued recording: queued, running (with progress), done (with its ticket) or failed."""

    id: str
    status: str
    progress: float
    duration: float | None = None
    filename: str | None = None
    channel: str
    created_at: datetime
    updated_at: datetime
    attempts: int
    ticket_id: int | None = None
    error: JobError | None = None
    ticket: TicketOut | None = None


class AudioQueued(ApiModel):
    """A long recording queued as a job, and where to follow it."""

    job: JobOut
    status_url: str


class ImportOut(ApiModel):
    """An import of a sheet or chat export and its report."""

    id: int
    kind: str
    filename: str | None = None
    status: str
    created_at: datetime
    finished_at: datetime | None = None
    rows_seen: int | None = None
    created: int | None = None
    skipped: int | None = None
    failed: int | None = None
    warnings: list[Any]
    problems: list[dict[str, Any]]
    error: str | None = None
    total_estimate: int | None = None


class ImportList(ApiModel):
    """Imports, newest first."""

    items: list[ImportOut]


class ImportRow(ApiModel):
    """One row's outcome: created (with its ticket), skipped or failed (with the reason)."""

    ref: str
    outcome: str
    ticket: str | None = None
    ticket_id: int | None = None


class ImportRows(ApiModel):
    """Per-row outcomes in row order."""

    items: list[ImportRow]


class EnrichmentOut(ApiModel):
    """What one connected system answered about a ticket (or why it did not)."""

    connector: str
    system: str
    status: str
    data: Any = None
    error: str | None = None
    fetched_at: datetime
    duration_ms: int | None = None


class AdviceOut(ApiModel):
    """Advice a rule drew from the connected systems' answers."""

    rule: str
    advice: str
    evidence: Any = None


class TicketBridges(ApiModel):
    """Every enrichment of a ticket (newest first), its failures and the current advice."""

    ticket_id: int
    enrichments: list[EnrichmentOut]
    failures: list[EnrichmentOut]
    advice: list[AdviceOut]


class ConnectorOut(ApiModel):
    """A configured, enabled connector."""

    name: str
    system: str
    method: str
    url: str | None = None
    product_types: list[str]
    for_each: str | None = None
    fields: Any = None


class ConnectorList(ApiModel):
    """The enabled connectors."""

    items: list[ConnectorOut]


class TranscriptionSegment(ApiModel):
    """One timed segment of a transcription."""

    id: int
    start: float
    end: float
    text: str


class TranscriptionOut(ApiModel):
    """OpenAI's `json` (text only) or `verbose_json` (with segments) transcription."""

    text: str
    task: str | None = None
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptionSegment] | None = None
