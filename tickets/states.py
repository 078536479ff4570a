"""The ticket state machine."""

from core.errors import ApiError

STATES = (
    "new",
    "pending_qc",  # 待质检: imported from an old sheet or a chat, awaiting a quality check
    "triaged",
    "reviewed",
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "cancelled",
)
# Any open ticket may be closed directly with an outcome (not a fault, duplicate, solved by
# phone or remotely: tickets.finish); the usual path is resolved → closed.
TRANSITIONS: dict[str, set[str]] = {
    "new": {"triaged", "pending_qc", "cancelled", "closed"},
    "pending_qc": {"triaged", "reviewed", "cancelled", "closed"},
    "triaged": {"reviewed", "pending_qc", "dispatched", "cancelled", "closed"},
    "reviewed": {"dispatched", "cancelled", "closed"},
    # back to triaged/reviewed = offer declined or expired, waiting for re-dispatch
    "dispatched": {"in_progress", "triaged", "reviewed", "cancelled", "closed"},
    "in_progress": {"resolved", "cancelled", "closed"},
    "resolved": {"closed", "in_progress"},  # reopened when the fix did not hold
    "closed": set(),
    "cancelled": set(),
}
FINAL = {"closed", "cancelled"}
LABELS = {"pending_qc": "待质检"}


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
