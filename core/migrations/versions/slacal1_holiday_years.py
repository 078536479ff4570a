"""national holiday years; calendars follow the Chinese public holidays by flag

Revision ID: slacal1
Revises: sla1
Create Date: 2026-12-05 13:10:00
"""
from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'slacal1'
down_revision: str | None = 'sla1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The 2026 rows `holidays="cn"` copied into each calendar (sla/holidays/cn_2026.yaml as
# shipped); a calendar holding exactly these now follows the national data instead.
_REST_2026 = {
    '元旦': ('2026-01-01', '2026-01-03'),
    '春节': ('2026-02-15', '2026-02-23'),
    '清明节': ('2026-04-04', '2026-04-06'),
    '劳动节': ('2026-05-01', '2026-05-05'),
    '端午节': ('2026-06-19', '2026-06-21'),
    '中秋节': ('2026-09-25', '2026-09-27'),
    '国庆节': ('2026-10-01', '2026-10-07'),
}
_WORK_2026 = {
    ('2026-01-04', '元旦'), ('2026-02-14', '春节'), ('2026-02-28', '春节'),
    ('2026-05-09', '劳动节'), ('2026-09-20', '国庆节'), ('2026-10-10', '国庆节'),
}


def _shipped_2026() -> set[tuple[date, str, str]]:
    rows = {(date.fromisoformat(d), 'workday', n) for d, n in _WORK_2026}
    for name, (first, last) in _REST_2026.items():
        a, b = date.fromisoformat(first), date.fromisoformat(last)
        rows |= {(a + timedelta(days=i), 'holiday', name) for i in range((b - a).days + 1)}
    return rows


def _tables() -> tuple[sa.TableClause, sa.TableClause]:
    cals = sa.table('sla_calendars', sa.column('id', sa.Integer), sa.column('holidays', sa.String))
    days = sa.table(
        'sla_calendar_days',
        sa.column('calendar_id', sa.Integer),
        sa.column('day', sa.Date),
        sa.column('kind', sa.String),
        sa.column('name', sa.String),
    )
    return cals, days


def upgrade() -> None:
    op.create_table('sla_holiday_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('holidays', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('workdays', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('confirmed_by', sa.String(length=160), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('alert_delivery_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_delivery_id'], ['notification_deliveries.id'], ),
    sa.PrimaryKeyConstraint('year')
    )
    op.add_column('sla_calendars', sa.Column('holidays', sa.String(length=8), nullable=True))

    cals, days = _tables()
    bind = op.get_bind()
    per_calendar: dict[int, set[tuple[date, str, str]]] = {}
    for cal_id, day, kind, name in bind.execute(
        sa.select(days.c.calendar_id, days.c.day, days.c.kind, days.c.name)
    ):
        per_calendar.setdefault(cal_id, set()).add((day, kind, name))
    shipped = _shipped_2026()
    for cal_id, rows in per_calendar.items():
        if (date(2026, 10, 1), 'holiday', '国庆节') not in rows:
            continue  # not created with holidays="cn"
        bind.execute(cals.update().where(cals.c.id == cal_id).values(holidays='cn'))
        if {r for r in rows if r[0].year == 2026} == shipped:
            bind.execute(
                days.delete().where(
                    days.c.calendar_id == cal_id,
                    days.c.day >= date(2026, 1, 1),
                    days.c.day <= date(2026, 12, 31),
                )
            )


def downgrade() -> None:
    # Calendars that followed the national data get the shipped 2026 rows back.
    cals, days = _tables()
    bind = op.get_bind()
    for (cal_id,) in bind.execute(sa.select(cals.c.id).where(cals.c.holidays == 'cn')).all():
        has_2026 = bind.execute(
            sa.select(days.c.day).where(
                days.c.calendar_id == cal_id, days.c.day >= date(2026, 1, 1),
                days.c.day <= date(2026, 12, 31),
            ).limit(1)
        ).first()
        if has_2026 is None:
            bind.execute(days.insert(), [
                {'calendar_id': cal_id, 'day': d, 'kind': k, 'name': n}
                for d, k, n in sorted(_shipped_2026())
            ])
    op.drop_column('sla_calendars', 'holidays')
    op.drop_table('sla_holiday_years')
