"""The admin's console pages over real HTTP on a real database: users (a created login signs
in, a disabled one cannot, a technician login linked from the roster opens the field app), API
tokens (shown once; a revoked one gets 401 from the API), webhooks (the address rules refuse in
Chinese and keep the form) and the phone read log (a read made here is listed)."""

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from typer.testing import CliRunner

from console import accounts
from console.models import ConsoleUser
from console.web import local_zone
from core import clock, notify, phone_reads
from core.auth import Role
from core.db import session_scope
from tests.conftest import Service
from tests.test_console import login, make_users

ADMIN = "root-admin"


def _admin(svc: Service) -> str:
    make_users((ADMIN, Role.admin))
    return login(svc.client, ADMIN)


def _user_id(name: str) -> int:
    with session_scope() as db:
        user_id = db.scalar(select(ConsoleUser.id).where(ConsoleUser.username == name))
        assert user_id is not None
        return user_id


def _post(client: TestClient, path: str, data: dict[str, str]) -> Response:
    """A console form posted (not followed: a saved form answers 303 to where it shows)."""
    return client.post(path, data=data, follow_redirects=False)


def _sign_in(svc: Service, name: str, password: str) -> Response:
    """The login form's answer (not followed: its redirect says where the role lands)."""
    svc.client.cookies.clear()
    data = {"username": name, "password": password}
    return svc.client.post("/console/login", data=data, follow_redirects=False)


def _technician(svc: Service, name: str) -> int:
    resp = svc.client.post(
        "/api/v1/dispatch/technicians",
        headers=svc.headers("supervisor"),
        json={"name": name, "home_lat": 22.54, "home_lon": 114.05, "available": False},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_only_admins_see_and_open_the_admin_pages(service: Service) -> None:
    c = service.client
    make_users(("agent-adm", Role.agent), ("boss-adm", Role.supervisor))
    for name in ("agent-adm", "boss-adm"):
        login(c, name)
        assert "系统管理" not in c.get("/console/me").text
        for path in ("/users", "/tokens", "/webhooks", "/audit/phone-reads", "/users/1"):
            resp = c.get(f"/console{path}")
            assert resp.status_code == 403 and "无权访问" in resp.text, (name, path)
    _admin(service)
    page = c.get("/console/users")
    assert page.status_code == 200 and 'id="nav-admin"' in page.text
    assert f"至少 {accounts.MIN_PASSWORD} 个字符" in page.text  # the password rules are shown


def test_admin_creates_changes_disables_and_resets_a_login(service: Service) -> None:
    c = service.client
    csrf = _admin(service)
    form = {"csrf_token": csrf, "username": "wang.xm", "display_name": "王小明", "role": "agent"}

    # Without the CSRF token nothing is created.
    resp = _post(c, "/console/users", data={**form, "csrf_token": "", "password": "longenough-1"})
    assert resp.status_code == 403
    resp = _post(c, "/console/users", data={**form, "password": "short"})
    assert resp.status_code == 422 and "密码太短" in resp.text
    assert 'value="王小明"' in resp.text and 'value="wang.xm"' in resp.text  # kept as typed
    resp = _post(c, "/console/users", data={**form, "username": "王", "password": "longenough-1"})
    assert resp.status_code == 422 and "用户名不符合规则" in resp.text

    resp = _post(c, "/console/users", data={**form, "password": "longenough-1"})
    assert resp.status_code == 303, resp.text
    user_id = _user_id("wang.xm")
    assert resp.headers["location"] == f"/console/users/{user_id}?saved=created"
    dup = _post(c, "/console/users", data={**form, "password": "longenough-1"})
    assert dup.status_code == 409 and "这个用户名已被占用" in dup.text
    assert 'value="王小明"' in dup.text
    assert 'id="user-wang.xm"' in c.get("/console/users").text

    # The new login signs in, lands on its role's page; a role change moves it.
    resp = _sign_in(service, "wang.xm", "longenough-1")
    assert resp.status_code == 303 and resp.headers["location"] == "/console/review"
    wang_cookie = c.cookies.get("hotline_console")
    csrf = login(c, ADMIN)
    resp = _post(c, f"/console/users/{user_id}/role", data={"csrf_token": csrf, "role": "boss"})
    assert resp.status_code == 422 and "请选择一个角色" in resp.text
    resp = _post(
        c, f"/console/users/{user_id}/role", data={"csrf_token": csrf, "role": "supervisor"}
    )
    assert resp.status_code == 303
    assert "角色已修改" in c.get(resp.headers["location"]).text

    # Disabled: its open session ends and it cannot sign in; enabled again, it can.
    resp = _post(c, f"/console/users/{user_id}/status", data={"csrf_token": csrf, "disabled": "1"})
    assert resp.status_code == 303
    admin_cookie = c.cookies.get("hotline_console")
    c.cookies.clear()
    c.cookies.set("hotline_console", wang_cookie or "")
    assert c.get("/console/boards", follow_redirects=False).status_code == 303  # to the login
    resp = _sign_in(service, "wang.xm", "longenough-1")
    assert resp.status_code == 401 and "已停用" in resp.text
    c.cookies.clear()
    c.cookies.set("hotline_console", admin_cookie or "")
    resp = _post(c, f"/console/users/{user_id}/status", data={"csrf_token": csrf, "disabled": "0"})
    assert resp.status_code == 303
    resp = _sign_in(service, "wang.xm", "longenough-1")
    assert resp.status_code == 303 and resp.headers["location"] == "/console/boards"

    # Reset: the old password stops working, the new one works; a short one is refused.
    csrf = login(c, ADMIN)
    resp = _post(
        c, f"/console/users/{user_id}/password", data={"csrf_token": csrf, "password": "x"}
    )
    assert resp.status_code == 422 and "密码太短" in resp.text
    new = {"csrf_token": csrf, "password": "brand-new-pass-2"}
    assert _post(c, f"/console/users/{user_id}/password", data=new).status_code == 303
    old = _sign_in(service, "wang.xm", "longenough-1")
    assert old.status_code == 401
    resp = _sign_in(service, "wang.xm", "brand-new-pass-2")
    assert resp.status_code == 303

    # An admin cannot lock themselves out; unknown ids are the 404 page.
    csrf = login(c, ADMIN)
    me = _user_id(ADMIN)
    resp = _post(c, f"/console/users/{me}/status", data={"csrf_token": csrf, "disabled": "1"})
    assert resp.status_code == 409 and "不能停用自己" in resp.text
    resp = _post(c, f"/console/users/{me}/role", data={"csrf_token": csrf, "role": "agent"})
    assert resp.status_code == 409
    assert c.get("/console/users").status_code == 200  # still an admin
    resp = c.get("/console/users/987654")
    assert resp.status_code == 404 and "找不到账号" in resp.text
    resp = _post(c, "/console/users/987654/status", data={"csrf_token": csrf, "disabled": "1"})
    assert resp.status_code == 404
    # Hostile input is a 4xx page, never a driver error.
    assert c.get("/console/users/99999999999999999999").status_code == 422
    bad = {**form, "username": "nul.name", "display_name": "王\x00", "password": "longenough-1"}
    resp = _post(c, "/console/users", data={**bad, "csrf_token": csrf})
    assert resp.status_code == 422 and "控制字符" in resp.text


def test_technician_login_linked_to_the_roster_opens_the_field_app(service: Service) -> None:
    c = service.client
    tech_id = _technician(service, "周师傅")
    other_id = _technician(service, "吴师傅")
    csrf = _admin(service)
    page = c.get("/console/users").text
    assert f'<option value="{tech_id}"' in page and "周师傅" in page  # chosen from the roster
    base = {"csrf_token": csrf, "role": "technician", "password": "field-pass-1"}
    assert _post(c, "/console/users", data={**base, "username": "zhou.tech"}).status_code == 303
    user_id = _user_id("zhou.tech")
    assert "未关联" in c.get(f"/console/users/{user_id}").text

    # Unlinked, the login has no field app; linked, it lands there.
    resp = _sign_in(service, "zhou.tech", "field-pass-1")
    assert resp.headers["location"] == "/console/me"
    csrf = login(c, ADMIN)
    link = f"/console/users/{user_id}/technician"
    resp = _post(c, link, data={"csrf_token": csrf, "technician_id": str(tech_id)})
    assert resp.status_code == 303
    assert "已关联：<strong>周师傅</strong>" in c.get(resp.headers["location"]).text
    resp = _sign_in(service, "zhou.tech", "field-pass-1")
    assert resp.headers["location"] == "/console/tech"
    assert c.get("/console/tech").status_code == 200

    # A technician has one login; only technician logins link; unknown technicians are named.
    csrf = login(c, ADMIN)
    form = {**base, "csrf_token": csrf, "username": "wu.tech", "technician_id": str(tech_id)}
    resp = _post(c, "/console/users", data=form)
    assert resp.status_code == 409 and "已关联了另一个账号" in resp.text
    assert 'value="wu.tech"' in resp.text
    form["technician_id"] = str(other_id)
    assert _post(c, "/console/users", data=form).status_code == 303
    make_users(("agent-link", Role.agent))
    agent_id = _user_id("agent-link")
    resp = _post(
        c,
        f"/console/users/{agent_id}/technician",
        data={"csrf_token": csrf, "technician_id": str(other_id)},
    )
    assert resp.status_code == 422 and "只有技术员角色" in resp.text
    resp = _post(c, link, data={"csrf_token": csrf, "technician_id": "99999"})
    assert resp.status_code == 404 and "找不到" in resp.text
    resp = _post(c, link, data={"csrf_token": csrf, "technician_id": "abc"})
    assert resp.status_code == 422
    # Another role drops the link.
    _post(c, f"/console/users/{user_id}/role", data={"csrf_token": csrf, "role": "agent"})
    with session_scope() as db:
        assert accounts.get_user(db=db, username="zhou.tech").technician_id is None


def test_cli_links_an_existing_login_and_keeps_an_admin(service: Service) -> None:
    from hotline.cli import app

    tech_id = _technician(service, "郑师傅")
    make_users(("zheng.tech", Role.technician), ("only-admin", Role.admin))
    runner = CliRunner()
    r = runner.invoke(app, ["user", "link-technician", "zheng.tech", str(tech_id)])
    assert r.exit_code == 0, r.output
    with session_scope() as db:
        assert accounts.get_user(db=db, username="zheng.tech").technician_id == tech_id
    r = runner.invoke(app, ["user", "link-technician", "zheng.tech", "424242"])
    assert r.exit_code == 1 and "No technician" in r.output
    r = runner.invoke(app, ["user", "link-technician", "nobody", str(tech_id)])
    assert r.exit_code == 1 and "No user" in r.output
    r = runner.invoke(app, ["user", "link-technician", "zheng.tech", "--unlink"])
    assert r.exit_code == 0, r.output
    with session_scope() as db:
        assert accounts.get_user(db=db, username="zheng.tech").technician_id is None
    # The only enabled admin login is not disabled (nobody could manage accounts any more).
    r = runner.invoke(app, ["user", "disable", "only-admin"])
    assert r.exit_code == 1 and "last enabled admin" in r.output


def test_tokens_are_shown_once_and_a_revoked_one_gets_401(service: Service) -> None:
    c = service.client
    csrf = _admin(service)
    resp = _post(c, "/console/tokens", data={"csrf_token": csrf, "name": "", "role": "agent"})
    assert resp.status_code == 422 and "请填写令牌名称" in resp.text
    resp = _post(c, "/console/tokens", data={"csrf_token": csrf, "name": "CRM", "role": "chief"})
    assert resp.status_code == 422 and 'value="CRM"' in resp.text
    resp = _post(c, "/console/tokens", data={"csrf_token": csrf, "name": "CRM", "role": "agent"})
    assert resp.status_code == 200 and "离开或刷新此页后无法再次查看" in resp.text
    token = re.search(r'value="(htl_[^"]+)" id="token-value"', resp.text)
    assert token, resp.text
    plain = token.group(1)
    listing = c.get("/console/tokens").text
    assert "htl_" not in listing and "CRM" in listing  # never the value again

    api = {"Authorization": f"Bearer {plain}"}
    me = c.get("/api/v1/me", headers=api)
    assert me.status_code == 200 and me.json() == {"name": "CRM", "role": "agent"}
    token_id = max(int(i) for i in re.findall(r'id="token-(\d+)"', listing))
    resp = _post(c, f"/console/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert resp.status_code == 303
    assert "已吊销" in c.get(resp.headers["location"]).text
    assert c.get("/api/v1/me", headers=api).status_code == 401
    resp = _post(c, "/console/tokens", data={"csrf_token": csrf, "name": "a\x00b", "role": "agent"})
    assert resp.status_code == 422 and "控制字符" in resp.text
    api_nul = c.post(
        "/api/v1/tokens", headers=service.headers("admin"), json={"name": "a\x00", "role": "agent"}
    )
    assert api_nul.status_code == 422
    resp = _post(c, "/console/tokens/987654/revoke", data={"csrf_token": csrf})
    assert resp.status_code == 404 and "找不到API 令牌 987654" in resp.text


def test_webhooks_refuse_inner_addresses_in_chinese_and_list_deliveries(service: Service) -> None:
    c = service.client
    csrf = _admin(service)
    region = {
        "csrf_token": csrf,
        "region": "深圳",
        "supervisor": "赵主管",
        "supervisor_url": "http://10.20.30.40/hook?key=abc",
        "director": "钱总监",
        "director_url": "http://127.0.0.1:9/director",  # allowed: the tests allow-list loopback
    }
    resp = _post(c, "/console/webhooks/regions", data=region)
    assert resp.status_code == 422
    assert "主管 Webhook：10.20.30.40 指向内网地址" in resp.text
    assert 'value="http://10.20.30.40/hook?key=abc"' in resp.text and 'value="钱总监"' in resp.text
    resp = _post(
        c,
        "/console/webhooks/regions",
        data={**region, "supervisor_url": "http://169.254.169.254/x"},
    )
    assert resp.status_code == 422 and "链路本地" in resp.text
    resp = _post(c, "/console/webhooks/regions", data={**region, "supervisor_url": "http://[::1"})
    assert resp.status_code == 422 and "带主机名的网址" in resp.text
    resp = _post(c, "/console/webhooks/regions", data={**region, "supervisor_url": "ftp://x.cn/"})
    assert resp.status_code == 422 and "主管 Webhook须以 http:// 或 https:// 开头" in resp.text
    # The API refuses the same address (it was not checked for region contacts before).
    body = {k: region[k] for k in ("supervisor", "supervisor_url", "director", "director_url")}
    api = c.put("/api/v1/sla/regions/深圳", headers=service.headers("admin"), json=body)
    assert api.status_code == 422 and api.json()["error"]["code"] == "webhook_target_refused"

    ok = {**region, "supervisor_url": "http://127.0.0.1:9/supervisor"}
    resp = _post(c, "/console/webhooks/regions", data=ok)
    assert resp.status_code == 303
    page = c.get(resp.headers["location"]).text
    assert "区域告警联系人已保存" in page and "http://127.0.0.1:9/supervisor" in page
    listed = c.get("/api/v1/sla/regions", headers=service.headers("admin")).json()
    assert [r["region"] for r in listed] == ["深圳"]

    dept = {"csrf_token": csrf, "name": "云平台组", "contact": "孙工", "answer_hours": "4"}
    resp = _post(
        c,
        "/console/webhooks/departments",
        data={**dept, "contact_url": "http://192.168.1.5/x", "handles": "cloud_command_fault"},
    )
    assert resp.status_code == 422 and "联系人 Webhook：192.168.1.5 指向内网地址" in resp.text
    assert 'value="云平台组"' in resp.text and "checked" in resp.text
    dept["contact_url"] = "http://127.0.0.1:9/cloud"
    assert _post(c, "/console/webhooks/departments", data=dept).status_code == 303
    dup = _post(c, "/console/webhooks/departments", data=dept)
    assert dup.status_code == 409 and "已有同名的协作部门" in dup.text
    resp = _post(c, "/console/webhooks/departments", data={**dept, "name": "", "answer_hours": "x"})
    assert resp.status_code == 422 and "请填写部门名称" in resp.text

    with session_scope() as db:
        notify.send(
            db=db,
            kind="sla.alert",
            recipient="赵主管",
            url="http://127.0.0.1:9/supervisor?key=secret",
            payload={"msgtype": "text"},
        )
    page = c.get("/console/webhooks").text
    deliveries = page.split('id="deliveries"', 1)[1]
    assert "SLA 升级告警" in deliveries and "赵主管" in deliveries
    assert "key=secret" not in deliveries  # the receiver's key stays out of the list

    dept_id = c.get("/api/v1/sla/departments", headers=service.headers("admin")).json()[0]["id"]
    resp = _post(c, f"/console/webhooks/departments/{dept_id}/delete", data={"csrf_token": csrf})
    assert resp.status_code == 303
    resp = _post(c, "/console/webhooks/regions/深圳/delete", data={"csrf_token": csrf})
    assert resp.status_code == 303
    assert c.get("/api/v1/sla/regions", headers=service.headers("admin")).json() == []
    resp = _post(c, "/console/webhooks/regions/深圳/delete", data={"csrf_token": csrf})
    assert resp.status_code == 404
    resp = _post(c, "/console/webhooks/departments/987654/delete", data={"csrf_token": csrf})
    assert resp.status_code == 404


def test_phone_read_audit_lists_a_read_filtered_and_paged(service: Service) -> None:
    c = service.client
    agent = service.headers("agent")
    made = c.post(
        "/api/v1/intake/text",
        headers=agent,
        json={"text": "空调不制冷了，电话13900139000，地址上海市浦东新区世纪大道100号"},
    )
    ticket_id = made.json()["id"]
    assert c.get(f"/api/v1/tickets/{ticket_id}", headers=agent).status_code == 200

    make_users(("boss-audit", Role.supervisor))
    login(c, "boss-audit")
    assert c.get("/console/audit/phone-reads").status_code == 403  # admins, as the API
    _admin(service)
    page = c.get("/console/audit/phone-reads").text
    row = page.split('id="reads"', 1)[1]
    assert f"工单 #{ticket_id}" in row and "坐席 agent-1" in row
    assert "GET /api/v1/tickets/{id}" in row  # the door it went through
    assert '<option value="agent:agent-1"' in page
    only = c.get("/console/audit/phone-reads", params={"actor": "agent:agent-1"}).text
    assert f"工单 #{ticket_id}" in only
    other = c.get("/console/audit/phone-reads", params={"actor": "admin:nobody"}).text
    assert f"工单 #{ticket_id}" not in other and "没有符合条件的记录" in other
    today = clock.now().astimezone(local_zone()).date()
    day = {"since": str(today), "until": str(today)}
    assert f"工单 #{ticket_id}" in c.get("/console/audit/phone-reads", params=day).text
    later = {"since": str(today + timedelta(days=1))}
    assert f"工单 #{ticket_id}" not in c.get("/console/audit/phone-reads", params=later).text
    bad = c.get("/console/audit/phone-reads", params={"since": "2026-13-01", "actor": "x"})
    assert bad.status_code == 422 and "不是日期" in bad.text
    backwards = {"since": str(today), "until": str(today - timedelta(days=1))}
    resp = c.get("/console/audit/phone-reads", params=backwards)
    assert resp.status_code == 422 and "结束日期早于起始日期" in resp.text

    # 60 more reads: two pages, newest first.
    with session_scope() as db:

        class Reader:
            role = Role.agent
            actor = "agent:pager"

        for i in range(60):
            phone_reads.record(db, Reader(), "GET /console/review/{ticket_id}", tickets=[i + 1])
    first = c.get("/console/audit/phone-reads", params={"actor": "agent:pager"}).text
    assert first.count('id="read-') == 50 and 'id="next"' in first and 'id="prev"' not in first
    second = c.get("/console/audit/phone-reads", params={"actor": "agent:pager", "page": 2}).text
    assert second.count('id="read-') == 10 and 'id="next"' not in second
    assert "工单 #1<" in second and "工单 #60<" in first
    assert c.get("/console/audit/phone-reads", params={"page": 0}).status_code == 422
