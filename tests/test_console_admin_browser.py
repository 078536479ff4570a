"""The admin's walk in a real browser (Playwright, Debian's Chromium) on a real server: create a
technician login, link it to a technician on the roster, sign in as it and land in the
technician app; every admin page fits a 375 px phone (tables scroll inside their card).
HOTLINE_SCREENSHOTS=<folder> keeps the screenshots (docs/screenshots/admin-*.png)."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.console_server import PASSWORD, Server
from tests.conftest import seeded_server

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed (.ci/run installs it)"
)
sync_api = pytest.importorskip("playwright.sync_api")
ADMIN_PAGES = ("/users", "/tokens", "/webhooks", "/audit/phone-reads")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with seeded_server(tmp_path_factory.mktemp("admin-browser")) as srv:
        yield srv


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("HOTLINE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"admin-{name}.png"), full_page=True)


def _log_in(page, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/console/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_admin_links_a_technician_login_who_then_sees_the_field_app(server: Server) -> None:
    expect = sync_api.expect
    with server.api() as api:
        made = api.post(
            "/api/v1/dispatch/technicians",
            json={"name": "周师傅", "home_lat": 22.54, "home_lon": 114.05, "available": False},
        )
        made.raise_for_status()
        tech_id = made.json()["id"]
        # A read of a customer's full number, for the log page to list.
        api.post(
            "/api/v1/intake/text",
            json={"text": "空调不制冷了，电话13900139000，地址上海市浦东新区世纪大道100号"},
        ).raise_for_status()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        ctx = browser.new_context(
            base_url=server.url,
            locale="zh-CN",
            viewport={"width": 1440, "height": 900},
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        _log_in(page, "root", PASSWORD)
        page.click("#nav-admin")
        expect(page).to_have_url(re.compile(r"/console/users$"))
        expect(page.locator("#password-rules")).to_contain_text("至少 8 个字符")

        page.fill("#new-username", "zhou.tech")
        page.fill("#new-display-name", "周师傅")
        page.select_option("#new-role", "technician")
        page.fill("#new-password", "field-pass-1")
        page.click("#new-user button[type=submit]")
        expect(page.locator("#saved")).to_contain_text("账号已创建")
        expect(page.locator("#linked")).to_contain_text("未关联")
        page.select_option("#technician", str(tech_id))
        page.click("#link-submit")
        expect(page.locator("#linked")).to_contain_text("已关联：周师傅")
        _shot(page, "user")
        page.click("#nav-users")
        expect(page.locator("#user-zhou\\.tech")).to_contain_text("周师傅")
        _shot(page, "users")

        # A webhook through the form, so the page has a long URL to fit at 375 px.
        page.click("#nav-webhooks")
        form = page.locator("#region-form")
        form.locator("input[name=region]").fill("深圳")
        form.locator("input[name=supervisor]").fill("赵主管")
        hook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + "693a91f6-7a3c" * 4
        form.locator("input[name=supervisor_url]").fill(hook)
        form.locator("input[name=director]").fill("钱总监")
        form.locator("input[name=director_url]").fill(hook)
        form.locator("button[type=submit]").click()
        expect(page.locator("#saved")).to_contain_text("区域告警联系人已保存")
        _shot(page, "webhooks")

        # Every admin page fits a phone: nothing wider than the screen but a table's own box.
        page.set_viewport_size({"width": 375, "height": 812})
        page.goto("/console/tokens")
        page.fill("#token-name", "CRM 对接")
        page.click("#new-token-form button[type=submit]")
        expect(page.locator("#token-value")).to_have_value(re.compile(r"^htl_"))
        page.click("#copy-token")
        expect(page.locator("#copy-token")).to_have_text("已复制")
        assert page.evaluate("navigator.clipboard.readText()").startswith("htl_")
        _shot(page, "phone-new-token")
        for path in ADMIN_PAGES:
            page.goto(f"/console{path}")
            overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, overflow)
            _shot(page, "phone-" + path.strip("/").replace("/", "-"))
        expect(page.locator("#reads")).to_contain_text("工单 #")

        # The technician signs in and lands in the field app.
        page.click("#logout")
        _log_in(page, "zhou.tech", "field-pass-1")
        expect(page).to_have_url(re.compile(r"/console/tech$"))
        expect(page.locator("#no-jobs")).to_contain_text("今天暂无工单")
        ctx.close()
        browser.close()
