"""Request shapes of the SLA API."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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


class HolidayDayOut(BaseModel):
    day: date
    name: str


class HolidayYearOut(BaseModel):
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


class HolidayWarningOut(BaseModel):
    year: int
    status: str
    message: str = Field(description="What is missing and what to do, in Chinese.")


class HolidaysOut(BaseModel):
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
