"""Business-time arithmetic and clocks: holidays, make-up days, pauses (no database)."""

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla import clocks
from sla.calendar import (
    CalendarError,
    CalendarSpec,
    add_business_minutes,
    builtin_years,
    business_minutes_between,
    parse_windows,
)

SH = ZoneInfo("Asia/Shanghai")


def cn_2026() -> CalendarSpec:
    days = builtin_years()[2026]
    return CalendarSpec(
        holidays=frozenset(d for d, _ in days["holiday"]),
        workdays=frozenset(d for d, _ in days["workday"]),
    )


def test_shipped_2026_calendar_has_the_state_council_dates() -> None:
    days = builtin_years()[2026]
    holidays = {d.isoformat() for d, _ in days["holiday"]}
    workdays = sorted(d.isoformat() for d, _ in days["workday"])
    assert len(holidays) == 33  # 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert {"2026-02-15", "2026-02-23", "2026-04-06", "2026-10-07"} <= holidays
    assert "2026-02-24" not in holidays
    assert workdays == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]


def test_ticket_at_1755_on_the_friday_before_qingming() -> None:
    spec = cn_2026()
    start = datetime(2026, 4, 3, 17, 55, tzinfo=SH)  # Friday; 4–6 April is Qingming
    # 5 minutes on Friday, the rest on Tuesday 7 April from 09:00.
    assert add_business_minutes(spec, start, 120) == datetime(2026, 4, 7, 10, 55, tzinfo=SH)
    assert add_business_minutes(spec, start, 5) == datetime(2026, 4, 3, 18, 0, tzinfo=SH)
    assert business_minutes_between(spec, start, datetime(2026, 4, 7, 9, 0, tzinfo=SH)) == 5
    # Same instant given in UTC: the answer is the same instant.
    utc = add_business_minutes(spec, start.astimezone(UTC), 120)
    assert utc.tzinfo == UTC and utc == datetime(2026, 4, 7, 2, 55, tzinfo=UTC)


def test_make_up_working_day_counts_and_holiday_saturday_does_not() -> None:
    spec = cn_2026()
    saturday_holiday = datetime(2026, 1, 3, 10, 0, tzinfo=SH)
    # Sunday 4 January is a make-up working day.
    assert add_business_minutes(spec, saturday_holiday, 60) == datetime(
        2026, 1, 4, 10, 0, tzinfo=SH
    )
    # Saturday 14 February is worked; the Spring Festival then runs 15–23 February.
    start = datetime(2026, 2, 14, 17, 0, tzinfo=SH)
    assert add_business_minutes(spec, start, 120) == datetime(2026, 2, 24, 10, 0, tzinfo=SH)


def test_add_and_between_are_inverse_over_random_instants() -> None:
    spec = cn_2026()
    rng = random.Random(3)
    base = datetime(2026, 1, 1, tzinfo=SH)
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(365 * 24 * 60))
        minutes = rng.randrange(1, 5000)
        end = add_business_minutes(spec, start, minutes)
        assert business_minutes_between(spec, start, end) == pytest.approx(minutes)
        assert spec.is_workday(end.astimezone(SH).date())


def test_round_the_clock_calendar_and_lunch_break() -> None:
    always = CalendarSpec(
        weekdays=frozenset(range(1, 8)), windows=parse_windows([["00:00", "24:00"]])
    )
    start = datetime(2026, 10, 1, 23, 50, tzinfo=SH)
    assert add_business_minutes(always, start, 30) == start + timedelta(minutes=30)
    split = CalendarSpec(windows=parse_windows([["13:00", "18:00"], ["09:00", "12:00"]]))
    assert add_business_minutes(split, datetime(2026, 3, 10, 11, 30, tzinfo=SH), 60) == datetime(
        2026, 3, 10, 13, 30, tzinfo=SH
    )


def test_bad_calendars_are_refused() -> None:
    with pytest.raises(CalendarError):
        parse_windows([["18:00", "09:00"]])
    with pytest.raises(CalendarError):
        parse_windows([["09:00", "12:00"], ["11:00", "13:00"]])
    with pytest.raises(CalendarError):
        parse_windows([["9h", "12:00"]])
    never = CalendarSpec(weekdays=frozenset())
    with pytest.raises(CalendarError):
        add_business_minutes(never, datetime(2026, 3, 10, tzinfo=SH), 1)
    with pytest.raises(CalendarError):
        add_business_minutes(cn_2026(), datetime(2026, 3, 10), 1)  # naive


def test_pauses_stop_the_clock_and_an_open_pause_hides_the_deadline() -> None:
    spec = cn_2026()
    start = datetime(2026, 3, 10, 9, 0, tzinfo=SH)  # Tuesday
    assert clocks.deadline(spec, start, 120, []) == datetime(2026, 3, 10, 11, 0, tzinfo=SH)
    # Waiting for a part 10:00–15:00: 300 working minutes do not count.
    part = ("waiting_part", "start", "T1", datetime(2026, 3, 10, 10, 0, tzinfo=SH))
    arrived = ("waiting_part", "end", "T1", datetime(2026, 3, 10, 15, 0, tzinfo=SH))
    closed = clocks.pause_intervals([part, arrived])
    assert clocks.deadline(spec, start, 120, closed) == datetime(2026, 3, 10, 16, 0, tzinfo=SH)
    # Still waiting: no deadline yet.
    assert clocks.deadline(spec, start, 120, clocks.pause_intervals([part])) is None
    # A pause that starts after the deadline does not move it.
    late = clocks.pause_intervals(
        [("waiting_customer", "start", None, datetime(2026, 3, 10, 12, 0, tzinfo=SH))]
    )
    assert clocks.deadline(spec, start, 120, late) == datetime(2026, 3, 10, 11, 0, tzinfo=SH)
    # A pause over the night costs nothing extra: only working minutes are lost.
    night = clocks.pause_intervals(
        [
            ("waiting_customer", "start", None, datetime(2026, 3, 10, 17, 0, tzinfo=SH)),
            ("waiting_customer", "end", None, datetime(2026, 3, 11, 10, 0, tzinfo=SH)),
        ]
    )
    evening = datetime(2026, 3, 10, 16, 0, tzinfo=SH)
    assert clocks.deadline(spec, evening, 120, night) == datetime(2026, 3, 11, 11, 0, tzinfo=SH)
    assert clocks.paused_at(night, datetime(2026, 3, 10, 20, 0, tzinfo=SH))
    assert not clocks.paused_at(night, datetime(2026, 3, 11, 10, 0, tzinfo=SH))


def test_pause_intervals_pair_by_reference_and_merge() -> None:
    t = [datetime(2026, 3, 10, h, tzinfo=SH) for h in range(24)]
    events = [
        ("waiting_part", "start", "A", t[9]),
        ("waiting_part", "start", "B", t[10]),
        ("waiting_part", "end", "A", t[11]),
        ("waiting_part", "end", "B", t[13]),
        ("waiting_part", "end", "C", t[14]),  # no start: ignored
        ("waiting_customer", "start", None, t[15]),
        ("waiting_customer", "end", None, t[16]),
    ]
    assert clocks.pause_intervals(events) == [(t[9], t[13]), (t[15], t[16])]
