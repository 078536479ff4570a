"""SLA clocks derived from append-only facts: the calendar, the pauses, the evidence.

A clock counts working minutes from its start, stops while any pausing interval is open, and
its deadline is the instant it reaches its target. A deadline is None while the clock is
stopped by a pause that has not ended (the deadline is not known yet).
"""

from collections.abc import Iterable
from datetime import UTC, datetime

from sla.calendar import CalendarSpec, add_business_minutes, business_minutes_between

Interval = tuple[datetime, datetime | None]  # end None: still open


def pause_intervals(events: Iterable[tuple[str, str, str | None, datetime]]) -> list[Interval]:
    """Pair (kind, action, ref, at) events into intervals: an end closes the oldest open start
    of the same kind and ref; an end without a start is ignored."""
    open_: dict[tuple[str, str | None], list[datetime]] = {}
    out: list[Interval] = []
    for kind, action, ref, at in sorted(events, key=lambda e: e[3]):
        key = (kind, ref)
        if action == "start":
            open_.setdefault(key, []).append(at)
        elif open_.get(key):
            out.append((open_[key].pop(0), at))
    out += [(start, None) for starts in open_.values() for start in starts]
    return merge(out)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of intervals, sorted, none overlapping."""
    merged: list[Interval] = []
    for start, end in sorted(intervals, key=lambda iv: iv[0]):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                break  # an open interval swallows everything after it
            if start <= last_end:
                new_end = None if end is None else max(end, last_end)
                merged[-1] = (last_start, new_end)
                continue
        merged.append((start, end))
    return merged


def deadline(
    spec: CalendarSpec, start: datetime, minutes: float, pauses: list[Interval]
) -> datetime | None:
    """When `minutes` working minutes have run since start, not counting pauses."""
    remaining = float(minutes)
    cursor = start
    for p_start, p_end in pauses:
        if p_end is not None and p_end <= cursor:
            continue
        if p_start > cursor:
            available = business_minutes_between(spec, cursor, p_start)
            if remaining <= available:
                break
            remaining -= available
        if p_end is None:
            return None
        cursor = max(cursor, p_end)
    # Whole seconds in UTC: the instant is part of the escalations' unique key and is
    # compared after a round trip through either database.
    return add_business_minutes(spec, cursor, remaining).astimezone(UTC).replace(microsecond=0)


def paused_at(pauses: list[Interval], at: datetime) -> bool:
    """Whether the clock is stopped at the instant `at`."""
    return any(s <= at and (e is None or at < e) for s, e in pauses)
