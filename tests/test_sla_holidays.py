"""National holidays over HTTP on both databases: deadlines across the year boundary and the
Spring Festival, the /holidays listing with statuses, the admin's notice (validation,
recompute of running clocks), the board warning and the once-per-year admin alert; and the
migration that moves calendars from copied rows to the national data."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from core import clock
from core.db import session_scope
from core.migrate import alembic_config, upgrade
from core.settings import get_settings
from sla import holiday_watch
from tests.conftest import Service
from tests.sla_support import FakeClock, Recorder, install, make_ticket, wait_for

SH = ZoneInfo("Asia/Shanghai")
# A 2027 notice as an admin would enter it. Test data shaped like the 2026 notice (nine days
# off, two make-up Saturdays), not the real 2027 arrangement.
NOTICE_2027 = {
    "holidays": [
        {"name": "元旦", "first": "2027-01-01", "last": "2027-01-03"},
        {"name": "春节", "first": "2027-02-05", "last": "2027-02-13"},
    ],
    "workdays": [{"day": "2027-01-30", "name": "春节"}, {"day": "2027-02-20", "name": "春节"}],
}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


@pytest.fixture
def env(service: Service) -> Iterator[tuple[Service, FakeClock, Recorder]]:
    fake = FakeClock(sh(2026, 12, 5, 10, 0).astimezone(UTC))
    clock.set_clock(fake.now)
    recorder = Recorder()
    install(service.client, service.headers("admin"), recorder)
    try:
        yield service, fake, recorder
    finally:
        clock.set_clock(None)
        recorder.close()


def deadlines(svc: Service, ticket_id: int) -> dict[str, datetime]:
    resp = svc.client.get(f"/api/v1/sla/tickets/{ticket_id}", headers=svc.headers("supervisor"))
    assert resp.status_code == 200, resp.text
    clocks = resp.json()["clocks"]
    return {k: datetime.fromisoformat(v["deadline_at"]).astimezone(SH) for k, v in clocks.items()}


def ticket_at(fake: FakeClock, at: datetime) -> int:
    fake.set(at.astimezone(UTC))
    return make_ticket(severity="medium")  # default-medium: 120 / 1080 working minutes


def by_year(listing: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {y["year"]: y for y in listing["years"]}


def test_ticket_opened_at_1750_on_new_years_eve(env) -> None:
    svc, fake, _ = env
    ticket = ticket_at(fake, sh(2026, 12, 31, 17, 50))
    d = deadlines(svc, ticket)
    # 10 minutes on Thursday 31 December; 1 January (holiday) and the weekend do not count;
    # the other 110 on Monday 4 January.
    assert d["response"] == sh(2027, 1, 4, 10, 50)
    # Resolution, 1080 minutes: 10 + 540 on the 4th + 530 on Tuesday the 5th.
    assert d["resolution"] == sh(2027, 1, 5, 17, 50)


def test_listing_notice_validation_and_running_clocks_follow_the_notice(env) -> None:
    svc, fake, _ = env
    admin, sup = svc.headers("admin"), svc.headers("supervisor")
    listing = svc.client.get("/api/v1/sla/holidays", headers=svc.headers("agent")).json()
    years = by_year(listing)
    assert sorted(years) == [2025, 2026, 2027, 2028]
    assert years[2026]["status"] == "confirmed" and years[2026]["source"] == "shipped"
    assert len(years[2026]["workdays"]) == 6
    for y in (2025, 2027, 2028):
        assert years[y]["status"] == "statutory only"
        assert years[y]["source"] == "holidays package"
    assert len(years[2025]["workdays"]) == 5  # the package carries 2025's notice
    assert years[2027]["workdays"] == []
    assert {"day": "2027-02-06", "name": "春节"} in years[2027]["holidays"]
    assert [w["year"] for w in listing["warnings"]] == [2027]
    one = svc.client.get("/api/v1/sla/holidays?from=2030&to=2030", headers=sup).json()
    assert [y["year"] for y in one["years"]] == [2030]
    bad_range = svc.client.get("/api/v1/sla/holidays?from=2030&to=2029", headers=sup)
    assert bad_range.status_code == 422 and bad_range.json()["error"]["code"] == "invalid_range"

    # Two tickets counted on 2027's statutory days only.
    friday = ticket_at(fake, sh(2027, 1, 29, 17, 0))
    before_festival = ticket_at(fake, sh(2027, 2, 4, 17, 0))
    assert deadlines(svc, friday)["response"] == sh(2027, 2, 1, 10, 0)
    assert deadlines(svc, before_festival)["response"] == sh(2027, 2, 11, 10, 0)

    url = "/api/v1/sla/holidays/2027"
    assert svc.client.put(url, headers=sup, json=NOTICE_2027).status_code == 403
    impossible = {
        **NOTICE_2027,
        "holidays": [{"name": "春节", "first": "2027-02-30", "last": "2027-02-13"}],
    }
    resp = svc.client.put(url, headers=admin, json=impossible)
    assert resp.status_code == 422
    assert "holidays.0.first" in resp.json()["error"]["message"]
    weekday = {**NOTICE_2027, "workdays": [{"day": "2027-02-17", "name": "春节"}]}
    resp = svc.client.put(url, headers=admin, json=weekday)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_notice"
    assert "2027-02-17 is a weekday" in resp.json()["error"]["message"]
    wrong_year = {**NOTICE_2027, "workdays": [{"day": "2026-02-14", "name": "春节"}]}
    resp = svc.client.put(url, headers=admin, json=wrong_year)
    assert resp.status_code == 422 and "2026-02-14 is not in 2027" in resp.text
    resp = svc.client.put("/api/v1/sla/holidays/1999", headers=admin, json=NOTICE_2027)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_year"
    # The package has no 2027 make-up days to confirm as they are.
    resp = svc.client.post(url + "/confirm", headers=admin)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "no_makeup_days_known"
    still = by_year(svc.client.get("/api/v1/sla/holidays", headers=sup).json())[2027]
    assert still["status"] == "statutory only"  # the refused edits changed nothing

    resp = svc.client.put(url, headers=admin, json=NOTICE_2027)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "confirmed" and body["source"] == "admin"
    assert body["confirmed_by"] == "admin:admin-1"
    assert [w["day"] for w in body["workdays"]] == ["2027-01-30", "2027-02-20"]
    assert len(body["holidays"]) == 12
    # Running clocks move with the notice (in the background, like a calendar edit).
    wait_for(lambda: deadlines(svc, friday)["response"] == sh(2027, 1, 30, 10, 0))
    wait_for(lambda: deadlines(svc, before_festival)["response"] == sh(2027, 2, 15, 10, 0))
    after = ticket_at(fake, sh(2027, 2, 19, 17, 0))
    assert deadlines(svc, after)["response"] == sh(2027, 2, 20, 10, 0)  # make-up Saturday
    listing = svc.client.get("/api/v1/sla/holidays", headers=sup).json()
    assert by_year(listing)[2027]["status"] == "confirmed"
    assert listing["warnings"] == []

    # A year the package carries the notice of can be confirmed as it is.
    resp = svc.client.post("/api/v1/sla/holidays/2025/confirm", headers=admin)
    assert resp.status_code == 200 and resp.json()["status"] == "confirmed"
    assert len(resp.json()["workdays"]) == 5


@pytest.fixture
def admin_webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def configure(url: str | None) -> None:
        if url:
            monkeypatch.setenv("HOTLINE_SLA_ADMIN_WEBHOOK_URL", url)
        else:
            monkeypatch.delenv("HOTLINE_SLA_ADMIN_WEBHOOK_URL", raising=False)
        get_settings.cache_clear()

    yield configure
    monkeypatch.delenv("HOTLINE_SLA_ADMIN_WEBHOOK_URL", raising=False)
    get_settings.cache_clear()


def alert() -> list[int]:
    with session_scope() as db:
        return holiday_watch.alert_admins(db)


def test_board_warning_and_one_alert_per_year_from_1_november(env, admin_webhook) -> None:
    from core.auth import Role
    from sla import tasks

    svc, fake, recorder = env
    fake.set(sh(2026, 10, 31, 23, 0).astimezone(UTC))
    admin_webhook(recorder.url("/admin"))
    assert alert() == []  # 2026 is confirmed, 2027 not watched before 1 November
    fake.set(sh(2026, 11, 1, 0, 30).astimezone(UTC))
    admin_webhook(None)
    assert alert() == []  # no webhook: nothing claimed, so it goes out once one is set
    admin_webhook(recorder.url("/admin"))
    assert alert() == [2027]
    assert alert() == []
    tasks.holiday_watch_task.call_local()
    msgs = wait_for(lambda: recorder.to("/admin"))
    assert len(msgs) == 1 and msgs[0]["hotline"]["year"] == 2027
    assert "2027 年的调休安排尚未确认" in msgs[0]["markdown"]["content"]

    console_login(svc, "boss", Role.supervisor)
    page = svc.client.get("/console/boards/sla").text
    assert "节假日日历未确认" in page and "2027 年的调休安排尚未确认" in page
    resp = svc.client.put(
        "/api/v1/sla/holidays/2027", headers=svc.headers("admin"), json=NOTICE_2027
    )
    assert resp.status_code == 200
    assert "节假日日历未确认" not in svc.client.get("/console/boards/sla").text

    # The next year's turn comes on 1 November 2027, once.
    fake.set(sh(2027, 11, 1, 9, 0).astimezone(UTC))
    assert alert() == [2028]
    assert alert() == []
    wait_for(lambda: len(recorder.to("/admin")) == 2)


def console_login(svc: Service, name: str, role: Any) -> str:
    """Log a new console user in; the page's CSRF token."""
    import re

    from console import accounts

    with session_scope() as db:
        accounts.create_user(db=db, username=name, role=role, password="pw-longenough1")
    resp = svc.client.post("/console/login", data={"username": name, "password": "pw-longenough1"})
    assert resp.status_code == 200
    m = re.search(r'name="csrf_token" value="([^"]+)"', resp.text)
    assert m
    return m.group(1)


def test_console_page_takes_the_notice(env) -> None:
    from core.auth import Role

    svc, fake, _ = env
    friday = ticket_at(fake, sh(2027, 1, 29, 17, 0))
    fake.set(sh(2026, 12, 5, 10, 0).astimezone(UTC))
    console_login(svc, "boss", Role.supervisor)
    assert svc.client.get("/console/holidays").status_code == 403
    csrf = console_login(svc, "root", Role.admin)
    page = svc.client.get("/console/holidays").text
    assert "2027 年放假通知" in page and "仅法定节假日" in page  # the unconfirmed year first
    assert "春节 2027-02-06 2027-02-08" in page  # the package's days, as editable lines
    rest = "元旦 2027-01-01 2027-01-03\n春节 2027-02-05 2027-02-13"
    bad = svc.client.post(
        "/console/holidays/2027",
        data={"csrf_token": csrf, "rest": rest + "\n清明节 2027-04-31", "work": "2027-02-17 春节"},
    )
    assert bad.status_code == 422
    assert "放假第 3 行：“2027-04-31”不是日期" in bad.text
    assert "清明节 2027-04-31</textarea>" in bad.text  # the form keeps what was typed
    weekday = svc.client.post(
        "/console/holidays/2027", data={"csrf_token": csrf, "rest": rest, "work": "2027-02-17 春节"}
    )
    assert weekday.status_code == 422 and "is a weekday" not in weekday.text
    assert "调休上班“春节”：2027-02-17 是工作日：调休上班只能是周六或周日" in weekday.text
    assert "2027-02-17 春节</textarea>" in weekday.text
    ok = svc.client.post(
        "/console/holidays/2027",
        data={"csrf_token": csrf, "rest": rest, "work": "2027-01-30 春节\n2027-02-20 春节"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/console/holidays?year=2027&saved=1"
    page = svc.client.get(ok.headers["location"]).text
    assert 'id="saved"' in page and "节假日日历未确认" not in page
    wait_for(lambda: deadlines(svc, friday)["response"] == sh(2027, 1, 30, 10, 0))


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'm.db'}"


def test_migration_moves_copied_2026_rows_to_the_national_data(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    upgrade(url, "sla1")
    engine = create_engine(url)
    rest = {
        "元旦": ("2026-01-01", "2026-01-03"),
        "春节": ("2026-02-15", "2026-02-23"),
        "清明节": ("2026-04-04", "2026-04-06"),
        "劳动节": ("2026-05-01", "2026-05-05"),
        "端午节": ("2026-06-19", "2026-06-21"),
        "中秋节": ("2026-09-25", "2026-09-27"),
        "国庆节": ("2026-10-01", "2026-10-07"),
    }
    shipped = [
        (str(date.fromisoformat(first) + timedelta(days=i)), "holiday", name)
        for name, (first, last) in rest.items()
        for i in range((date.fromisoformat(last) - date.fromisoformat(first)).days + 1)
    ] + [
        ("2026-01-04", "workday", "元旦"),
        ("2026-02-14", "workday", "春节"),
        ("2026-02-28", "workday", "春节"),
        ("2026-05-09", "workday", "劳动节"),
        ("2026-09-20", "workday", "国庆节"),
        ("2026-10-10", "workday", "国庆节"),
    ]
    with engine.begin() as conn:
        for cal_id, name in ((1, "cn-workdays"), (2, "edited"), (3, "24x7")):
            conn.execute(
                text(
                    "INSERT INTO sla_calendars (id, name, timezone, weekdays, windows, created_at)"
                    " VALUES (:id, :name, 'Asia/Shanghai', '[1,2,3,4,5]', :windows,"
                    " '2026-11-01 00:00:00')"
                ),
                {"id": cal_id, "name": name, "windows": '[["09:00", "18:00"]]'},
            )
        rows = [(1, *r) for r in shipped] + [(2, *r) for r in shipped]
        rows.append((2, "2026-03-10", "holiday", "台风停工"))
        for cal_id, day, kind, name in rows:
            conn.execute(
                text(
                    "INSERT INTO sla_calendar_days (calendar_id, day, kind, name)"
                    " VALUES (:c, :d, :k, :n)"
                ),
                {"c": cal_id, "d": day, "k": kind, "n": name},
            )
    assert len(shipped) == 39
    upgrade(url)

    def state() -> dict[int, tuple[str | None, int]]:
        with engine.connect() as conn:
            flags = dict(conn.execute(text("SELECT id, holidays FROM sla_calendars")).all())
            counts = dict(
                conn.execute(
                    text("SELECT calendar_id, count(*) FROM sla_calendar_days GROUP BY calendar_id")
                ).all()
            )
        return {i: (flags[i], counts.get(i, 0)) for i in flags}

    # The untouched copy goes (the national data says the same); an edited one stays whole.
    assert state() == {1: ("cn", 0), 2: ("cn", 40), 3: (None, 0)}
    command.downgrade(alembic_config(url), "sla1")
    with engine.connect() as conn:
        back = conn.execute(
            text("SELECT day FROM sla_calendar_days WHERE calendar_id = 1 ORDER BY day")
        ).scalars()
        assert next(iter(back)) == "2026-01-01"
        assert (
            conn.execute(
                text("SELECT count(*) FROM sla_calendar_days WHERE calendar_id = 1")
            ).scalar()
            == 39
        )
    engine.dispose()
