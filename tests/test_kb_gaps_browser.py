"""The knowledge engineer's gaps page in a real browser: a cluster of unmatched calls → a draft
with the callers' words as symptoms, on a desktop (1440 px) and a phone (375 px)."""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.console_server import PASSWORD, Server, seed_calls
from tests.conftest import seeded_server
from tests.test_kb_gaps import HOOD, INVOICE

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed (.ci/run installs it)"
)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with seeded_server(tmp_path_factory.mktemp("kb-gaps-browser")) as srv:
        seed_calls(srv, HOOD + INVOICE)
        with srv.api() as api:
            assert api.post("/api/v1/kb/gaps/refresh").status_code == 202
            for _ in range(600):  # the server's worker computes the report
                if api.get("/api/v1/kb/gaps").json()["report_id"]:
                    break
                time.sleep(0.1)
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.mark.parametrize("width", [1440, 375])
def test_gaps_page_starts_a_draft(browser, server: Server, width: int) -> None:
    expect = sync_api.expect
    ctx = browser.new_context(
        base_url=server.url, locale="zh-CN", viewport={"width": width, "height": 900}
    )
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto("/console/login")
        page.fill("#username", "li.ke")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.click("#nav-gaps")
        expect(page).to_have_url(re.compile(r"/console/kb/gaps$"))
        hood = page.locator("section.gap", has_text="油烟").first
        expect(hood).to_contain_text("4 通")
        expect(page.locator("section.gap", has_text="非故障")).to_have_count(1)
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the gaps page scrolls sideways at {width} px"
        hood.locator(".start-draft").click()
        expect(page.locator("#from-gap-msg")).to_be_visible()
        expect(page.locator("#version-hint")).to_contain_text("尚未发布")
        assert "油烟" in page.locator("#kb-symptoms").input_value()
        assert "13812345678" not in page.locator("#kb-symptoms").input_value()
        page.click("#save-submit")
        expect(page.locator("#await-review")).to_be_visible()
        expect(page.locator("#publish")).to_have_count(0)  # four eyes: not the author
    finally:
        ctx.close()
