"""tickets' confidence as agents see it: read against the no-match cut (cut shows as 50 %)

Revision ID: conf1
Revises: desk2
Create Date: 2026-12-06 04:00:00

A ticket's diagnosis kept the raw score and the raw cut it was decided with (a new KB's cut
is 2 %, so right diagnoses showed 10-40 %). Triage now stores sigmoid(logit p − logit cut)
(triage/diagnose.shown); this rewrites older tickets the same way, from the cut each one
stored, so the review queue's order and the KB health averages stay on one scale (a stored
cut of 0.5 would change nothing). Ticket events keep the figures logged at the time.
"""

import json
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'conf1'
down_revision: str | None = 'desk2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


def _shown(p: Any, cut: float) -> Any:
    # The same formula as triage.diagnose.shown, frozen here: a migration must not change
    # when the code it once matched does.
    if not isinstance(p, int | float) or p <= 0.0 or p >= 1.0:
        return p
    z = max(min(_logit(p) - _logit(cut), 40.0), -40.0)
    return round(1.0 / (1.0 + math.exp(-z)), 4)


def _rescaled(diagnosis: dict[str, Any]) -> dict[str, Any] | None:
    cut = diagnosis.get('threshold')
    if not isinstance(cut, int | float) or not 0.0 < cut < 1.0 or cut == 0.5:
        return None
    out = dict(diagnosis)
    out['confidence'] = _shown(diagnosis.get('confidence'), cut)
    out['threshold'] = 0.5
    out['candidates'] = [
        {**c, 'confidence': _shown(c.get('confidence'), cut)} if isinstance(c, dict) else c
        for c in diagnosis.get('candidates') or []
    ]
    reason = diagnosis.get('no_match_reason')
    if isinstance(reason, dict):
        out['no_match_reason'] = {
            **reason,
            'confidence': _shown(reason.get('confidence'), cut),
            'threshold': 0.5,
        }
    return out


def upgrade() -> None:
    tickets = sa.table(
        'tickets',
        sa.column('id', sa.Integer),
        sa.column('diagnosis', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')),
        sa.column('confidence', sa.Float),
    )
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(tickets.c.id, tickets.c.diagnosis)
            .where(tickets.c.id > last)
            .order_by(tickets.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for ticket_id, diagnosis in rows:
            if isinstance(diagnosis, str):
                diagnosis = json.loads(diagnosis)
            new = _rescaled(diagnosis) if isinstance(diagnosis, dict) else None
            if new is not None:
                bind.execute(
                    tickets.update()
                    .where(tickets.c.id == ticket_id)
                    .values(diagnosis=new, confidence=float(new.get('confidence') or 0.0))
                )
        last = rows[-1][0]


def downgrade() -> None:
    # The raw scores are not kept; the shown ones remain valid confidences.
    pass
