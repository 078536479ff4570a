"""Failed console logins are counted per user name and per client address; past the limit the
login form refuses further tries for the rest of the window, so passwords cannot be guessed
at line speed. Counts live in Redis when the task queue does (several service machines share
them), otherwise in the process."""

import time
from functools import lru_cache

from limits import RateLimitItem, parse, storage
from limits.strategies import MovingWindowRateLimiter

from core.settings import get_settings

PER_ADDRESS_FACTOR = 4  # one office behind one address has several people logging in


@lru_cache
def _limiter(url: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage.storage_from_string(url))


def _setup() -> tuple[MovingWindowRateLimiter, RateLimitItem, RateLimitItem]:
    settings = get_settings()
    queue = settings.task_queue_url or ""
    limiter = _limiter(queue if queue.startswith("redis://") else "memory://")
    per_user = parse(settings.login_attempts)
    per_address = type(per_user)(
        per_user.amount * PER_ADDRESS_FACTOR, per_user.multiples, per_user.namespace
    )
    return limiter, per_user, per_address


def blocked_for(username: str, address: str) -> int:
    """Seconds until this user name or address may try again; 0 when it may now."""
    limiter, per_user, per_address = _setup()
    waits = [
        int(limiter.get_window_stats(item, "console-login", kind, key).reset_time)
        for item, kind, key in ((per_user, "user", username), (per_address, "addr", address))
        if not limiter.test(item, "console-login", kind, key)
    ]
    return max(1, max(waits) - int(time.time())) if waits else 0


def failed(username: str, address: str) -> None:
    """Count a failed login against the user name and the address."""
    limiter, per_user, per_address = _setup()
    limiter.hit(per_user, "console-login", "user", username)
    limiter.hit(per_address, "console-login", "addr", address)


def succeeded(username: str) -> None:
    """A correct password clears the user name's failures (not the address's)."""
    limiter, per_user, _ = _setup()
    limiter.clear(per_user, "console-login", "user", username)
