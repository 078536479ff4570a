"""Business-time arithmetic and clocks: holidays, make-up days, pauses (no database)."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla import clocks, public_holidays
from sla.calendar import (
    CalendarError,
    CalendarSpec,
    add_business_minutes,
    business_minutes_between,
    parse_windows,
)
from sla.public_holidays import YearDays, shipped_years

SH = ZoneInfo("Asia/Shanghai")


def spec_of(*years: YearDays) -> CalendarSpec:
    """Mon–Fri 09:00–18:00 with the given years' days (as config.calendar_spec merges them)."""
    rest = frozenset(d for y in years for d in y.holidays)
    work = frozenset(d for y in years for d in y.workdays)
    return CalendarSpec(holidays=rest, workdays=work - rest)


def cn_2026() -> CalendarSpec:
    return spec_of(shipped_years()[2026])


def test_shipped_2026_calendar_has_the_state_council_dates() -> None:
    days = shipped_years()[2026]
    assert days.status == "confirmed" and days.source == "shipped"
    holidays = {d.isoformat() for d in days.holidays}
    workdays = sorted(d.isoformat() for d in days.workdays)
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


def test_holidays_package_agrees_with_the_shipped_2026_notice() -> None:
    # The package carries the 2026 notice: its make-up days are the shipped ones, and every
    # weekday it gives off is a rest day of the notice (it omits the weekend days of a block).
    package, shipped = public_holidays.package_year(2026), shipped_years()[2026]
    assert package.status == "statutory only" and package.source == "holidays package"
    assert set(package.workdays) == set(shipped.workdays)
    assert set(package.holidays) <= set(shipped.holidays)
    weekdays_off = {d for d in shipped.holidays if d.isoweekday() < 6}
    assert weekdays_off <= set(package.holidays)


def test_holidays_package_knows_2027_statutory_days_but_not_its_make_up_days() -> None:
    days = public_holidays.package_year(2027)
    names = {d.isoformat(): n for d, n in days.holidays.items()}
    assert names["2027-01-01"] == "元旦" and names["2027-10-01"] == "国庆节"
    # Spring Festival 2027: eve on Friday 5 February, first day Saturday 6 February.
    assert names["2027-02-05"] == "农历除夕" and names["2027-02-06"] == "春节"
    assert days.workdays == {}  # the notice for 2027 is not in the package (0.109)


def test_year_boundary_ticket_at_1750_on_31_december() -> None:
    # 2026 from the shipped notice, 2027 statutory only from the package: 1 January 2027 is
    # a Friday holiday, 2–3 January a weekend, so the clock resumes on Monday 4 January.
    spec = spec_of(shipped_years()[2026], public_holidays.package_year(2027))
    start = datetime(2026, 12, 31, 17, 50, tzinfo=SH)  # Thursday
    assert add_business_minutes(spec, start, 120) == datetime(2027, 1, 4, 10, 50, tzinfo=SH)
    monday = datetime(2027, 1, 4, 9, 0, tzinfo=SH)
    assert business_minutes_between(spec, start, monday) == 10  # 17:50–18:00 carried
    assert business_minutes_between(spec, start, monday + timedelta(minutes=110)) == 120
    # Without 2027's days the New Year holiday would count as a working day.
    assert add_business_minutes(cn_2026(), start, 120) == datetime(2027, 1, 1, 10, 50, tzinfo=SH)


# A 2027 notice as an admin would enter it from the State Council's text. These dates are a
# test fixture shaped like the 2026 notice (nine days off, two make-up Saturdays), not the
# real 2027 arrangement.
NOTICE_2027 = {
    "holidays": [
        {"name": "元旦", "first": date(2027, 1, 1), "last": date(2027, 1, 3)},
        {"name": "春节", "first": date(2027, 2, 5), "last": date(2027, 2, 13)},
    ],
    "workdays": [
        {"day": date(2027, 1, 30), "name": "春节"},
        {"day": date(2027, 2, 20), "name": "春节"},
    ],
}


def confirmed_2027() -> YearDays:
    assert public_holidays.validate_notice(2027, **NOTICE_2027) == []
    rest, work = public_holidays.notice_rows(**NOTICE_2027)
    return YearDays(
        2027,
        "confirmed",
        "admin",
        {date.fromisoformat(r["day"]): r["name"] for r in rest},
        {date.fromisoformat(r["day"]): r["name"] for r in work},
    )


def test_spring_festival_2027_with_make_up_saturdays() -> None:
    spec = spec_of(confirmed_2027())
    # Friday 17:00 + 2 h: Saturday 30 January is worked.
    friday = datetime(2027, 1, 29, 17, 0, tzinfo=SH)
    assert add_business_minutes(spec, friday, 120) == datetime(2027, 1, 30, 10, 0, tzinfo=SH)
    # Thursday before the festival: 5–13 February off, Sunday 14th too, back on Monday 15th.
    eve = datetime(2027, 2, 4, 17, 0, tzinfo=SH)
    assert add_business_minutes(spec, eve, 120) == datetime(2027, 2, 15, 10, 0, tzinfo=SH)
    # The Saturday after is worked as well.
    after = datetime(2027, 2, 19, 17, 0, tzinfo=SH)
    assert add_business_minutes(spec, after, 120) == datetime(2027, 2, 20, 10, 0, tzinfo=SH)
    # Statutory only (the package's estimate): no make-up Saturday, back on 11 February.
    statutory = spec_of(public_holidays.package_year(2027))
    assert add_business_minutes(statutory, friday, 120) == datetime(2027, 2, 1, 10, 0, tzinfo=SH)
    assert add_business_minutes(statutory, eve, 120) == datetime(2027, 2, 11, 10, 0, tzinfo=SH)


def test_notice_validation_names_each_problem() -> None:
    problems = public_holidays.validate_notice(
        2027,
        [
            {"name": "春节", "first": date(2027, 2, 13), "last": date(2027, 2, 5)},
            {"name": "元旦", "first": date(2026, 12, 31), "last": date(2027, 1, 2)},
            {"name": "清明节", "first": date(2027, 4, 3), "last": date(2027, 4, 5)},
            {"name": "又一个", "first": date(2027, 4, 5), "last": date(2027, 4, 5)},
        ],
        [
            {"day": date(2027, 2, 17), "name": "春节"},  # a Wednesday
            {"day": date(2028, 1, 8), "name": "元旦"},
            {"day": date(2027, 4, 3), "name": "清明节"},  # a Saturday inside the rest days
            {"day": date(2027, 1, 30), "name": "春节"},
            {"day": date(2027, 1, 30), "name": "春节"},
        ],
    )
    text = "\n".join(problems)
    assert "last day 2027-02-05 is before first day 2027-02-13" in text
    assert "2026-12-31–2027-01-02 is not within 2027" in text
    assert "2027-04-05 is already in the range of 清明节" in text
    assert "2027-02-17 is a weekday" in text
    assert "2028-01-08 is not in 2027" in text
    assert "2027-04-03 is also a rest day (清明节)" in text
    assert "2027-01-30 is listed twice" in text
    assert len(problems) == 7
    assert public_holidays.validate_notice(2027, [], []) == [
        "holidays: list the notice's rest days (at least one range)"
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
