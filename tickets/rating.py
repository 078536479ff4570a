"""The customer's rating of a resolved ticket, and the figures it feeds."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from core.errors import ApiError
from tickets.models import Ticket
from tickets.service import record_event

RATEABLE = ("resolved", "closed")
LOW_SCORE = 3  # at or below this the customer is asked why (and must say)
MAX_REASON = 500


def rate(db: Session, *, ticket: Ticket, score: int, reason: str | None) -> tuple[Ticket, bool]:
    """Record the customer's score (1-5) on a resolved ticket; (ticket, whether it was a
    replay of the rating already stored). A low score needs a reason; a rating is given once."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ApiError(422, "invalid_score", "评分须为 1 到 5 的整数。")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise ApiError(422, "reason_too_long", f"原因请控制在 {MAX_REASON} 字以内。")
    if ticket.rating_score is not None:
        if (ticket.rating_score, ticket.rating_reason) == (score, reason):
            return ticket, True
        raise ApiError(409, "already_rated", "该工单已评价，感谢您的反馈。")
    if ticket.status not in RATEABLE:
        raise ApiError(409, "not_resolved", "维修完成后才能评价。")
    if score <= LOW_SCORE and reason is None:
        raise ApiError(422, "reason_required", "请告诉我们哪里做得不好，以便改进。")
    ticket.rating_score, ticket.rating_reason, ticket.rated_at = score, reason, clock.now()
    record_event(
        db,
        ticket,
        actor="customer",
        kind="rating",
        changes={"rating": [None, score]},
        reason=reason,
    )
    db.flush()
    return ticket, False


def by_region(db: Session) -> list[dict[str, Any]]:
    """Average customer rating and count per region (tickets without one under None)."""
    rows = db.execute(
        select(Ticket.region, func.avg(Ticket.rating_score), func.count(Ticket.rating_score))
        .where(Ticket.rating_score.is_not(None))
        .group_by(Ticket.region)
        .order_by(Ticket.region)
    )
    return [{"region": r, "average": round(float(a), 2), "count": n} for r, a, n in rows]
