"""The web console over real HTTP (TestClient): login, roles, CSRF, review, KB curation, boards."""

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from console import accounts
from console.models import ConsoleUser
from core.auth import Role
from core.db import session_scope
from tests.conftest import Service, configure
from tickets.models import ReviewCorrection

PASSWORD = "correct-horse-1"
LOCK_TEXT = "我家门锁指纹按了没反应，电话13800138000，地址北京市朝阳区望京街10号"
AC_TEXT = "空调不制冷了，外机不转，电话13900139000，地址上海市浦东新区世纪大道100号"


def make_users(*names_roles: tuple[str, Role]) -> None:
    with session_scope() as db:
        for name, role in names_roles:
            if db.scalar(select(ConsoleUser).where(ConsoleUser.username == name)) is None:
                accounts.create_user(db=db, username=name, role=role, password=PASSWORD)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in and return the page's CSRF token."""
    client.cookies.clear()
    r = client.post("/console/login", data={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "page has no CSRF token"
    return m.group(1)


def new_ticket(svc: Service, text: str) -> dict:
    r = svc.client.post(
        "/api/v1/intake/text", json={"text": text, "channel": "app"}, headers=svc.headers("agent")
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def ticket(svc: Service, tid: int) -> dict:
    return svc.client.get(f"/api/v1/tickets/{tid}", headers=svc.headers("agent")).json()


# Tests on the module's shared service run first: the per-test `service` fixture repoints
# the process-wide settings afterwards.
def test_csrf_is_required(shared_service: Service) -> None:
    svc = shared_service
    make_users(("agent-csrf", Role.agent))
    t = new_ticket(svc, LOCK_TEXT)
    c = svc.client
    login(c, "agent-csrf")
    r = c.post(f"/console/review/{t['id']}", data={"kb_choice": t["diagnosis"]["kb_id"] or ""})
    assert r.status_code == 403 and "CSRF" in r.text
    r = c.post(f"/console/review/{t['id']}", data={"csrf_token": "forged", "kb_choice": ""})
    assert r.status_code == 403
    assert ticket(svc, t["id"])["status"] == "triaged"


def test_assets_are_local_and_nav_follows_the_role(shared_service: Service) -> None:
    svc = shared_service
    make_users(("agent-nav", Role.agent), ("boss-nav", Role.supervisor))
    c = svc.client
    login(c, "agent-nav")
    page = c.get("/console/review").text
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from a CDN
    for asset in re.findall(r'(?:src|href)="(/console/static/[^"]+)"', page):
        assert c.get(asset).status_code == 200, asset
    assert "htmx" in page and 'href="/console/kb"' not in page and "/console/boards" not in page
    for root in ("/console", "/console/"):
        landed = c.get(root)
        assert landed.status_code == 200 and str(landed.url).endswith("/console/review")
    login(c, "boss-nav")
    page = c.get("/console/boards").text
    assert 'href="/console/review"' in page and 'href="/console/kb"' not in page


def test_transcript_is_escaped(shared_service: Service) -> None:
    svc = shared_service
    make_users(("agent-x", Role.agent))
    t = new_ticket(svc, "门锁<script>alert(1)</script>指纹没反应")
    login(svc.client, "agent-x")
    page = svc.client.get(f"/console/review/{t['id']}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_most_corrected_and_boards(shared_service: Service) -> None:
    svc = shared_service
    make_users(
        ("agent-b", Role.agent), ("ke-b", Role.knowledge_engineer), ("boss", Role.supervisor)
    )
    t = new_ticket(svc, LOCK_TEXT)
    predicted = t["diagnosis"]["kb_id"]
    r = svc.client.post(
        f"/api/v1/tickets/{t['id']}/review",
        json={"no_match": True},
        headers=svc.headers("agent"),
    )
    assert r.status_code == 200, r.text
    login(svc.client, "ke-b")
    page = svc.client.get("/console/kb").text
    table = page.split('id="corrected-table"')[1].split("</table>")[0]
    assert (predicted or "初判为无匹配") in table and "无匹配" in table

    login(svc.client, "boss")
    boards = svc.client.get("/console/boards?days=7")
    assert boards.status_code == 200 and "<svg" in boards.text
    total = int(re.search(r"工单量（共 (\d+) 张）", boards.text).group(1))
    assert total >= 1
    new_ticket(svc, AC_TEXT)
    again = svc.client.get("/console/boards?days=7").text
    assert int(re.search(r"工单量（共 (\d+) 张）", again).group(1)) == total + 1
    assert svc.client.get("/console/boards?days=2").status_code == 422


@pytest.mark.db
def test_login_logout_and_roles(service: Service) -> None:
    make_users(("agent1", Role.agent), ("tech1", Role.technician), ("ke1", Role.knowledge_engineer))
    c = service.client
    r = c.get("/console/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login?next=/console/review"

    bad = c.post("/console/login", data={"username": "agent1", "password": "nope-nope"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    unknown = c.post("/console/login", data={"username": "ghost", "password": PASSWORD})
    assert unknown.status_code == 401

    r = c.post(
        "/console/login",
        data={"username": "agent1", "password": PASSWORD, "next": "/console/review"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/review"
    assert "httponly" in r.headers["set-cookie"].lower()
    page = c.get("/console/review")
    assert page.status_code == 200 and "审核队列" in page.text
    # An open redirect through ?next= is refused.
    c.cookies.clear()
    r = c.post(
        "/console/login",
        data={"username": "agent1", "password": PASSWORD, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/review"

    # Technicians and agents cannot open the KB editor; the knowledge engineer can.
    for name, status in (("tech1", 403), ("agent1", 403), ("ke1", 200)):
        login(c, name)
        r = c.get("/console/kb/LOCK-FP-231")
        assert r.status_code == status, (name, r.status_code)
    login(c, "tech1")
    # A technician login with no roster entry lands on /me, which says how to link one.
    me = c.get("/console/")
    assert str(me.url).endswith("/console/me") and 'id="not-linked"' in me.text
    assert "系统管理 → 用户" in me.text and "link-technician" in me.text
    assert "推送卡片" not in me.text
    assert "无权访问" in c.get("/console/kb").text
    assert c.get("/console/review").status_code == 403
    assert c.get("/console/boards").status_code == 403

    # Logout ends the session server-side: the old cookie no longer works.
    csrf = login(c, "agent1")
    cookie = c.cookies.get("hotline_console")
    r = c.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    c.cookies.set("hotline_console", cookie, path="/console")
    assert c.get("/console/review", follow_redirects=False).status_code == 303

    # A disabled account cannot log in, and its live sessions end.
    login(c, "agent1")
    with session_scope() as db:
        accounts.set_disabled(db=db, username="agent1", disabled=True)
    assert c.get("/console/review", follow_redirects=False).status_code == 303
    assert (
        c.post("/console/login", data={"username": "agent1", "password": PASSWORD}).status_code
        == 401
    )


@pytest.mark.db
def test_review_queue_confirm_and_correct(service: Service) -> None:
    make_users(("agent1", Role.agent))
    c = service.client
    lock = new_ticket(service, LOCK_TEXT)
    ac = new_ticket(service, AC_TEXT)
    csrf = login(c, "agent1")

    queue = c.get("/console/review").text
    numbers = re.findall(r"HL\d{8}-\d{6}", queue)
    confs = {
        lock["number"]: lock["diagnosis"]["confidence"],
        ac["number"]: ac["diagnosis"]["confidence"],
    }
    listed = [n for n in dict.fromkeys(numbers) if n in confs]
    assert listed == sorted(confs, key=lambda n: confs[n])  # lowest confidence first
    rows = c.get("/console/review/rows?since=" + str(lock["id"])).text
    assert 'class="fresh"' in rows and "新到 1 张" in rows  # the AC ticket arrived later

    page = c.get(f"/console/review/{lock['id']}").text
    assert '<mark class="ent ent-product_type"' in page and "13800138000</mark>" in page
    assert 'id="chain-rules"' in page and "firmware" in page
    assert "匹配原因" in page

    # The chain is enforced server-side: 智能门锁 needs model and firmware.
    form = {
        "csrf_token": csrf,
        "version": str(lock["version"]),
        "f_product_type": "智能门锁",
        "f_phone": "13800138000",
        "f_address": "北京市朝阳区望京街10号",
        "f_model": "X3",
        "kb_choice": "LOCK-FP-231",
    }
    r = c.post(f"/console/review/{lock['id']}", data={**form, "note": "型号客户口述"})
    assert r.status_code == 422 and "固件版本" in r.text
    assert 'value="型号客户口述"' in r.text  # the refused form keeps the agent's note
    assert ticket(service, lock["id"])["status"] == "triaged"

    r = c.post(
        f"/console/review/{lock['id']}",
        data={**form, "f_firmware": "2.3.1", "note": "固件号来自客户"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/console/review/{ac['id']}")
    done = ticket(service, lock["id"])
    assert done["status"] == "reviewed" and done["reviewed_by"] == "agent:agent1"
    assert done["fields"]["firmware"] == "2.3.1" and done["diagnosis"]["kb_id"] == "LOCK-FP-231"
    assert "firmware" in {f["name"] for f in done["required_fields"]}

    # A stale form (someone else changed the ticket) is a 409 and changes nothing.
    r = c.post(f"/console/review/{lock['id']}", data=form | {"f_firmware": "2.3.1"})
    assert r.status_code == 409

    # Correct the AC ticket to no-match: kept as a correction for evaluation.
    r = c.post(
        f"/console/review/{ac['id']}",
        data={
            "csrf_token": csrf,
            "version": str(ac["version"]),
            "f_product_type": "空调",
            "f_model": "KFR-35GW",
            "f_phone": "13900139000",
            "f_address": "上海市浦东新区世纪大道100号",
            "kb_choice": "__none__",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/console/review?done=")
    after = ticket(service, ac["id"])
    assert after["status"] == "reviewed" and after["diagnosis"]["no_match"] is True
    with session_scope() as db:
        verdict = db.scalar(select(ReviewCorrection).where(ReviewCorrection.ticket_id == ac["id"]))
        assert verdict is not None and verdict.corrected_kb_id is None
        assert verdict.diagnosis_correct is (ac["diagnosis"]["kb_id"] is None)

    # Unknown ticket: an HTML 404 page, not a crash.
    r = c.get("/console/review/999999")
    assert r.status_code == 404 and "999999" in r.text


@pytest.mark.db
def test_kb_draft_review_publish_and_try(service: Service) -> None:
    make_users(("ke1", Role.knowledge_engineer), ("ke2", Role.knowledge_engineer))
    c = service.client
    query = "洗衣机显示E9然后门打不开"
    csrf = login(c, "ke1")
    before = c.post("/console/kb/try", data={"csrf_token": csrf, "text": query}).text
    assert "产品类型=洗衣机" in before and "product_type=" not in before  # fields in Chinese

    # A new entry starts as a draft: not searchable, but visible in the draft ranking.
    r = c.post(
        "/console/kb/new",
        data={
            "csrf_token": csrf,
            "id": "WASH-E9-DOOR",
            "title": "洗衣机E9门锁无法解锁",
            "product_type": "洗衣机",
            "models": "W10, W12",
            "symptoms": "显示E9\n门打不开\n洗完衣服门锁不解锁",
            "fault_code": "E9",
            "root_cause": "门锁电磁铁卡滞",
            "resolution": "断电两分钟后重试；仍不解锁上门更换门锁组件",
            "severity": "medium",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    tried = c.post("/console/kb/try", data={"csrf_token": csrf, "text": query}).text
    current, draft = tried.split('id="rank-draft"')
    assert "WASH-E9-DOOR" not in current and "WASH-E9-DOOR" in draft
    assert "WASH-E9-DOOR" not in before

    # Publishing needs a submitted review, by someone else.
    r = c.post("/console/kb/WASH-E9-DOOR/publish", data={"csrf_token": csrf})
    assert r.status_code == 409 and "尚未提交审核" in r.text
    r = c.post("/console/kb/WASH-E9-DOOR/submit", data={"csrf_token": csrf})
    assert r.status_code == 200
    r = c.post("/console/kb/WASH-E9-DOOR/publish", data={"csrf_token": csrf})
    assert r.status_code == 403 and "自己提交" in r.text
    kb_api = c.get("/api/v1/kb/entries/WASH-E9-DOOR", headers=service.headers("admin")).json()
    assert kb_api["status"] == "draft"

    csrf2 = login(c, "ke2")
    pending = c.get("/console/kb").text
    assert "WASH-E9-DOOR" in pending.split('id="pending-list"')[1].split("</ul>")[0]
    r = c.post("/console/kb/WASH-E9-DOOR/publish", data={"csrf_token": csrf2})
    assert r.status_code == 200 and "已发布" in r.text
    after = c.post("/console/kb/try", data={"csrf_token": csrf2, "text": query}).text
    assert "WASH-E9-DOOR" in after.split('id="rank-draft"')[0]  # now in the published ranking

    # Edit → draft; an edit after submission makes the review stale (409 on publish).
    page = c.get("/console/kb/WASH-E9-DOOR").text
    rev = re.search(r'name="revision" value="(\d+)"', page).group(1)
    fields = {
        "csrf_token": csrf2,
        "revision": rev,
        "title": "洗衣机E9门锁无法解锁（电磁铁）",
        "product_type": "洗衣机",
        "models": "W10, W12",
        "symptoms": "显示E9\n门打不开",
        "fault_code": "E9",
        "root_cause": "门锁电磁铁卡滞",
        "resolution": "断电两分钟后重试",
        "severity": "high",
    }
    r = c.post("/console/kb/WASH-E9-DOOR", data={**fields, "submit_review": "1"})
    assert r.status_code == 200 and "已提交审核" in r.text
    # The same form posted again carries an old revision: a concurrent edit is refused.
    r = c.post("/console/kb/WASH-E9-DOOR", data=fields)
    assert r.status_code == 409
    page = c.get("/console/kb/WASH-E9-DOOR").text
    rev2 = re.search(r'name="revision" value="(\d+)"', page).group(1)
    c.post("/console/kb/WASH-E9-DOOR", data={**fields, "revision": rev2, "severity": "low"})
    login(c, "ke1")
    r = c.post("/console/kb/WASH-E9-DOOR/publish", data={"csrf_token": csrf_of(page)})
    assert r.status_code in (403, 409)

    # The reviewer can also send a draft back: it stays a draft, nothing is published.
    csrf2 = login(c, "ke2")
    c.post("/console/kb/WASH-E9-DOOR/submit", data={"csrf_token": csrf2})
    csrf = login(c, "ke1")
    # a rejection without a reason is refused in Chinese on the entry's page, its form kept
    for reason in ("", "   "):
        r = c.post("/console/kb/WASH-E9-DOOR/reject", data={"csrf_token": csrf, "reason": reason})
        assert r.status_code == 422 and "驳回必须写明原因" in r.text
        assert 'id="reject-reason"' in r.text and 'id="kb-form"' in r.text
    long = "原因" * 260
    r = c.post("/console/kb/WASH-E9-DOOR/reject", data={"csrf_token": csrf, "reason": long})
    assert r.status_code == 422 and "500 字以内" in r.text and f'value="{long}"' in r.text
    assert "草稿由" in r.text  # still waiting for a decision
    r = c.post("/console/kb/WASH-E9-DOOR/reject", data={"csrf_token": csrf, "reason": "严重度不对"})
    assert r.status_code == 200 and "已驳回" in r.text
    # the author reads the reason on the entry's page and its history
    login(c, "ke2")
    assert "驳回：严重度不对" in c.get("/console/kb/WASH-E9-DOOR").text
    assert "驳回原因：严重度不对" in c.get("/console/kb/WASH-E9-DOOR/history").text
    csrf = login(c, "ke1")
    entry = c.get("/api/v1/kb/entries/WASH-E9-DOOR", headers=service.headers("admin")).json()
    assert entry["draft"]["severity"] == "low" and entry["published"]["severity"] == "medium"
    r = c.post("/console/kb/WASH-E9-DOOR/publish", data={"csrf_token": csrf})
    assert r.status_code == 409 and "已被" in r.text and "驳回" in r.text  # a rejected draft

    # History shows each revision with a diff.
    hist = c.get("/console/kb/WASH-E9-DOOR/history").text
    assert "<ins>（电磁铁）</ins>" in hist and "发布" in hist

    # Bad input: an invalid id is a 422 that names the field, nothing is created.
    csrf = csrf_of(c.get("/console/kb/new").text)
    r = c.post(
        "/console/kb/new",
        data={"csrf_token": csrf, "id": "bad id!", "title": "", "product_type": "冰箱"},
    )
    assert r.status_code == 422 and "编号：编号只能含字母" in r.text and "标题：不能为空" in r.text
    assert "Value error" not in r.text and "String should" not in r.text
    assert c.get("/console/kb/bad id!").status_code == 404


def test_user_cli_and_demo_logins(tmp_path: Path) -> None:
    from core.db import get_engine
    from hotline.cli import app

    configure(tmp_path / "data", f"sqlite:///{tmp_path / 'h.db'}")
    runner = CliRunner()
    try:
        init = runner.invoke(app, ["init"])
        assert init.exit_code == 0, init.output
        logins = dict(re.findall(r"demo console login: (\S+) / (\S+)", init.output))
        assert set(logins) == {"admin", "agent", "knowledge-engineer", "supervisor", "technician"}
        with session_scope() as db:
            assert accounts.authenticate(db=db, username="agent", password=logins["agent"])
        again = runner.invoke(app, ["init"])
        assert "demo console login" not in again.output

        r = runner.invoke(
            app, ["user", "create", "li.lei", "--role", "agent", "--password", "longenough1"]
        )
        assert r.exit_code == 0, r.output
        dup = runner.invoke(
            app, ["user", "create", "li.lei", "--role", "agent", "--password", "longenough1"]
        )
        assert dup.exit_code == 1 and "exists" in dup.output
        weak = runner.invoke(app, ["user", "create", "x1", "--role", "agent", "--password", "123"])
        assert weak.exit_code == 1
        role = runner.invoke(app, ["user", "create", "x2", "--role", "boss", "--password", "x" * 9])
        assert role.exit_code == 1 and "unknown role" in role.output
        with session_scope() as db:
            user = accounts.authenticate(db=db, username="li.lei", password="longenough1")
            assert user is not None and user.role == "agent"
            assert (
                user.password_hash.startswith("scrypt$") and "longenough1" not in user.password_hash
            )
        assert runner.invoke(app, ["user", "disable", "li.lei"]).exit_code == 0
        with session_scope() as db:
            assert accounts.authenticate(db=db, username="li.lei", password="longenough1") is None
    finally:
        get_engine().dispose()


@pytest.mark.db
def test_sla_board_shows_levels_live(service: Service) -> None:
    from datetime import UTC, datetime, timedelta

    from core import clock

    make_users(("boss", Role.supervisor))
    c, admin = service.client, service.headers("admin")
    assert c.post("/api/v1/sla/defaults", headers=admin).status_code == 200
    start = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Shanghai
    clock.set_clock(lambda: start)
    try:
        t = new_ticket(service, LOCK_TEXT)
        sla = c.get(f"/api/v1/sla/tickets/{t['id']}", headers=admin).json()
        deadline = datetime.fromisoformat(sla["clocks"]["response"]["deadline_at"])
        login(c, "boss")
        # Times read in the business's zone (Shanghai), as on the customer's page, not UTC.
        assert "创建 11-25 10:00" in c.get(f"/console/review/{t['id']}").text
        calm = c.get("/console/boards/sla").text
        assert t["number"] not in calm.split('id="sla-table"')[1]  # not due within the hour yet

        clock.set_clock(lambda: deadline + timedelta(minutes=35))  # past red (+30 min)
        live = c.get("/console/boards/sla/live").text
        row = live.split(t["number"])[0].rsplit("<tr", 1)[1]
        assert 'class="sla-red"' in row
        assert re.search(r'id="tile-red"><span>红色预警</span><strong>1</strong>', live)

        clock.set_clock(lambda: deadline + timedelta(hours=2, minutes=1))  # black: +2 h
        live = c.get("/console/boards/sla/live").text
        assert 'class="sla-black"' in live.split(t["number"])[0].rsplit("<tr", 1)[1]
        page = c.get("/console/boards?days=7").text
        assert "SLA 达成率" in page and page.count("<svg") >= 3
    finally:
        clock.set_clock(None)


@pytest.mark.db
def test_dispatch_board_reassign_with_reason(service: Service) -> None:
    make_users(("boss", Role.supervisor), ("agent1", Role.agent))
    c, sup = service.client, service.headers("supervisor")
    new_ticket(service, LOCK_TEXT)
    login(c, "boss")
    # No technician yet: the board says so instead of offering a reassign form with no choice.
    board = c.get("/console/boards/dispatch").text
    assert "先登记技术员才能改派" in board and 'class="reassign"' not in board
    techs = [
        c.post(
            "/api/v1/dispatch/technicians",
            json={"name": name, "home_lat": 39.90 + d, "home_lon": 116.40, "skills": []},
            headers=sup,
        ).json()
        for name, d in (("刘师傅", 0.01), ("陈师傅", 0.02))
    ]
    t = new_ticket(service, LOCK_TEXT)
    r = c.patch(
        f"/api/v1/tickets/{t['id']}",
        json={"fields": {"latitude": 39.905, "longitude": 116.401}},
        headers=sup,
    )
    assert r.status_code == 200, r.text

    csrf = login(c, "boss")
    board = c.get("/console/boards/dispatch").text
    assert "刘师傅" in board and f'id="t{t["id"]}"' in board and "<svg" in board

    # The reason is mandatory; an unknown technician is a 404; neither changes anything.
    r = c.post(
        f"/console/boards/dispatch/{t['id']}/reassign",
        data={"csrf_token": csrf, "technician_id": str(techs[1]["id"]), "reason": " "},
    )
    assert r.status_code == 422 and "原因" in r.text
    r = c.post(
        f"/console/boards/dispatch/{t['id']}/reassign",
        data={"csrf_token": csrf, "technician_id": "424242", "reason": "就近"},
    )
    assert r.status_code == 404
    state = c.get(f"/api/v1/dispatch/tickets/{t['id']}", headers=sup).json()
    assert not any(a["actor"].startswith("supervisor:") for a in state["assignments"])

    r = c.post(
        f"/console/boards/dispatch/{t['id']}/reassign",
        data={"csrf_token": csrf, "technician_id": str(techs[1]["id"]), "reason": "客户指定陈师傅"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    state = c.get(f"/api/v1/dispatch/tickets/{t['id']}", headers=sup).json()
    last = state["assignments"][-1]
    assert last["technician_id"] == techs[1]["id"] and last["reason"] == "客户指定陈师傅"
    assert last["actor"] == "supervisor:boss"
    row = c.get("/console/boards/dispatch").text.split(f'id="t{t["id"]}"')[1].split("</tr>")[0]
    assert "陈师傅" in row and "人工" in row
    # Again to the technician who holds it: a 409 that says why, in Chinese.
    r = c.post(
        f"/console/boards/dispatch/{t['id']}/reassign",
        data={"csrf_token": csrf, "technician_id": str(techs[1]["id"]), "reason": "再派一次"},
    )
    assert r.status_code == 409 and "已在这位技术员手上" in r.text

    # Agents cannot reassign.
    csrf = login(c, "agent1")
    r = c.post(
        f"/console/boards/dispatch/{t['id']}/reassign",
        data={"csrf_token": csrf, "technician_id": str(techs[0]["id"]), "reason": "x"},
    )
    assert r.status_code == 403


def test_import_pages_upload_follow_and_report(service: Service) -> None:
    from tests.test_imports import FIXTURES, _count_rows

    make_users(("agent2", Role.agent), ("tech2", Role.technician))
    c = service.client
    csrf = login(c, "agent2")
    page = c.get("/console/imports").text
    assert 'id="excel-form"' in page and 'id="wechat-form"' in page and "/console/imports" in page
    template = c.get("/console/imports/template")
    assert template.status_code == 200 and template.content[:2] == b"PK"

    # A file that is not a spreadsheet: refused with the reason, nothing stored.
    batches = _count_rows("import_batches")
    r = c.post(
        "/console/imports/excel",
        data={"csrf_token": csrf},
        files={"file": ("notes.xlsx", b"just some words, not a workbook")},
    )
    assert r.status_code == 422 and "操作未完成" in r.text
    assert _count_rows("import_batches") == batches
    # No file chosen, and no CSRF token: refused too.
    assert c.post("/console/imports/excel", data={"csrf_token": csrf}).status_code == 422
    r = c.post("/console/imports/excel", files={"file": ("a.csv", b"x")})
    assert r.status_code == 403

    data = (FIXTURES / "messy_sheet.xlsx").read_bytes()
    r = c.post(
        "/console/imports/excel",
        data={"csrf_token": csrf},
        files={"file": ("旧表.xlsx", data)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    where = r.headers["location"]
    batch_id = int(where.rsplit("/", 1)[1])
    deadline = time.monotonic() + 120
    while 'data-status="done"' not in (status := c.get(f"{where}/status").text):
        assert time.monotonic() < deadline, status
        assert 'data-status="failed"' not in status, status
        time.sleep(0.3)
    api = c.get(f"/api/v1/imports/{batch_id}", headers=service.headers("agent")).json()
    assert api["created"] > 0
    assert f'id="count-created">{api["created"]}<' in status
    links = re.findall(r'href="/console/review/(\d+)"', status)
    assert len(links) == api["created"]  # every created ticket is linked for its quality check
    # Skipped rows and warnings are told in Chinese, like the rest of the console.
    assert api["skipped"] > 0 and "合计行" in status and "空行" in status
    assert "第 5 行" in status and "blank row" not in status
    assert "未导入的列" in status and "不是电话号码" in status
    assert "旧表.xlsx" in c.get("/console/imports").text

    # The same file again: every row is a duplicate, and each opens the ticket it already made.
    r = c.post(
        "/console/imports/excel",
        data={"csrf_token": csrf},
        files={"file": ("旧表.xlsx", data)},
        follow_redirects=False,
    )
    again = r.headers["location"]
    while 'data-status="done"' not in (status := c.get(f"{again}/status").text):
        assert time.monotonic() < deadline, status
        time.sleep(0.3)
    numbers = re.findall(r'href="/console/review/(HL[^"]+)"', status)
    assert len(numbers) == api["created"] and "重复：与导入" in status
    assert c.get(f"/console/review/{numbers[0]}").status_code == 200

    login(c, "tech2")
    assert c.get("/console/imports").status_code == 403
    assert c.get(f"/console/imports/{batch_id}").status_code == 403


def test_password_guessing_is_throttled(
    shared_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.settings import get_settings

    monkeypatch.setattr(get_settings(), "login_attempts", "3/2second")
    make_users(("guessed", Role.agent), ("colleague", Role.agent))
    c = shared_service.client
    c.cookies.clear()
    for _ in range(3):
        r = c.post("/console/login", data={"username": "guessed", "password": "wrong-guess"})
        assert r.status_code == 401
    # Past the limit even the right password is refused, with when to try again…
    r = c.post("/console/login", data={"username": "guessed", "password": PASSWORD})
    assert r.status_code == 429 and "登录失败次数过多" in r.text
    assert "hotline_console" not in c.cookies
    # …while a colleague behind the same address still gets in.
    login(c, "colleague")
    time.sleep(2.2)  # the window has passed
    login(c, "guessed")


def test_a_console_login_opens_the_api_description_and_nothing_else(service: Service) -> None:
    """A browser cannot send a token when Swagger loads /openapi.json: a person logged in to the
    console reads the API description; the JSON API itself still wants a token."""
    make_users(("curator1", Role.knowledge_engineer))
    c = service.client
    c.cookies.clear()
    assert c.get("/docs").status_code == 401
    csrf = login(c, "curator1")
    page = c.get("/docs")
    assert page.status_code == 200
    # Swagger UI comes with the package, not from a CDN (no internet; the content policy
    # admits only the service's own scripts).
    assert "/docs-assets/swagger-ui-bundle.js" in page.text and "cdn." not in page.text
    js = c.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text
    assert c.get("/openapi.json").json()["paths"]
    assert c.get("/api/v1/kb/entries").status_code == 401
    c.post("/console/logout", data={"csrf_token": csrf})
    assert c.get("/openapi.json").status_code == 401


def test_the_header_names_a_login_and_its_role_once(service: Service) -> None:
    with session_scope() as db:
        accounts.create_user(
            db=db, username="desk-1", role=Role.agent, password=PASSWORD, display_name="坐席"
        )
        accounts.create_user(
            db=db, username="desk-2", role=Role.agent, password=PASSWORD, display_name="王芳"
        )
    login(service.client, "desk-1")
    page = service.client.get("/console/").text
    assert "坐席（坐席）" not in page and "<span>坐席</span>" in page
    login(service.client, "desk-2")
    assert "<span>王芳（坐席）</span>" in service.client.get("/console/").text
