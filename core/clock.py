"""An injectable clock, so time-dependent logic can be tested without waiting."""

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (None restores the wall clock)."""
    global _now
    _now = fn or (lambda: datetime.now(UTC))
