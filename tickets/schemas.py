"""API shapes of tickets: what the ticket, desk and prediction routes answer, and what the
desk's actions take (the API and the console parse an action with the same model).

Personal values (phone, name, address, texts) are optional: a role that may not see them gets
them masked or left out.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.schemas import ApiModel
from tickets import finish


class DeskAction(BaseModel):
    """An action's input; surrounding blanks are dropped, so a blank text is a missing one."""

    model_config = ConfigDict(str_strip_whitespace=True)


class CloseIn(DeskAction):
    """Close with an outcome."""

    outcome: str = Field(description=f"One of {list(finish.OUTCOMES)}")
    note: str | None = None
    expected_version: int | None = None


class CancelIn(DeskAction):
    """Cancel with a reason."""

    reason: str = Field(min_length=1)
    expected_version: int | None = None


class MergeIn(DeskAction):
    """Merge this ticket (the duplicate) into another."""

    into: str = Field(min_length=1, description="Id or number of the ticket that carries the work.")
    note: str | None = None


class NoteIn(DeskAction):
    """An internal note (not shown to the customer)."""

    note: str = Field(min_length=1, max_length=4000)


class Candidate(ApiModel):
    """One ranked KB entry for the caller's description (score and confidence may be missing
    on tickets stored by other versions or imported: an answer never fails on stored data)."""

    kb_id: str
    score: float | None = None
    confidence: float | None = None


class DiagnosisOut(ApiModel):
    """The diagnosis: the chosen entry (null with no_match), its confidence and the ranking."""

    kb_id: str | None = None
    no_match: bool | None = None
    confidence: float | None = None
    candidates: list[Candidate] | None = None
    # Where the ticket's product type came from: said | diagnosis | near_misses (the two best
    # candidates agree though none matched) | null (none).
    product_source: str | None = None


class CustomerOut(ApiModel):
    """Who called."""

    name: str | None = None
    phone: str | None = None


class LocationOut(ApiModel):
    """Where the work is."""

    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    region: str | None = None


class DeviceOut(ApiModel):
    """What is broken."""

    product_type: str | None = None
    model: str | None = None
    hardware_id: str | None = None
    firmware: str | None = None


class FaultOut(ApiModel):
    """What the caller said, as received and normalised, and the fault code."""

    description: str | None = None
    normalized_text: str | None = None
    fault_code: str | None = None


class TicketRating(ApiModel):
    """The customer's rating."""

    score: int
    reason: str | None = None
    at: datetime | None = None


class RequiredField(ApiModel):
    """A field the dynamic field chain requires, and whether it is still missing."""

    name: str
    missing: bool | None = None


class TicketOut(ApiModel):
    """A ticket."""

    id: int
    number: str
    status: str
    version: int
    channel: str
    source: str | None = None
    created_at: datetime
    updated_at: datetime
    reported_at: datetime | None = None
    customer: CustomerOut | None = None
    location: LocationOut | None = None
    device: DeviceOut
    fault: FaultOut | None = None
    fields: dict[str, Any] | None = None
    required_fields: list[RequiredField]
    missing_fields: list[str]
    diagnosis: DiagnosisOut
    severity: str | None = None
    sla_class: str
    transcript: list[dict[str, Any]] | None = None
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    customer_link: str | None = None
    rating: TicketRating | None = None


class TicketList(ApiModel):
    """A page of tickets and how many match in all."""

    total: int | None = None
    items: list[TicketOut]


class HistoryEvent(ApiModel):
    """One entry of a ticket's append-only history."""

    id: int
    at: datetime
    actor: str
    kind: str
    from_status: str | None = None
    to_status: str | None = None
    changes: dict[str, Any] | None = None
    reason: str | None = None


class HistoryOut(ApiModel):
    """A ticket's history, oldest first."""

    items: list[HistoryEvent]


class CorrectionOut(ApiModel):
    """An agent's verdict on an auto-filled ticket (labelled data)."""

    ticket_id: int
    at: datetime
    actor: str
    text: str | None = None
    predicted_kb_id: str | None = None
    corrected_kb_id: str | None = None
    diagnosis_correct: bool
    fields_correct: bool
    predicted_fields: dict[str, Any] | None = None
    corrected_fields: dict[str, Any] | None = None
    note: str | None = None


class CorrectionsOut(ApiModel):
    """Review verdicts, newest first."""

    items: list[CorrectionOut]


class NoteOut(ApiModel):
    """The note added to a ticket's history."""

    ticket_id: int
    note: str


class AttachmentOut(ApiModel):
    """A stored photo, screenshot or PDF of a ticket."""

    id: int
    ticket_id: int
    field: str | None = None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str


class AttachmentsOut(ApiModel):
    """A ticket's attachments."""

    items: list[AttachmentOut]


class EpisodeOut(ApiModel):
    """The latest run of occurrences of a recurring pattern."""

    from_: datetime = Field(alias="from")
    to: datetime
    tickets: list[int]


class PatternOut(ApiModel):
    """One recurring pattern (same model and fault code) and its learned probability."""

    fault_code: str | None = None
    product_type: str | None = None
    occurrences: int
    episodes: int
    last_episode: EpisodeOut
    active: bool
    trials: int
    recurred: int
    probability_next: float | None = None
    raises_ticket: bool
    why: dict[str, Any]


class ModelPatterns(ApiModel):
    """The recurring patterns of one device model."""

    model: str | None = None
    patterns: list[PatternOut]


class RecurringReport(ApiModel):
    """Recurring patterns per model with the parameters and the model that scored them."""

    min_count: int
    window_days: float
    min_probability: float | None = None
    method: str
    model_trials: int
    fleet_rate: float
    models: list[ModelPatterns]


class AlertOut(ApiModel):
    """A recurring-fault alert and its preventive ticket."""

    id: int
    created_at: datetime
    product_type: str | None = None
    model: str | None = None
    fault_code: str | None = None
    occurrences: int
    window_days: float
    probability_next: float | None = None
    evidence: Any = None
    ticket_id: int | None = None


class AlertsOut(ApiModel):
    """Alerts, newest first."""

    items: list[AlertOut]


class ScanOut(ApiModel):
    """The alerts a scan raised."""

    created: list[AlertOut]
