"""The agent's desk over real HTTP: any ticket opens, search, urgency queue, bulk QC, finishing
actions, merge, attachments, notes, the 409 page that keeps the edit, Chinese error pages."""

import html
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image

from core.auth import Role
from tests.conftest import Service
from tests.test_console import AC_TEXT, LOCK_TEXT, login, make_users, new_ticket, ticket

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def _wechat_tickets(svc: Service) -> list[dict]:
    r = svc.client.post(
        "/api/v1/imports/wechat",
        files={"file": ("维修群.txt", (FIXTURES / "wechat_group.txt").read_bytes())},
        data={"wait": "true"},
        headers=svc.headers("agent"),
    )
    assert r.status_code in (201, 202), r.text
    items = svc.client.get(
        "/api/v1/tickets?channel=wechat&limit=100", headers=svc.headers("agent")
    ).json()["items"]
    assert items, "the chat export made no tickets"
    return items


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_any_ticket_opens_by_number_and_chat_imports_render(shared_service: Service) -> None:
    svc = shared_service
    make_users(("agent-open", Role.agent))
    chats = _wechat_tickets(svc)
    c = svc.client
    login(c, "agent-open")
    for t in chats:
        for key in (t["id"], t["number"]):
            r = c.get(f"/console/review/{key}")
            assert r.status_code == 200, (key, r.text[:300])
            assert t["number"] in r.text
            assert "data-start" not in r.text  # chat lines are not seekable call segments
    # A reviewed ticket still opens, and its page is Chinese with a Chinese history.
    t = new_ticket(svc, LOCK_TEXT)
    r = c.post("/api/v1/tickets/{}/review".format(t["id"]), json={}, headers=svc.headers("agent"))
    page = c.get(f"/console/review/{t['number']}").text
    assert "已审核" in page and "确认无误" in page and '"kb_id"' not in page


def test_error_pages_are_chinese_html(shared_service: Service) -> None:
    svc = shared_service
    make_users(("agent-err", Role.agent))
    c = svc.client
    login(c, "agent-err")
    for path, status in (
        ("/console/review/HL20990101-999999", 404),
        ("/console/review/424242", 404),
        ("/console/nowhere", 404),
        ("/console/review?page=abc", 422),
        ("/console/tickets?created_from=yesterday", 422),
    ):
        r = c.get(path)
        assert r.status_code == status, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), path
        assert re.search(r"[\u4e00-\u9fff]", r.text) and "No ticket" not in r.text, path
        assert '{"error"' not in r.text, path


def test_search_finds_by_number_phone_name_address_and_filters(service: Service) -> None:
    make_users(("agent-find", Role.agent))
    lock = new_ticket(service, LOCK_TEXT)
    ac = new_ticket(service, AC_TEXT)
    c = service.client
    login(c, "agent-find")

    def found(**params: str) -> set[str]:
        r = c.get("/console/tickets", params=params)
        assert r.status_code == 200, r.text[:300]
        return set(re.findall(r"HL\d{8}-\d{6}", r.text))

    assert found(q=lock["number"]) == {lock["number"]}
    assert found(q="0138000") == {lock["number"]}  # the last digits of the phone
    assert found(q="望京街") == {lock["number"]}
    assert found(q="世纪大道") == {ac["number"]}
    assert found(q="门锁 指纹") == {lock["number"]}
    assert found(product_type=ac["device"]["product_type"]) >= {ac["number"]}
    assert lock["number"] not in found(product_type=ac["device"]["product_type"])
    assert found(status="cancelled") == set()
    assert found(q="不存在的东西") == set()
    # Keyset paging walks every ticket exactly once.
    for i in range(5):
        new_ticket(service, f"洗衣机不排水了，第{i}次，电话1390000000{i}")
    seen: list[str] = []
    url = "/console/tickets"
    params: dict[str, str] = {}
    from tickets import search

    old = search.PAGE
    search.PAGE = 3
    try:
        pages_seen = 0
        while True:
            pages_seen += 1
            page = c.get(url, params=params).text
            seen += re.findall(r'class="mono">(HL\d{8}-\d{6})</a>', page)
            m = re.search(r"after=([^&\"]+)\" id=\"next-page\"", page)
            if not m:
                break
            params = {"after": m.group(1)}
    finally:
        search.PAGE = old
    assert len(seen) == 7 and len(set(seen)) == 7 and pages_seen == 3


def test_search_by_contained_text_follows_every_change(service: Service) -> None:
    """The text index (FTS5 on SQLite, pg_trgm on PostgreSQL) answers words of one, two and
    more characters, codes in any case, and follows a changed address and name."""
    make_users(("agent-text", Role.agent))
    lock = new_ticket(service, LOCK_TEXT)
    ac = new_ticket(service, AC_TEXT)
    c = service.client
    login(c, "agent-text")

    def found(q: str) -> set[str]:
        r = c.get("/console/tickets", params={"q": q})
        assert r.status_code == 200, r.text[:300]
        return set(re.findall(r"HL\d{8}-\d{6}", r.text))

    for address in ("丽泽路9号", "金融街3号"):
        r = c.patch(
            f"/api/v1/tickets/{lock['id']}",
            json={
                "fields": {"customer_name": "欧阳娜", "hardware_id": "Dev-77Q", "address": address}
            },
            headers=service.headers("agent"),
        )
        assert r.status_code == 200, r.text
    assert found("金融街") == {lock["number"]}
    assert found("丽泽路") == set()  # the old address left the index
    assert found("欧阳") == {lock["number"]}  # two characters
    assert found("娜") == {lock["number"]}  # one character, at the end of the value
    assert found("dev-77q") == {lock["number"]}  # a code, in another case
    assert found("77") == {lock["number"]}  # short digits: the device code
    assert found("0139000") == {ac["number"]}  # the last digits of a phone
    assert found("不制冷 浦东") == {ac["number"]}
    assert found("指纹 没反应") == {lock["number"]}
    assert found("欧阳娜 不制冷") == set()
    for odd in ('"', "a_c", "NEAR(门锁 指纹)", "*"):  # FTS5 syntax is only text
        assert c.get("/console/tickets", params={"q": odd}).status_code == 200, odd
    assert c.get("/console/tickets", params={"q": "门锁\x00"}).status_code == 422
    # A typed-in bad date or a stale page link: a 422 that says which, in Chinese.
    r = c.get("/console/tickets", params={"created_from": "12/05"})
    assert r.status_code == 422 and "日期格式不正确" in r.text
    r = c.get("/console/tickets", params={"after": "garbage"})
    assert r.status_code == 422 and "翻页链接已失效" in r.text


def test_queue_puts_urgent_first_pages_and_bulk_confirms(service: Service) -> None:
    make_users(("agent-q", Role.agent), ("agent-q2", Role.agent))
    chats = _wechat_tickets(service)
    lift = new_ticket(service, "电梯困人了，有人被关在里面，地址北京市海淀区中关村大街1号")
    c = service.client
    login(c, "agent-q")
    page = c.get("/console/review").text
    order = re.findall(r'data-href="/console/review/(\d+)"', page)
    urgent = [t for t in order if ticket(service, int(t))["sla_class"] == "P1"]
    assert str(lift["id"]) in order
    if lift["sla_class"] == "P1":
        assert order.index(str(lift["id"])) < len(urgent)
    classes = [ticket(service, int(t))["sla_class"] for t in order]
    assert classes == sorted(classes)
    # Imported rows that pass the checks are confirmed in bulk; the others stay queued.
    qc = c.get("/console/review?status=pending_qc").text
    passing = re.findall(r'name="ids" value="(\d+)"', qc)
    failing = {str(t["id"]) for t in chats} - set(passing)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', qc).group(1)
    picked = passing + sorted(failing)[:1]
    r = c.post("/console/review/bulk", data={"csrf_token": csrf, "ids": picked})
    assert r.status_code == 200 and "已批量确认" in r.text
    for tid in passing:
        assert ticket(service, int(tid))["status"] == "reviewed"
    for tid in failing:
        assert ticket(service, int(tid))["status"] == "pending_qc"
    # A second agent opening a ticket shows up as a collision hint for the first.
    login(c, "agent-q2")
    c.get(f"/console/review/{lift['id']}")
    login(c, "agent-q")
    assert "正在查看" in c.get("/console/review").text
    assert "也打开了这张工单" in c.get(f"/console/review/{lift['id']}").text


def test_close_cancel_merge_from_console_and_api(service: Service) -> None:
    make_users(("agent-fin", Role.agent))
    c = service.client
    csrf = login(c, "agent-fin")
    invoice = new_ticket(service, "我想问一下发票怎么开，电话13700137000")
    r = c.post(
        f"/console/tickets/{invoice['id']}/close",
        data={"csrf_token": csrf, "outcome": "not_a_fault", "note": "咨询发票"},
    )
    assert r.status_code == 200 and "工单已关闭" in r.text
    assert ticket(service, invoice["id"])["status"] == "closed"
    assert "非故障" in r.text
    # The customer's page of a ticket closed without a visit promises no technician.
    mine = c.get(urlsplit(invoice["customer_link"]).path)
    assert mine.status_code == 200 and 'id="no-visit"' in mine.text
    assert "正在为您安排技师" not in mine.text and "请您准备" not in mine.text
    # Cancel needs a reason; without one nothing changes and the page says why in Chinese.
    other = new_ticket(service, AC_TEXT)
    r = c.post(f"/console/tickets/{other['id']}/cancel", data={"csrf_token": csrf, "reason": ""})
    assert r.status_code == 422 and "原因" in r.text
    assert ticket(service, other["id"])["status"] == "triaged"
    # The same caller twice about the same unit: suggested, then merged with history on both.
    first = new_ticket(service, LOCK_TEXT)
    second = new_ticket(service, "门锁指纹还是没反应，电话13800138000，刚才打过")
    page = c.get(f"/console/review/{second['id']}").text
    assert "可能重复的工单" in page and first["number"] in page
    r = c.post(
        f"/console/tickets/{second['id']}/merge", data={"csrf_token": csrf, "into": first["number"]}
    )
    assert r.status_code == 200 and "已把重复工单合并到本单" in r.text
    assert ticket(service, second["id"])["status"] == "closed"
    hist = lambda t: service.client.get(  # noqa: E731
        f"/api/v1/tickets/{t}/history", headers=service.headers("agent")
    ).json()["items"]
    assert any(e["changes"].get("merged_into") == first["number"] for e in hist(second["id"]))
    assert any(e["changes"].get("merged_from") == second["number"] for e in hist(first["id"]))
    # The API does the same with English codes.
    api = service.client.post(
        f"/api/v1/tickets/{other['id']}/close",
        json={"outcome": "solved_remotely", "note": "remote reset"},
        headers=service.headers("agent"),
    )
    assert api.status_code == 200 and api.json()["status"] == "closed"
    bad = service.client.post(
        f"/api/v1/tickets/{first['id']}/close",
        json={"outcome": "whatever"},
        headers=service.headers("agent"),
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_outcome"
    assert ticket(service, first["id"])["status"] == "triaged"


def test_concurrent_edit_409_keeps_the_edit(service: Service) -> None:
    make_users(("agent-a", Role.agent), ("agent-b", Role.agent))
    t = new_ticket(service, LOCK_TEXT)
    c = service.client
    csrf = login(c, "agent-a")
    page = c.get(f"/console/review/{t['id']}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    # Agent B changes the ticket first.
    service.client.patch(
        f"/api/v1/tickets/{t['id']}",
        json={"fields": {"model": "X9", "customer_name": "陈先生"}},
        headers=service.headers("agent"),
    )
    form = {
        "csrf_token": csrf,
        "version": version,
        "kb_choice": t["diagnosis"]["kb_id"] or "__none__",
        "f_product_type": t["device"]["product_type"] or "",
        "f_phone": "13800138000",
        "f_address": "北京市朝阳区望京街12号",
        "f_model": "X3",
        "f_firmware": "2.1.0",
        "f_customer_name": "",  # untouched by this agent
        "loaded": html.unescape(re.search(r'name="loaded" value="([^"]*)"', page).group(1)),
    }
    r = c.post(f"/console/review/{t['id']}", data=form)
    assert r.status_code == 409
    assert "你的修改未丢失" in r.text and "X9" in r.text and "望京街12号" in r.text
    new_version = re.search(r'name="version" value="(\d+)"', r.text).group(1)
    assert new_version != version
    assert 'id="f_customer_name" value="陈先生"' in r.text  # theirs kept in the refilled form
    loaded = html.unescape(re.search(r'name="loaded" value="([^"]*)"', r.text).group(1))
    r = c.post(
        f"/console/review/{t['id']}",
        data={**form, "version": new_version, "loaded": loaded, "f_customer_name": "陈先生"},
    )
    assert r.status_code == 200, r.text[:500]
    after = ticket(service, t["id"])
    assert (
        after["status"] == "reviewed" and after["location"]["address"] == "北京市朝阳区望京街12号"
    )


def test_attachments_release_notes_and_audio_range(service: Service) -> None:
    make_users(("agent-att", Role.agent))
    t = new_ticket(service, LOCK_TEXT)
    c = service.client
    csrf = login(c, "agent-att")
    r = c.post(
        f"/console/tickets/{t['id']}/attachments",
        data={"csrf_token": csrf},
        files={"file": ("门锁.png", _png(), "image/png")},
    )
    assert r.status_code == 200 and "附件已上传" in r.text
    thumb = re.search(r'src="(/console/tickets/\d+/attachments/\d+\?thumb=1)"', r.text).group(1)
    img = c.get(thumb)
    assert img.status_code == 200 and max(Image.open(io.BytesIO(img.content)).size) <= 240
    files = list((service.data_dir / "attachments" / str(t["id"])).iterdir())
    assert len(files) == 2  # the upload and its thumbnail
    # A text file pretending to be a photo is refused and nothing is stored.
    r = c.post(
        f"/console/tickets/{t['id']}/attachments",
        data={"csrf_token": csrf},
        files={"file": ("photo.jpg", b"not really a jpeg", "image/jpeg")},
    )
    assert r.status_code == 415 and "格式" in r.text
    assert len(list((service.data_dir / "attachments" / str(t["id"])).iterdir())) == 2
    api = service.client.post(
        f"/api/v1/tickets/{t['id']}/attachments",
        files={"file": ("a.png", _png(), "image/png")},
        data={"field": "firmware"},
        headers=service.headers("agent"),
    )
    assert api.status_code == 201 and api.json()["content_type"] == "image/png"
    assert ticket(service, t["id"])["fields"]["firmware"] == f"附件#{api.json()['id']}"
    # Internal notes land in the history.
    r = c.post(f"/console/tickets/{t['id']}/note", data={"csrf_token": csrf, "note": "下午再联系"})
    assert r.status_code == 200 and "下午再联系" in r.text


def test_customer_cannot_provide_releases_a_required_field(service: Service) -> None:
    make_users(("agent-na", Role.agent))
    t = new_ticket(service, LOCK_TEXT)
    c = service.client
    csrf = login(c, "agent-na")
    page = c.get(f"/console/review/{t['id']}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    form = {
        "csrf_token": csrf,
        "version": version,
        "kb_choice": t["diagnosis"]["kb_id"] or "__none__",
        "f_product_type": "智能门锁",
        "f_model": "X3",
        "f_phone": "13800138000",
        "f_address": "北京市朝阳区望京街10号",
        "f_firmware": "",
    }
    r = c.post(f"/console/review/{t['id']}", data={**form, "na_firmware": ""})
    assert r.status_code == 422 and "固件版本" in r.text
    assert ticket(service, t["id"])["status"] == "triaged"
    r = c.post(f"/console/review/{t['id']}", data={**form, "na_firmware": "铭牌已磨损，看不清"})
    assert r.status_code == 200, r.text[:400]
    after = ticket(service, t["id"])
    assert after["status"] == "reviewed"
    assert after["fields"]["unavailable"] == {"firmware": "铭牌已磨损，看不清"}
    firmware = next(f for f in after["required_fields"] if f["name"] == "firmware")
    assert firmware["missing"] is False and firmware["unavailable"] == "铭牌已磨损，看不清"


def test_audio_answers_range_requests(service: Service) -> None:
    from tickets.recordings import save_recording

    make_users(("agent-audio", Role.agent))
    t = new_ticket(service, LOCK_TEXT)
    save_recording(t["id"], (Path(__file__).parent / "fixtures" / "audio" / "c01.wav").read_bytes())
    c = service.client
    login(c, "agent-audio")
    full = c.get(f"/console/review/{t['id']}/audio")
    assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
    part = c.get(f"/console/review/{t['id']}/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == full.content[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(full.content)}"


def test_chinese_for_pending_reasons_and_history() -> None:
    from console import zh

    assert zh.pending_reason("no technician within 30 km") == "30 公里内没有技术员"
    assert "缺少技能或证书 2 人" in zh.pending_reason(
        "nobody qualifies within 30 km: 2 skills, 1 off_shift"
    )
    assert (
        zh.pending_reason("no diagnosis yet: waiting for an agent's review")
        == "尚未诊断：等待坐席审核"
    )
    text = zh.describe_changes({"fields": {"model": [None, "X3"]}, "kb_id": ["A", "B"]})
    assert text == "型号：（空） → X3；知识库条目：A → B"
    assert zh.actor_label("agent:zhang") == "坐席 zhang"
    assert zh.error_message("not_found", "No ticket with id 'HL1'.").startswith("找不到工单 HL1")
    # An English message is translated by its code even when it names a Chinese value; a
    # message a service wrote in Chinese is shown as it is.
    named = zh.error_message("department_exists", "Department '软件部' exists already.")
    assert named == zh.ERRORS["department_exists"]
    assert zh.error_message("not_found", "No contacts for region '华东'.") == zh.ERRORS["not_found"]
    assert (
        zh.error_message("invalid_request", "请先勾选要批量确认的工单。")
        == "请先勾选要批量确认的工单。"
    )
    eta = "eta_minutes: 1 到 720 的整数（预计几分钟到达）。"
    assert zh.error_message("invalid_eta", eta) == eta


def test_charts_count_imported_history_on_its_original_day(service: Service) -> None:
    from datetime import timedelta

    from console.boards import volume_by_day
    from core import clock
    from core.db import session_scope

    t = new_ticket(service, AC_TEXT)
    with session_scope() as db:
        from tickets.models import Ticket

        row = db.get(Ticket, t["id"])
        row.reported_at = clock.now() - timedelta(days=10)
    with session_scope() as db:
        since = clock.now().date() - timedelta(days=29)
        labels, counts = volume_by_day(db, since, 30)
        by_day = dict(zip(labels, counts, strict=True))
        assert by_day[(clock.now() - timedelta(days=10)).date()] == 1
        assert by_day[clock.now().date()] == 0


def test_both_doors_take_and_refuse_the_same_desk_input(service: Service) -> None:
    """The API and the console parse a desk action with one model (tickets.schemas): a blank
    note, a note over 4,000 characters and a merge without a target are refused by both (the
    API stored a blank note, the page cut a long one, the API answered a blank target 404)."""
    make_users(("agent-doors", Role.agent))
    t = new_ticket(service, LOCK_TEXT)
    c, h = service.client, service.headers("agent")
    csrf = login(c, "agent-doors")
    for note in ("   ", "记" * 4001):
        api = c.post(f"/api/v1/tickets/{t['id']}/notes", json={"note": note}, headers=h)
        page = c.post(f"/console/tickets/{t['id']}/note", data={"csrf_token": csrf, "note": note})
        assert api.status_code == page.status_code == 422
        assert api.json()["error"]["code"] == "invalid_request" and "备注内容" in page.text
        assert "String should" not in page.text  # said in Chinese, not pydantic's English
    assert "备注内容最多 4000 字，现有 4001 字" in page.text
    api = c.post(f"/api/v1/tickets/{t['id']}/merge", json={"into": " "}, headers=h)
    page = c.post(f"/console/tickets/{t['id']}/merge", data={"csrf_token": csrf, "into": " "})
    assert api.status_code == page.status_code == 422 and "要合并到的工单号" in page.text
    history = c.get(f"/api/v1/tickets/{t['id']}/history", headers=h).json()["items"]
    assert not [e for e in history if e["kind"] == "note"]
    # What both take: the note as typed, without its surrounding blanks.
    api = c.post(f"/api/v1/tickets/{t['id']}/notes", json={"note": " 已回电 "}, headers=h)
    assert api.status_code == 201 and api.json()["note"] == "已回电"


def test_agent_types_a_call_into_a_ticket(service: Service) -> None:
    make_users(("agent-call", Role.agent), ("tech-call", Role.technician))
    c = service.client
    csrf = login(c, "agent-call")
    assert 'href="/console/tickets/new"' in c.get("/console/tickets").text
    assert 'id="call-text"' in c.get("/console/tickets/new").text

    def count() -> int:
        r = c.get("/api/v1/tickets?limit=100", headers=service.headers("agent"))
        return len(r.json()["items"])

    before = count()
    # Refusals are Chinese, keep what was typed on the form and create nothing.
    r = c.post("/console/tickets/new", data={"text": "   ", "csrf_token": csrf})
    assert r.status_code == 422 and "请填写来电描述" in r.text
    long_text = "门锁坏了<b>急</b>" * 500
    r = c.post("/console/tickets/new", data={"text": long_text, "csrf_token": csrf})
    assert r.status_code == 422 and "最多 4000 字" in r.text
    assert html.escape(long_text, quote=False) in r.text
    assert count() == before
    # A call becomes a triaged ticket like any other door's, and opens for review.
    r = c.post(
        "/console/tickets/new",
        data={"text": LOCK_TEXT + "，型号X3", "channel": "wechat", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    tid = int(urlsplit(r.headers["location"]).path.rsplit("/", 1)[-1])
    made = ticket(service, tid)
    assert made["status"] == "triaged" and made["channel"] == "wechat"
    assert made["device"]["model"] == "X3" and made["customer"]["phone"] == "13800138000"
    assert count() == before + 1
    # Only the desk's roles take calls.
    login(c, "tech-call")
    assert c.get("/console/tickets/new").status_code == 403


def test_ticket_page_offers_the_customer_progress_link(service: Service) -> None:
    make_users(("agent-link", Role.agent))
    made = new_ticket(service, LOCK_TEXT)
    c = service.client
    login(c, "agent-link")
    page = c.get(f"/console/review/{made['id']}").text
    found = re.search(
        r'id="customer-link-open" href="([^"]+)"|href="([^"]+)"[^>]*id="customer-link-open"', page
    )
    assert found, "the ticket page shows no customer link"
    link = html.unescape(found.group(1) or found.group(2))
    assert link == ticket(service, made["id"])["customer_link"]
    c.cookies.clear()  # the customer has no console login
    r = c.get(urlsplit(link).path)
    assert r.status_code == 200 and "维修进度" in r.text


def test_history_of_a_chat_import_names_fields_and_channel_in_chinese(service: Service) -> None:
    make_users(("agent-hist", Role.agent))
    made = _wechat_tickets(service)
    c = service.client
    login(c, "agent-hist")
    histories = [c.get(f"/console/review/{t['id']}").text.split('id="history"', 1)[1] for t in made]
    assert all("渠道：微信" in h for h in histories)
    assert any("全部电话：" in h for h in histories)
    assert not any("渠道：wechat" in h or "phones：" in h for h in histories)
    # Why and where from, in Chinese too: 导入 #1 第20–23行, 第20行：顾客报故障.
    assert all("行：" in h and "lines " not in h and "line " not in h for h in histories)
    assert not any("reports a fault" in h or "follow-up" in h for h in histories)


def test_an_import_ref_reads_in_chinese() -> None:
    from intake.importer import ref_label

    assert ref_label("lines 3-9") == "第3–9行"
    assert ref_label("lines 3-9 item 5") == "第3–9行（第5行的一项）"
    assert ref_label("row 5 #2") == "第5行第2条"
    assert ref_label("lines 9-9 item 9") == "第9行（第9行的一项）"
    assert ref_label("lines 9-91") == "第9–91行"
