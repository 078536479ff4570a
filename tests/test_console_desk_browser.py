"""The agent's desk in a real browser (Playwright, Debian's Chromium) at 1440 and 375 px wide:
find a ticket, urgent-first queue with bulk QC, finish (close, cancel, merge), attachments and
"客户无法提供", the 409 page that keeps the edit, Chinese error pages, audio seek.

With HOTLINE_SCREENSHOT_DIR set, each flow leaves a screenshot there (docs/screenshots).
"""

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.console_server import Server, seed_calls, seed_recorded_call
from tests.conftest import seeded_server
from tests.test_console_browser import AUDIO, CHROMIUM, api_ticket, log_in

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed (.ci/run installs it)"
)
sync_api = pytest.importorskip("playwright.sync_api")
WECHAT = Path(__file__).resolve().parent / "fixtures" / "imports" / "wechat_group.txt"
WIDTHS = {"desktop": (1440, 900), "phone": (375, 740)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with seeded_server(tmp_path_factory.mktemp("desk-browser")) as srv:
        with srv.api() as api:
            api.post("/api/v1/sla/defaults").raise_for_status()
        seed_calls(srv)
        seed_recorded_call(srv, AUDIO)
        with srv.api() as api:
            r = api.post(
                "/api/v1/imports/wechat",
                files={"file": ("维修群.txt", WECHAT.read_bytes())},
                data={"wait": "true"},
            )
            r.raise_for_status()
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(params=list(WIDTHS))
def page(request: pytest.FixtureRequest, browser, server: Server) -> Iterator:
    width, height = WIDTHS[request.param]
    ctx = browser.new_context(
        base_url=server.url,
        locale="zh-CN",
        viewport={"width": width, "height": height},
        is_mobile=width < 500,
        has_touch=width < 500,
        # The pages' content policy forbids eval; Playwright's wait_for_function predicates are
        # strings it evaluates in the page (the policy itself: test_hostile_input).
        bypass_csp=True,
    )
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    pg.width = width
    yield pg
    ctx.close()


def shot(page, name: str) -> None:
    """A full-page screenshot for the docs (only when asked for), and the layout check every
    flow shares: nothing wider than the window (tables scroll inside their own box)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name}: the page is {overflow} px wider than the window"
    folder = os.environ.get("HOTLINE_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"desk-{name}-{page.width}.png"), full_page=True)


def fill_required(page) -> None:
    """Fill whatever the field chain still asks for, so the flow under test can submit."""
    for _ in range(3):  # a filled field can bring the next one of the chain
        missing = page.locator("label.field.missing:not([hidden]) input[name^=f_]").all()
        for inp in missing:
            if inp.is_visible() and not inp.input_value():
                inp.fill("1" if inp.get_attribute("inputmode") == "numeric" else "补充信息")
    if not page.locator('input[name="kb_choice"]:checked').count():
        page.check('input[name="kb_choice"][value="__none__"]')


def call(server: Server, text: str) -> dict:
    return seed_calls(server, (text,))[0]


def phone(page, n: int) -> str:
    return f"1{page.width % 1000:03d}{n:07d}"


def test_agent_finds_a_caller_and_opens_a_chat_import(page, server: Server) -> None:
    expect = sync_api.expect
    number = phone(page, 1)
    name = "周凯" if page.width > 500 else "吴磊"
    t = call(
        server, f"热水器打不着火，电话{number}，地址北京市丰台区丽泽路{page.width}号，我叫{name}"
    )
    log_in(page, "zhang.agent")
    page.goto("/console/tickets")
    expect(page.locator("h1")).to_have_text("工单查询")
    for query in (number[-8:], t["number"], name, f"丽泽路{page.width}号"):
        page.fill("#q", query)
        page.click("#search-go")
        expect(page.locator("table.tickets tbody tr")).to_have_count(1)
        expect(page.locator("table.tickets")).to_contain_text(t["number"])
    shot(page, "search")
    page.click(f"table.tickets >> text={t['number']}")
    page.wait_for_url(re.compile(rf"/console/review/{t['id']}$"))
    # Every WeChat-imported ticket opens (no timed segments, no 500) and reads as a chat.
    page.goto("/console/tickets?channel=wechat")
    links = page.locator("table.tickets tbody a.mono")
    assert links.count() >= 2
    links.first.click()
    expect(page.locator("h1")).to_contain_text("工单")
    expect(page.locator("ol.transcript li").first).to_be_visible()
    assert page.locator(".seg[data-start]").count() == 0
    shot(page, "chat-ticket")
    # By number in the address bar, too.
    page.goto(f"/console/review/{t['number']}")
    expect(page.locator("h1")).to_contain_text(t["number"])


def test_queue_is_urgent_first_and_imports_are_confirmed_in_bulk(page, server: Server) -> None:
    expect = sync_api.expect
    lift = call(
        server, f"电梯困人了，有人被关在里面，电话{phone(page, 2)}，地址北京市海淀区{page.width}号"
    )
    w = page.width
    chat = (
        f"—————  2026-02-{w % 28 + 1:02d}  —————\n"
        f"李娜{w} 09:02\n我家空调不制冷了，型号KFR-35GW，显示E1\n"
        f"李娜{w} 09:05\n地址是杭州市西湖区文三路{w}号，电话138{w:04d}5678\n"
        f"王强{w} 09:06\n我家门锁指纹没反应了，型号X3，固件2.3.1\n"
        f"王强{w} 09:07\n电话139{w:04d}1111，住在杭州市滨江区江南大道{w}号\n"
    )
    with server.api() as api:
        api.post(
            "/api/v1/imports/wechat",
            files={"file": (f"群{w}.txt", chat.encode())},
            data={"wait": "true"},
        ).raise_for_status()
    log_in(page, "zhang.agent")
    expect(page.locator("h1")).to_have_text("审核队列")
    classes = page.locator("table.queue tbody tr .sla").all_inner_texts()
    assert classes == sorted(classes)
    ids = page.locator("table.queue tbody tr").evaluate_all("rs => rs.map(r => r.dataset.id)")
    # Whatever its confidence, the lift call sits among the most urgent class at the top.
    assert set(classes[: ids.index(str(lift["id"])) + 1]) == {lift["sla_class"]}
    page.click("#tab-qc")
    page.wait_for_url(re.compile(r"status=pending_qc"))
    shot(page, "queue-qc")
    picks = page.locator(".bulk-pick")
    if picks.count() == 0:
        pytest.skip("no imported row passes the checks (bulk confirm has nothing to do)")
    ids = [int(v) for v in picks.evaluate_all("bs => bs.map(b => b.value)")]
    page.check("#check-all-passing")
    page.click("#bulk-confirm")
    expect(page.locator("#bulk-done")).to_contain_text(f"已批量确认 {len(ids)} 张")
    assert all(api_ticket(server, i)["status"] == "reviewed" for i in ids)


def test_queue_refresh_keeps_picked_rows_under_the_content_policy(browser, server: Server) -> None:
    """With the real content policy (no bypass): the queue polls every 5 s without eval (the
    policy forbids it; an hx-trigger filter made htmx log an EvalError and drop the filter), and
    a refresh never redraws the rows away from under the agent's picks."""
    chat = (
        "—————  2026-03-03  —————\n"
        "陈静 10:02\n我家空调不制冷了，型号KFR-35GW，显示E1\n"
        "陈静 10:05\n地址是杭州市西湖区文一路88号，电话13855550088\n"
    )
    with server.api() as api:
        api.post(
            "/api/v1/imports/wechat",
            files={"file": ("群-csp.txt", chat.encode())},
            data={"wait": "true"},
        ).raise_for_status()
    ctx = browser.new_context(base_url=server.url, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, "zhang.agent")
    page.goto("/console/review?status=pending_qc")
    picks = page.locator(".bulk-pick")
    if picks.count() == 0:
        pytest.skip("no imported row passes the checks (nothing to pick)")
    with page.expect_request(re.compile(r"/console/review/rows")):
        pass  # the queue refreshes while nothing is picked
    polled: list[str] = []
    page.on("request", lambda r: polled.append(r.url) if "/review/rows" in r.url else None)
    picks.first.check()
    page.wait_for_timeout(6_000)  # longer than one refresh period
    assert picks.first.is_checked()
    assert polled == []
    assert errors == []
    ctx.close()


def test_agent_finishes_tickets_without_a_visit(page, server: Server) -> None:
    expect = sync_api.expect
    log_in(page, "zhang.agent")
    # An off-topic call: closed as not a fault, out of the dispatch pool.
    invoice = call(server, f"我想问一下发票怎么开，电话{phone(page, 3)}")
    page.goto(f"/console/review/{invoice['id']}")
    page.select_option("#close-outcome", "not_a_fault")
    page.locator("#close-form input[name=note]").fill("咨询发票，已告知开票方式")
    page.click("#close-ticket")
    expect(page.locator("#closed-ok")).to_be_visible()
    expect(page.locator("#history")).to_contain_text("非故障")
    assert api_ticket(server, invoice["id"])["status"] == "closed"
    # Cancel without a reason is refused in the browser; with one it goes through.
    other = call(server, f"空调滴水，电话{phone(page, 4)}，地址北京市朝阳区{page.width}号")
    page.goto(f"/console/review/{other['id']}")
    page.click("#cancel-ticket")
    assert api_ticket(server, other["id"])["status"] != "cancelled"
    page.fill("#cancel-reason", "客户已自行处理")
    page.click("#cancel-ticket")
    expect(page.locator("#cancelled-ok")).to_be_visible()
    assert api_ticket(server, other["id"])["status"] == "cancelled"
    # The same caller twice about the same lock: suggested as a duplicate, merged.
    number = phone(page, 5)
    first = call(server, f"门锁指纹按了没反应，电话{number}，地址北京市朝阳区望京街{page.width}号")
    second = call(server, f"门锁指纹还是不行，电话{number}，刚才打过电话")
    page.goto(f"/console/review/{second['id']}")
    expect(page.locator("#duplicates")).to_contain_text(first["number"])
    shot(page, "duplicate")
    page.locator("#duplicates .merge-into").first.click()
    expect(page.locator("#merged-ok")).to_be_visible()
    expect(page.locator("h1")).to_contain_text(first["number"])
    expect(page.locator("#history")).to_contain_text(second["number"])
    assert api_ticket(server, second["id"])["status"] == "closed"


def test_attachment_and_customer_cannot_provide(page, server: Server, tmp_path: Path) -> None:
    from PIL import Image

    expect = sync_api.expect
    t = call(
        server, f"智能门锁指纹没反应，电话{phone(page, 6)}，地址北京市朝阳区望京街{page.width}号"
    )
    log_in(page, "zhang.agent")
    page.goto(f"/console/review/{t['id']}")
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 90, 200)).save(buf, "JPEG")
    photo = tmp_path / "铭牌.jpg"
    photo.write_bytes(buf.getvalue())
    page.set_input_files("#upload-form input[type=file]", str(photo))
    page.click("#upload")
    expect(page.locator("#uploaded-ok")).to_be_visible()
    thumb = page.locator("#attachments img")
    expect(thumb).to_have_count(1)
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('#attachments img').naturalWidth > 0")
    # Firmware is required for a lock; the customer cannot read it: released with a reason.
    page.select_option("#f_product_type", "智能门锁")
    page.fill("#f_model", "X3")
    firmware = page.locator('label[data-field="firmware"]')
    expect(firmware).to_be_visible()
    firmware.locator(".na-toggle").check()
    page.keyboard.press("Control+Enter")  # no reason yet: still blocked
    expect(page.locator("#client-error")).to_contain_text("固件版本")
    firmware.locator(".na-reason").fill("铭牌磨损看不清")
    shot(page, "attachment-release")
    if not page.locator('input[name="kb_choice"]:checked').count():
        page.check('input[name="kb_choice"][value="__none__"]')
    page.locator("#note").press("Control+Enter")
    page.wait_for_url(re.compile(r"done="))
    after = api_ticket(server, t["id"])
    assert after["status"] == "reviewed"
    assert after["fields"]["unavailable"] == {"firmware": "铭牌磨损看不清"}


def test_concurrent_edit_shows_both_and_reapplies(page, server: Server) -> None:
    expect = sync_api.expect
    t = call(server, f"充电桩充不上电，电话{phone(page, 7)}，地址北京市海淀区{page.width}号")
    log_in(page, "zhang.agent")
    page.goto(f"/console/review/{t['id']}")
    page.fill("#f_address", f"北京市海淀区中关村{page.width}号院")
    fill_required(page)
    with server.api() as api:  # someone else saves first
        api.patch(f"/api/v1/tickets/{t['id']}", json={"fields": {"customer_name": "陈先生"}})
    page.locator("#f_address").press("Control+Enter")
    expect(page.locator("#conflict")).to_be_visible()
    expect(page.locator("#conflict")).to_contain_text(f"中关村{page.width}号院")
    expect(page.locator("#f_address")).to_have_value(f"北京市海淀区中关村{page.width}号院")
    shot(page, "conflict")
    page.locator("#f_address").press("Control+Enter")
    page.wait_for_url(re.compile(r"done="))
    after = api_ticket(server, t["id"])
    assert after["location"]["address"] == f"北京市海淀区中关村{page.width}号院"
    assert after["customer"]["name"] == "陈先生"  # theirs, untouched by the re-applied edit


def test_errors_are_chinese_and_audio_seeks(page, server: Server) -> None:
    expect = sync_api.expect
    log_in(page, "zhang.agent")
    r = page.goto("/console/review/HL20990101-000001")
    assert r.status == 404
    expect(page.locator("h1")).to_contain_text("404")
    expect(page.locator(".errorpage")).to_contain_text("找不到工单")
    shot(page, "404")
    with server.api() as api:
        tid = api.get("/api/v1/tickets", params={"channel": "phone"}).json()["items"][0]["id"]
    page.goto(f"/console/review/{tid}")
    page.wait_for_function("document.querySelector('#call-audio').readyState >= 1")
    seg = page.locator(".seg[data-start]").last
    start = float(seg.get_attribute("data-start"))
    page.evaluate("() => { document.querySelector('#call-audio').muted = true; }")
    seg.click()
    page.wait_for_function(
        f"Math.abs(document.querySelector('#call-audio').currentTime - {start}) < 0.6"
    )
    expect(page.locator("#sla-countdown .countdown")).to_contain_text(re.compile("剩|超时"))
    shot(page, "ticket-audio")
