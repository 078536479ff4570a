"""Each role's main flow in a real browser (Playwright, Debian's Chromium) on a real server."""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.console_server import PASSWORD, Server, seed_calls, seed_recorded_call
from tests.conftest import seeded_server

CHROMIUM = Path("/usr/bin/chromium")
AUDIO = Path(__file__).resolve().parent / "fixtures" / "audio" / "c01.wav"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed (.ci/run installs it)"
)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with seeded_server(tmp_path_factory.mktemp("console-browser")) as srv:
        seed_calls(srv)
        seed_recorded_call(srv, AUDIO)
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server: Server) -> Iterator:
    ctx = browser.new_context(base_url=server.url, locale="zh-CN", bypass_csp=True)
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    ctx.close()


def log_in(page, name: str) -> None:
    page.goto("/console/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def api_ticket(server: Server, tid: int) -> dict:
    with server.api() as api:
        return api.get(f"/api/v1/tickets/{tid}").json()


def test_agent_reviews_and_corrects_with_the_field_chain(page, server: Server) -> None:
    expect = sync_api.expect
    log_in(page, "zhang.agent")
    expect(page).to_have_url(re.compile(r"/console/review$"))
    expect(page.locator("h1")).to_have_text("审核队列")

    # Auto-refresh: a ticket that arrives while the queue is open shows up without a reload.
    rows_before = page.locator("table.queue tbody tr").count()
    fresh = seed_calls(
        server, ("冰箱不制冷，冷藏室不凉，电话13300133006，地址北京市通州区新华大街3号",)
    )[0]
    expect(page.locator("#new-count")).to_be_visible(timeout=15_000)
    expect(page.locator(f"text={fresh['number']}")).to_be_visible()
    assert page.locator("table.queue tbody tr").count() == rows_before + 1

    # Keyboard: j selects the first (lowest-confidence) row, Enter opens it.
    first_href = page.locator("table.queue tbody tr").first.get_attribute("data-href")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(first_href) + "$"))

    # Open the air-conditioner ticket and correct it into a smart-lock ticket: the chain makes
    # the firmware field appear and become required.
    with server.api() as api:
        items = api.get("/api/v1/tickets", params={"q": "空调不制冷"}).json()["items"]
    ac = items[0]
    page.goto(f"/console/review/{ac['id']}")
    firmware = page.locator('label[data-field="firmware"]')
    expect(firmware).to_be_hidden()
    page.select_option("#f_product_type", "智能门锁")
    expect(firmware).to_be_visible()
    expect(firmware.locator(".req")).to_be_visible()
    assert page.locator("#f_firmware").evaluate("el => el.required") is True
    page.fill("#f_model", "X3")
    page.fill("#kb_other", "LOCK-FP-231")
    page.keyboard.press("Control+Enter")  # blocked on the client: firmware is missing
    expect(page.locator("#client-error")).to_contain_text("固件版本")
    assert api_ticket(server, ac["id"])["status"] == "triaged"

    page.fill("#f_firmware", "2.3.1")
    page.fill("#note", "客户说的是门锁")
    page.locator("#note").press("Control+Enter")
    page.wait_for_url(re.compile(r"done="))
    done = api_ticket(server, ac["id"])
    assert done["status"] == "reviewed"
    assert done["device"]["product_type"] == "智能门锁" and done["fields"]["firmware"] == "2.3.1"
    assert done["diagnosis"]["kb_id"] == "LOCK-FP-231" and done["diagnosis"]["no_match"] is False

    # Confirm the next one with the keyboard only: 1 picks the top candidate.
    url = page.url
    tid = int(re.search(r"/review/(\d+)", url).group(1))
    t = api_ticket(server, tid)
    if t["missing_fields"]:
        for name in t["missing_fields"]:
            loc = page.locator(f"#f_{name}")
            if loc.is_visible() and not loc.input_value():
                loc.fill("1" if name == "run_count" else "补充信息")
    if t["diagnosis"]["candidates"]:
        page.keyboard.press("1")
    else:
        page.keyboard.press("0")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda u: u != url)
    assert api_ticket(server, tid)["status"] == "reviewed"


def test_agent_plays_the_call_from_a_segment(page, server: Server) -> None:
    with server.api() as api:
        items = api.get("/api/v1/tickets", params={"channel": "phone"}).json()["items"]
    tid = items[0]["id"]
    log_in(page, "zhang.agent")
    page.goto(f"/console/review/{tid}")
    audio = page.locator("#call-audio")
    sync_api.expect(audio).to_be_visible()
    page.wait_for_function("document.querySelector('#call-audio').readyState >= 1")
    seg = page.locator(".seg[data-start]").last
    start = float(seg.get_attribute("data-start"))
    page.evaluate("a => { a.muted = true; a.currentTime = 2.9; }", audio.element_handle())
    seg.click()
    page.wait_for_function(
        f"Math.abs(document.querySelector('#call-audio').currentTime - {start}) < 0.6"
    )
    assert page.locator(".seg mark.ent").count() >= 1  # entities highlighted in the transcript


def test_curators_publish_an_edit_and_try_a_query_changes(page, server: Server) -> None:
    expect = sync_api.expect
    query = "洗衣机屏幕显示E77童锁灯一直闪"
    log_in(page, "li.ke")
    expect(page).to_have_url(re.compile(r"/console/kb$"))
    page.fill("#kb-q", "门锁")
    page.click("text=筛选")
    expect(page.locator("#kb-table")).to_contain_text("WM-DOOR-LOCK")

    def ranks() -> tuple[list[str], list[str]]:
        page.goto("/console/kb/try")
        page.fill("#try-text", query)
        page.click("#try-run")
        # The draft index is built on demand: slow on a loaded machine.
        expect(page.locator("#rank-current")).to_be_visible(timeout=30_000)
        cur = page.locator("#rank-current li").evaluate_all("els => els.map(e => e.dataset.kb)")
        dra = page.locator("#rank-draft li").evaluate_all("els => els.map(e => e.dataset.kb)")
        return cur, dra

    # An empty query is refused, and the page says so where the ranking would appear (htmx
    # swaps nothing on a 4xx: the curator saw no answer at all).
    page.goto("/console/kb/try")
    page.click("#try-run")
    expect(page.locator("#try-result .error")).to_contain_text("请先输入来电描述")

    before_current, before_draft = ranks()
    assert before_draft == before_current  # no drafts yet

    # Edit: add the new symptom; save and submit for review.
    page.goto("/console/kb/WM-DOOR-LOCK")
    symptoms = page.locator("#kb-symptoms")
    symptoms.fill(symptoms.input_value() + "\n显示E77童锁灯一直闪")
    page.fill("#kb-fault_code", "E77")
    page.click("#save-submit")
    expect(page.locator("text=草稿已提交审核")).to_be_visible()
    # The author may not publish their own draft: no button, the rule is said.
    expect(page.locator("#publish")).to_have_count(0)
    expect(page.locator("#four-eyes")).to_be_visible()

    cur, dra = ranks()
    assert cur == before_current  # triage still uses the published KB
    assert dra[0] == "WM-DOOR-LOCK" and before_current[0] != "WM-DOOR-LOCK"
    expect(page.locator("#rank-draft li").first).to_contain_text("↑")

    # A second knowledge engineer reviews and publishes.
    log_in(page, "wang.ke")
    expect(page.locator("#pending-list")).to_contain_text("WM-DOOR-LOCK")
    page.click("#pending-list >> text=WM-DOOR-LOCK")
    page.click("#publish")
    expect(page.locator("#published-msg")).to_be_visible()
    # The published index changed: at once in this process, within the index sync interval
    # in others; a loaded machine may take a few tries.
    deadline = time.monotonic() + 30
    cur, _ = ranks()
    while cur[0] != "WM-DOOR-LOCK" and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        cur, _ = ranks()
    assert cur[0] == "WM-DOOR-LOCK"

    page.goto("/console/kb/WM-DOOR-LOCK/history")
    expect(page.locator("ins").first).to_be_visible()
    expect(page.locator("section.rev").first).to_contain_text("发布")


def test_supervisor_boards_and_reassign(page, server: Server) -> None:
    expect = sync_api.expect
    with server.api() as api:
        techs = [
            api.post(
                "/api/v1/dispatch/technicians",
                json={"name": name, "home_lat": lat, "home_lon": 116.40, "skills": []},
            ).json()
            for name, lat in (("刘师傅", 39.91), ("陈师傅", 39.93))
        ]
        tid = api.get("/api/v1/tickets", params={"q": "热水器"}).json()["items"][0]["id"]
        r = api.patch(
            f"/api/v1/tickets/{tid}", json={"fields": {"latitude": 39.92, "longitude": 116.41}}
        )
        assert r.status_code == 200, r.text

    log_in(page, "zhao.boss")
    expect(page).to_have_url(re.compile(r"/console/boards"))
    assert page.locator("svg.chart").count() >= 3  # volume, SLA attainment, root causes
    total = int(re.search(r"共 (\d+) 张", page.locator("main").inner_text()).group(1))
    assert total >= 7

    page.click("#nav-sla")
    expect(page.locator("#tile-black")).to_be_visible()
    page.click("#nav-dispatch")
    expect(page.locator("#tech-table")).to_contain_text("陈师傅")
    row = page.locator(f"#t{tid}")
    row.locator("select").select_option(str(techs[1]["id"]))
    row.locator("input[name=reason]").fill("客户指定陈师傅上门")
    row.locator("button").click()
    expect(page.locator("#reassigned-msg")).to_be_visible()
    expect(page.locator(f"#t{tid}")).to_contain_text("陈师傅")
    with server.api() as api:
        last = api.get(f"/api/v1/dispatch/tickets/{tid}").json()["assignments"][-1]
    assert last["technician_id"] == techs[1]["id"] and last["reason"] == "客户指定陈师傅上门"
    assert last["actor"] == "supervisor:zhao.boss"


def test_access_is_checked_per_role(page, server: Server) -> None:
    log_in(page, "qian.tech")
    response = page.goto("/console/kb/WM-LEAK")
    assert response.status == 403
    sync_api.expect(page.locator("h1")).to_contain_text("无权访问")
    assert page.goto("/console/review").status == 403
    assert page.goto("/console/boards").status == 403
    log_in(page, "zhang.agent")
    assert page.goto("/console/kb/try").status == 403
    # Logged out: every page goes to the login form, and back after logging in.
    page.click("#logout")
    page.goto("/console/review")
    sync_api.expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.fill("#username", "zhang.agent")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/console/review$"))


def test_agent_imports_an_old_sheet_and_quality_checks_a_row(page, server: Server) -> None:
    expect = sync_api.expect
    sheet = Path(__file__).resolve().parent / "fixtures" / "imports" / "sheet_utf8.csv"
    log_in(page, "zhang.agent")
    page.click("nav >> text=导入")
    expect(page.locator("h1")).to_have_text("导入")
    page.set_input_files("#excel-file", str(sheet))
    page.click("#excel-submit")
    page.wait_for_url(re.compile(r"/console/imports/\d+$"))
    # The page follows the background import by itself until it is done.
    expect(page.locator('#import-status [data-status="done"]')).to_be_visible(timeout=90_000)
    created = int(page.locator("#count-created").inner_text())
    assert created > 0
    links = page.locator("#import-rows a[href*='/console/review/']")
    expect(links).to_have_count(created)
    links.first.click()
    page.wait_for_url(re.compile(r"/console/review/\d+$"))
    expect(page.locator("body")).to_contain_text("待质检")
    log_in(page, "qian.tech")
    assert page.goto("/console/imports").status == 403


# Per table: the page's overflow; header cells narrower than their text on one line; cells
# narrower than six characters although their text is longer (a column of one or two characters
# per line); a table wider than its box that does not scroll inside it.
CRAMPED = """(sel) => {
  const table = document.querySelector(sel);
  const box = table.parentElement;
  const oneLine = (cell) => {
    const probe = document.createElement('span');
    probe.style.whiteSpace = 'nowrap';
    probe.textContent = cell.textContent.trim();
    cell.appendChild(probe);
    const width = probe.getBoundingClientRect().width;
    probe.remove();
    return width;
  };
  const inner = (cell) => {
    const style = getComputedStyle(cell);
    return cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  };
  const shown = (cell) => cell.offsetParent !== null && cell.textContent.trim();
  const squeezed = [...table.querySelectorAll('th')].filter(shown)
    .filter((th) => inner(th) + 1 < oneLine(th)).map((th) => th.textContent.trim());
  const narrow = [...table.querySelectorAll('tbody td')].filter(shown).filter((td) => {
    const em = parseFloat(getComputedStyle(td).fontSize);
    return inner(td) + 1 < Math.min(oneLine(td), 6 * em);
  }).map((td) => td.textContent.trim());
  const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
  return {
    squeezed,
    narrow,
    overflowing: table.scrollWidth > box.clientWidth + 1 && !scrolls,
    page: document.documentElement.scrollWidth,
  };
}"""


def test_kb_list_and_technicians_read_at_375px(browser, server: Server) -> None:
    with server.api() as api:
        for name, lat in (("欧阳建国", 39.95), ("司马小芳", 39.96)):
            r = api.post(
                "/api/v1/dispatch/technicians",
                json={
                    "name": name,
                    "home_lat": lat,
                    "home_lon": 116.40,
                    "skills": ["家电维修基础", "智能锁v2.x固件授权认证", "制冷与空调作业证"],
                },
            )
            assert r.status_code == 201, r.text
    ctx = browser.new_context(
        base_url=server.url,
        locale="zh-CN",
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,
    )
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    try:
        for user, path, table in (
            ("li.ke", "/console/kb", "#kb-table"),
            ("zhao.boss", "/console/boards/dispatch", "#tech-table"),
        ):
            log_in(page, user)
            page.goto(path)
            got = page.evaluate(CRAMPED, table)
            # (against 375 itself: a mobile browser widens innerWidth to fit a wide page)
            assert got["page"] <= 376, f"{path}: the page is {got['page']} px wide, not 375"
            assert not got["squeezed"], f"{table}: headers squeezed {got['squeezed']}"
            assert not got["narrow"], f"{table}: cells squeezed {got['narrow'][:5]}"
            assert not got["overflowing"], f"{table} is wider than its box and does not scroll"
    finally:
        ctx.close()
