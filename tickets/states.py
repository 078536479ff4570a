"""The ticket state machine."""

from core.errors import ApiError

STATES = (
    "new",
    "triaged",
    "reviewed",
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "cancelled",
)
TRANSITIONS: dict[str, set[str]] = {
    "new": {"triaged", "cancelled"},
    "triaged": {"reviewed", "cancelled"},
    "reviewed": {"dispatched", "cancelled"},
    "dispatched": {"in_progress", "reviewed", "cancelled"},  # back to reviewed = re-dispatch
    "in_progress": {"resolved", "cancelled"},
    "resolved": {"closed", "in_progress"},  # reopened when the fix did not hold
    "closed": set(),
    "cancelled": set(),
}
FINAL = {"closed", "cancelled"}


def check_transition(current: str, target: str) -> None:
    """Raise a 409 explaining the allowed moves if current → target is not allowed."""
    if target not in STATES:
        raise ApiError(422, "unknown_status", f"Unknown status {target!r}; one of {list(STATES)}.")
    if target not in TRANSITIONS[current]:
        allowed = sorted(TRANSITIONS[current]) or ["none: the ticket is final"]
        raise ApiError(
            409,
            "invalid_transition",
            f"A ticket in status '{current}' cannot move to '{target}'; allowed: {allowed}.",
        )
