"""Years whose make-up working days nobody has confirmed: the SLA board's warning, and one
alert to the SLA admin per year, from 1 November of the year before (the State Council
publishes the next year's notice in late October or November)."""

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from core import clock, notify
from core.settings import get_settings
from sla import public_holidays
from sla.models import HolidayYear
from sla.public_holidays import YearDays

# Month and day from which next year is watched too.
WATCH_FROM = (11, 1)
LOCAL = ZoneInfo("Asia/Shanghai")


def local_today(now: datetime | None = None) -> date:
    """Today in Beijing, by the project's clock."""
    return (now or clock.now()).astimezone(LOCAL).date()


def watched_years(today: date) -> list[int]:
    """This year, and from 1 November the next one."""
    return [today.year] + ([today.year + 1] if (today.month, today.day) >= WATCH_FROM else [])


def unconfirmed(db: Session, now: datetime | None = None) -> list[YearDays]:
    """The watched years whose make-up working days are not confirmed."""
    days = public_holidays.years_days(db, watched_years(local_today(now)))
    return [d for d in days.values() if not d.confirmed]


def message(days: YearDays) -> str:
    """What is wrong with an unconfirmed year, in Chinese, and what to do."""
    y = days.year
    if days.workdays:
        state = (
            f"SLA 时钟暂用 holidays 库中的 {y} 年放假与调休数据（"
            f"{len(days.workdays)} 个调休上班日），尚未经管理员按国务院通知核对。"
        )
    else:
        state = (
            f"SLA 时钟目前只按法定节假日计算：{y} 年的调休上班日和通知中的额外休息日都未计入，"
            "调休的周六会被当作休息日。"
        )
    return (
        f"{y} 年的调休安排尚未确认。{state}请管理员按国务院办公厅{y}年部分节假日安排的通知"
        f"在控制台“节假日”页录入或确认（或 PUT /api/v1/sla/holidays/{y}）。"
    )


def warnings(db: Session) -> list[dict[str, Any]]:
    """The SLA board's warnings: one per unconfirmed watched year."""
    return [{"year": d.year, "status": d.status, "message": message(d)} for d in unconfirmed(db)]


def alert_admins(db: Session) -> list[int]:
    """Alert the SLA admin (HOTLINE_SLA_ADMIN_WEBHOOK_URL) once per unconfirmed watched year;
    the years alerted now. Without a webhook nothing is claimed, so the alert goes out once
    one is configured."""
    settings = get_settings()
    if not settings.sla_admin_webhook_url:
        return []
    now = clock.now()
    sent = []
    for days in unconfirmed(db, now):
        public_holidays.year_row(db, days.year)
        # The conditional update is the claim: of several workers only one changes the row.
        claimed = db.execute(
            update(HolidayYear)
            .where(HolidayYear.year == days.year, HolidayYear.alerted_at.is_(None))
            .values(alerted_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        text = message(days)
        delivery = notify.send(
            db=db,
            kind="sla.holiday_year_unconfirmed",
            recipient=settings.sla_admin_contact,
            url=settings.sla_admin_webhook_url,
            payload={
                "msgtype": "markdown",
                "markdown": {"content": f"SLA 日历提醒：{text}"},
                "hotline": {
                    "type": "sla.holiday_year_unconfirmed",
                    "year": days.year,
                    "status": days.status,
                    "makeup_workdays_known": len(days.workdays),
                },
            },
            ref_type="sla.holiday_year",
            ref_id=days.year,
        )
        row = db.get(HolidayYear, days.year, populate_existing=True)
        assert row is not None
        row.alert_delivery_id = delivery.id
        db.flush()
        sent.append(days.year)
    return sent
