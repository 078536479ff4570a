"""Request and answer shapes of the SLA API."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.schemas import ApiModel


class Strict(BaseModel):
    """Unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class CalendarIn(Strict):
    name: str = Field(min_length=1, max_length=64)
    timezone: str = "Asia/Shanghai"
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    windows: list[list[str]] = Field(default_factory=lambda: [["09:00", "18:00"]])
    holidays: Literal["cn"] | None = Field(
        default=None,
        description="'cn': follow the Chinese public holidays and make-up working days of every "
        "year (GET /api/v1/sla/holidays); the calendar's own days override them.",
    )


class CalendarDayIn(Strict):
    day: date
    kind: Literal["holiday", "workday"]
    name: str = Field(min_length=1, max_length=64)


class YearIn(Strict):
    days: list[CalendarDayIn]


class RestRangeIn(Strict):
    name: str = Field(min_length=1, max_length=64, description="e.g. 春节")
    first: date = Field(description="First rest day, as in the notice (inclusive).")
    last: date = Field(description="Last rest day (inclusive).")


class MakeupDayIn(Strict):
    day: date = Field(description="A Saturday or Sunday that is worked (调休上班).")
    name: str = Field(min_length=1, max_length=64, description="The holiday it makes up for.")


class NoticeIn(Strict):
    """One year's State Council holiday notice (国务院办公厅关于部分节假日安排的通知)."""

    holidays: list[RestRangeIn] = Field(description="Every rest-day range of the notice.")
    workdays: list[MakeupDayIn] = Field(
        default_factory=list, description="Every make-up working day of the notice."
    )


class HolidayDayOut(ApiModel):
    day: date
    name: str


class HolidayYearOut(ApiModel):
    year: int
    status: Literal["confirmed", "statutory only"] = Field(
        description="confirmed: the notice's make-up working days are confirmed (shipped or by "
        "an admin); statutory only: from the holidays package, not confirmed."
    )
    source: Literal["admin", "shipped", "holidays package"]
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    holidays: list[HolidayDayOut] = Field(description="Weekdays and weekend days off.")
    workdays: list[HolidayDayOut] = Field(description="Make-up working days (调休上班).")


class HolidayWarningOut(ApiModel):
    year: int
    status: str
    message: str = Field(description="What is missing and what to do, in Chinese.")


class HolidaysOut(ApiModel):
    package_version: str = Field(description="The installed holidays package.")
    years: list[HolidayYearOut]
    warnings: list[HolidayWarningOut] = Field(
        description="Watched years (this one; from 1 November the next) not confirmed."
    )


class PolicyIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    product_type: str | None = Field(default=None, max_length=50)
    severity: str | None = Field(default=None, max_length=16)
    customer_tier: str | None = Field(default=None, max_length=32)
    region: str | None = Field(default=None, max_length=64)
    priority: int = Field(default=0, description="Of several matching policies, highest wins.")
    response_minutes: int = Field(gt=0, le=60 * 24 * 60)
    resolution_minutes: int = Field(gt=0, le=60 * 24 * 365)
    calendar_id: int
    pause_kinds: list[Literal["waiting_part", "waiting_customer"]] = Field(
        default_factory=lambda: ["waiting_part", "waiting_customer"]
    )


class PolicyPatch(Strict):
    product_type: str | None = Field(default=None, max_length=50)
    severity: str | None = Field(default=None, max_length=16)
    customer_tier: str | None = Field(default=None, max_length=32)
    region: str | None = Field(default=None, max_length=64)
    priority: int | None = None
    response_minutes: int | None = Field(default=None, gt=0, le=60 * 24 * 60)
    resolution_minutes: int | None = Field(default=None, gt=0, le=60 * 24 * 365)
    calendar_id: int | None = None
    pause_kinds: list[Literal["waiting_part", "waiting_customer"]] | None = None
    active: bool | None = None


class RegionContactIn(Strict):
    supervisor: str = Field(min_length=1, max_length=160)
    supervisor_url: str = Field(pattern=r"^https?://", max_length=2000)
    director: str = Field(min_length=1, max_length=160)
    director_url: str = Field(pattern=r"^https?://", max_length=2000)


class DepartmentIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    contact: str = Field(min_length=1, max_length=160)
    contact_url: str = Field(pattern=r"^https?://", max_length=2000)
    handles: list[Literal["cloud_command_fault"]] = Field(default_factory=list)
    answer_hours: float = Field(default=4.0, gt=0, le=24 * 30)


class ViewedIn(Strict):
    lat: float = Field(description="Technician's latitude when the ticket was opened.")
    lon: float
    at: datetime | None = Field(
        default=None, description="The device's own time (kept as proof; our clock counts)."
    )
    report_id: str | None = Field(
        default=None, max_length=100, description="Idempotency key: a resend is a no-op."
    )
    technician_id: int | None = Field(
        default=None,
        description="Only for an admin reporting on a technician's behalf: who opened it.",
    )


class PauseIn(Strict):
    kind: Literal["waiting_customer", "waiting_part"] = "waiting_customer"
    action: Literal["start", "end"]
    reason: str | None = Field(default=None, max_length=500)


class FlagIn(Strict):
    kind: Literal["cloud_command_fault"] = "cloud_command_fault"
    summary: str = Field(min_length=1, max_length=2000)
    logs: str = Field(min_length=1, description="Raw device logs, as exported.")


class AnswerIn(Strict):
    answer: str = Field(min_length=1, max_length=20000)
    expected_version: int | None = None


# Answers


class CalendarDayOut(ApiModel):
    """A calendar's own holiday or make-up working day."""

    day: date
    kind: str
    name: str


class CalendarOut(ApiModel):
    """A business calendar: working weekdays and hours in a timezone, and its own days."""

    id: int
    name: str
    timezone: str
    weekdays: list[int]
    windows: list[list[str]]
    holidays: str | None = None
    days: list[CalendarDayOut]


class PolicyOut(ApiModel):
    """An SLA policy: what it matches, its targets, calendar and pausing states."""

    id: int
    name: str
    product_type: str | None = None
    severity: str | None = None
    customer_tier: str | None = None
    region: str | None = None
    priority: int
    response_minutes: int
    resolution_minutes: int
    calendar_id: int
    pause_kinds: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class RegionContactOut(ApiModel):
    """Whom a region's escalations go to (URLs are secrets: admins only)."""

    id: int
    region: str
    supervisor: str
    supervisor_url: str | None = None
    director: str
    director_url: str | None = None


class DepartmentOut(ApiModel):
    """A department that answers collaboration requests, and in how many hours."""

    id: int
    name: str
    contact: str
    contact_url: str | None = None
    handles: list[str]
    answer_hours: float


class DefaultsOut(ApiModel):
    """The calendars and policies installed by the defaults."""

    calendars: list[str]
    policies: list[str]


class ClockOut(ApiModel):
    """One SLA clock (response or resolution)."""

    target_minutes: int | None = None
    deadline_at: datetime | None = None
    done_at: datetime | None = None
    status: str


class EvidenceOut(ApiModel):
    """One evidence node report and whether it counted."""

    id: int
    kind: str
    at: datetime
    recorded_at: datetime
    actor: str
    accepted: bool
    rejection_reason: str | None = None
    proof: dict[str, Any] | None = None


class EvidenceRecorded(ApiModel):
    """An evidence report as stored (duplicate: the same report again, nothing new)."""

    duplicate: bool
    evidence: EvidenceOut


class PauseOut(ApiModel):
    """A pause of the clocks started or ended."""

    kind: str
    action: str
    at: datetime
    actor: str
    ref: str | None = None


class EscalationOut(ApiModel):
    """One escalation step fired (yellow, red, black) and whom it told."""

    id: int
    ticket_id: int
    deadline_kind: str
    deadline_at: datetime
    level: str
    due_at: datetime
    fired_at: datetime
    lateness_s: float
    region: str | None = None
    recipient: str | None = None
    alerted: bool


class EscalationList(ApiModel):
    """Escalations, newest first, and how many match."""

    total: int
    items: list[EscalationOut]


class TicketSlaOut(ApiModel):
    """Everything about a ticket's SLA: policy, clocks, evidence nodes, pauses, escalations."""

    ticket_id: int
    policy: dict[str, Any] | None = None
    started_at: datetime
    paused: bool
    region: str | None = None
    technician: str | None = None
    department: str | None = None
    clocks: dict[str, ClockOut]
    nodes: dict[str, Any]
    evidence: list[EvidenceOut]
    pauses: list[PauseOut]
    escalations: list[EscalationOut]


class CollaborationOut(ApiModel):
    """A request to another department, its due time and answer (logs when read alone)."""

    id: int
    ticket_id: int
    department: str
    contact: str | None = None
    kind: str
    summary: str
    raised_by: str
    raised_at: datetime
    due_at: datetime
    status: str
    answered_at: datetime | None = None
    answered_by: str | None = None
    answer: str | None = None
    late: bool
    late_minutes: float
    version: int
    logs: str | None = None


class AttainmentOut(ApiModel):
    """The share of SLA clocks met per group (region, technician, period or department)."""

    group_by: str
    period: str | None = None
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None
    as_of: datetime
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None = None


class AtRiskOut(ApiModel):
    """Open clocks due within the window, by escalation level."""

    as_of: datetime
    count: int
    by_level: dict[str, int]
    items: list[dict[str, Any]]
