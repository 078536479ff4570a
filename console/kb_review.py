"""What the KB reviewers' page shows besides the review requests (knowledge_base.review
holds the four-eyes flow itself, for every door)."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge_base.models import KBEntry
from tickets.models import ReviewCorrection


def most_corrected(*, db: Session, limit: int = 10) -> list[dict]:
    """Entries agents corrected away from most often (review verdicts), with where they went."""
    rows = db.execute(
        select(
            ReviewCorrection.predicted_kb_id,
            func.count().label("n"),
        )
        .where(ReviewCorrection.diagnosis_correct.is_(False))
        .group_by(ReviewCorrection.predicted_kb_id)
        .order_by(func.count().desc(), ReviewCorrection.predicted_kb_id)
        .limit(limit)
    ).all()
    totals = dict(
        db.execute(
            select(ReviewCorrection.predicted_kb_id, func.count()).group_by(
                ReviewCorrection.predicted_kb_id
            )
        ).all()
    )
    out = []
    for kb_id, n in rows:
        targets = db.execute(
            select(ReviewCorrection.corrected_kb_id, func.count())
            .where(
                ReviewCorrection.predicted_kb_id.is_(None)
                if kb_id is None
                else ReviewCorrection.predicted_kb_id == kb_id,
                ReviewCorrection.diagnosis_correct.is_(False),
            )
            .group_by(ReviewCorrection.corrected_kb_id)
            .order_by(func.count().desc())
            .limit(3)
        ).all()
        entry = db.get(KBEntry, kb_id) if kb_id else None
        out.append(
            {
                "kb_id": kb_id,
                "title": entry.title if entry else "（初判为无匹配）",
                "corrected": n,
                "reviewed": totals.get(kb_id, n),
                "to": [{"kb_id": t, "count": c} for t, c in targets],
            }
        )
    return out
