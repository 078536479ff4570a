"""Business-time arithmetic: working hours, weekends, public holidays and make-up working days.

A calendar is a timezone (Asia/Shanghai by default), the weekdays that are normally worked,
the working windows of a day (e.g. 09:00–18:00, or 00:00–24:00 for round-the-clock service),
and per-date overrides: a holiday on a weekday, or a make-up working day (调休上班) on a
weekend. All instants in and out are timezone-aware; the arithmetic walks the local days.
Where the dates come from is sla.public_holidays' business; this module only counts.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Far enough for any SLA target; stops a calendar without working time from looping forever.
MAX_DAYS = 3 * 366


class CalendarError(ValueError):
    """The calendar cannot answer (e.g. it has no working time at all)."""


def parse_hhmm(text: str) -> int:
    """'09:30' → 570 minutes after midnight; '24:00' is the end of the day."""
    hh, _, mm = text.partition(":")
    if not (hh.isdigit() and mm.isdigit()) or len(mm) != 2:
        raise CalendarError(f"time {text!r} is not HH:MM")
    minutes = int(hh) * 60 + int(mm)
    if int(mm) >= 60 or minutes > 24 * 60:
        raise CalendarError(f"time {text!r} is outside 00:00–24:00")
    return minutes


def parse_windows(windows: list[list[str]]) -> tuple[tuple[int, int], ...]:
    """Working windows as sorted, non-overlapping (start, end) minute pairs."""
    parsed = sorted((parse_hhmm(a), parse_hhmm(b)) for a, b in windows)
    for (s, e), nxt in zip(parsed, [*parsed[1:], None], strict=True):
        if e <= s:
            raise CalendarError(f"window ends before it starts: {s // 60:02d}:{s % 60:02d}")
        if nxt is not None and nxt[0] < e:
            raise CalendarError("working windows overlap")
    return tuple(parsed)


@dataclass(frozen=True)
class CalendarSpec:
    """Everything the arithmetic needs, detached from the database."""

    timezone: str = "Asia/Shanghai"
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO: Monday = 1
    windows: tuple[tuple[int, int], ...] = ((9 * 60, 18 * 60),)
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # make-up working days

    @property
    def tz(self) -> ZoneInfo:
        """The calendar's zone."""
        return ZoneInfo(self.timezone)

    def is_workday(self, day: date) -> bool:
        """Whether day is worked: overrides first, then the usual weekdays."""
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return day.isoweekday() in self.weekdays

    def open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of a local day, as aware datetimes."""
        if not self.is_workday(day):
            return []
        midnight = datetime.combine(day, time(0), tzinfo=self.tz)
        return [
            (midnight + timedelta(minutes=s), midnight + timedelta(minutes=e))
            for s, e in self.windows
        ]


def _check_aware(*instants: datetime) -> None:
    for t in instants:
        if t.tzinfo is None:
            raise CalendarError("instants must be timezone-aware")


def add_business_minutes(spec: CalendarSpec, start: datetime, minutes: float) -> datetime:
    """The instant at which `minutes` of working time have passed since start."""
    _check_aware(start)
    remaining = timedelta(minutes=minutes)
    local = start.astimezone(spec.tz)
    day = local.date()
    for _ in range(MAX_DAYS):
        for a, b in spec.open_intervals(day):
            a = max(a, local)
            if b <= a:
                continue
            if remaining <= b - a:
                return (a + remaining).astimezone(start.tzinfo)
            remaining -= b - a
        day += timedelta(days=1)
    raise CalendarError(f"no {minutes} working minutes within {MAX_DAYS} days of {start}")


def business_minutes_between(spec: CalendarSpec, start: datetime, end: datetime) -> float:
    """Working minutes in [start, end) (0 when end is not after start)."""
    _check_aware(start, end)
    if end <= start:
        return 0.0
    lo, hi = start.astimezone(spec.tz), end.astimezone(spec.tz)
    total = timedelta()
    day = lo.date()
    while day <= hi.date():
        for a, b in spec.open_intervals(day):
            a, b = max(a, lo), min(b, hi)
            if b > a:
                total += b - a
        day += timedelta(days=1)
    return total.total_seconds() / 60.0
