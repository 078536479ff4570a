"""The whole field loop in a real browser at 375 px (Playwright, Debian's Chromium) on a real
server: call → ticket → offer → accept → on the way (sent while offline) → call → arrive with
GPS → start → resolve with a photo and the customer's signature → the customer's page and
rating. HOTLINE_SCREENSHOTS=<folder> keeps the screenshots (docs/screenshots/field-*.png)."""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.console_server import PASSWORD, Server
from tests.conftest import seeded_server
from tests.field_support import PHONE, png_bytes
from tests.sla_support import Recorder

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed (.ci/run installs it)"
)
sync_api = pytest.importorskip("playwright.sync_api")
SITE = (22.5400, 113.9500)
PHONE_SIZE = {"width": 375, "height": 812}
CALL = f"门锁验证成功但是门打不开，电机空转，电话{PHONE}，地址深圳市南山区科技园1栋"


@pytest.fixture(scope="module")
def customer_sms() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, customer_sms: Recorder) -> Iterator[Server]:
    old = os.environ.get("HOTLINE_CUSTOMER_NOTIFY_URL")
    os.environ["HOTLINE_CUSTOMER_NOTIFY_URL"] = customer_sms.url("/sms")
    try:
        with seeded_server(tmp_path_factory.mktemp("field-browser")) as srv:
            yield srv
    finally:
        if old is None:
            os.environ.pop("HOTLINE_CUSTOMER_NOTIFY_URL", None)
        else:
            os.environ["HOTLINE_CUSTOMER_NOTIFY_URL"] = old


def _shot(page, name: str) -> None:
    folder = os.environ.get("HOTLINE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"field-{name}.png"), full_page=True)


def _wait(cond, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = cond()
        if out:
            return out
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


def _technician_with_login(server: Server) -> int:
    with server.api() as api:
        r = api.post(
            "/api/v1/dispatch/technicians",
            json={
                "name": "李师傅",
                "phone": "13900001111",
                "home_lat": SITE[0] + 0.005,
                "home_lon": SITE[1],
                "skills": ["家电维修基础"],
            },
        )
        r.raise_for_status()
        tech_id = r.json()["id"]
    subprocess.run(
        [
            *(sys.executable, "-m", "hotline.cli", "user", "create", "li.tech"),
            *("--role", "technician", "--display-name", "李师傅", "--technician", str(tech_id)),
        ],
        env={**server.env, "HOTLINE_PASSWORD": PASSWORD},
        check=True,
        capture_output=True,
    )
    return tech_id


def _ticket_from_call(server: Server) -> dict:
    """The call's ticket, reviewed by the agent and placed on the map, offered to 李师傅."""
    with server.api() as api:
        ticket = api.post("/api/v1/intake/text", json={"text": CALL, "channel": "phone"}).json()
        tid = ticket["id"]
        assert ticket["fields"]["phone"] == PHONE
        api.post(
            f"/api/v1/tickets/{tid}/review", json={"kb_id": "LOCK-MOTOR-JAM"}
        ).raise_for_status()
        api.patch(
            f"/api/v1/tickets/{tid}",
            json={"fields": {"latitude": SITE[0], "longitude": SITE[1], "region": "深圳"}},
        ).raise_for_status()

        def offered() -> dict | None:
            st = api.get(f"/api/v1/dispatch/tickets/{tid}").json()
            live = [a for a in st["assignments"] if a["status"] == "offered"]
            return live[-1] if live else None

        if offered() is None:
            api.post(f"/api/v1/dispatch/tickets/{tid}/dispatch", json={"force": True})
        offer = _wait(offered)
        return {"ticket": api.get(f"/api/v1/tickets/{tid}").json(), "offer": offer}


def test_whole_field_loop_at_375px(server: Server, customer_sms: Recorder, tmp_path) -> None:
    expect = sync_api.expect
    tech_id = _technician_with_login(server)
    made = _ticket_from_call(server)
    ticket, offer = made["ticket"], made["offer"]
    assert offer["technician_id"] == tech_id
    photo = tmp_path / "site.png"
    photo.write_bytes(png_bytes())

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        ctx = browser.new_context(
            base_url=server.url,
            locale="zh-CN",
            viewport=PHONE_SIZE,
            is_mobile=True,
            has_touch=True,
            geolocation={"latitude": SITE[0], "longitude": SITE[1], "accuracy": 15},
            permissions=["geolocation"],
        )
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        # The push card's accept link → log in → the offer page with 接单 highlighted.
        page.goto(f"/console/tech/offers/{offer['id']}?answer=accept")
        page.fill("#username", "li.tech")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#accept")).to_have_class(re.compile("hot"))
        assert PHONE not in page.content()
        _shot(page, "offer")
        page.click("#accept")
        expect(page.locator("#call")).to_be_visible()
        expect(page.locator("#call")).to_have_attribute("href", f"tel:{PHONE}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
        _shot(page, "job")
        # On the way while offline: queued, then sent when the connection is back.
        ctx.set_offline(True)
        page.click("#on-way")
        expect(page.locator("#queue-state")).to_have_text("待发送 1 条")
        ctx.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        expect(page.locator("#arrive")).to_be_visible()
        expect(page.locator("text=已出发")).to_be_visible()
        # Tap to call (this test device has no dialler: the tel: navigation is suppressed).
        page.evaluate(
            "document.addEventListener('click', e => { if (e.target.closest('a[href^=\"tel:\"]'))"
            " e.preventDefault(); }, true)"
        )
        page.click("#call")
        expect(page.locator("#queue-state")).to_have_text("已同步")
        page.click("#arrive")
        expect(page.locator("text=已到达")).to_be_visible()
        page.click("#start")
        expect(page.locator("#resolve")).to_be_visible()
        page.fill("textarea[name=resolution]", "更换锁体电机，开关门测试正常")
        page.set_input_files("input[name=photos]", str(photo))
        box = page.locator("#signature").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 20, box["y"] + 40)
        page.mouse.down()
        for i in range(1, 12):
            page.mouse.move(box["x"] + 20 + i * 25, box["y"] + 40 + (i % 3) * 25)
        page.mouse.up()
        _shot(page, "resolve")
        page.click("#resolve-submit")
        expect(page.locator("#resolved")).to_be_visible()
        expect(page.locator("#resolved")).to_contain_text("客户已签字")

        # The customer's page (no login), from the link on the ticket.
        customer = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE, is_mobile=True)
        cp = customer.new_page()
        cp.goto(ticket["customer_link"])  # on the host the API was called at
        expect(cp.locator("#status")).to_have_text("维修完成")
        expect(cp.locator("#tech-name")).to_have_text("李师傅")
        expect(cp.locator("#tech-phone")).to_have_text("139****1111")
        for step in ("技师李师傅已接单", "技师已出发", "技师已到达", "维修完成"):
            expect(cp.locator("#timeline")).to_contain_text(step)
        assert PHONE not in cp.content() and "科技园" not in cp.content()
        cp.click("#stars button[data-score='2']")
        expect(cp.locator("#why")).to_be_visible()  # a low score asks why
        cp.fill("textarea[name=reason]", "等待时间有点长")
        _shot(cp, "customer-rating")
        cp.click("#rate-submit")
        expect(cp.locator("#rated")).to_contain_text("等待时间有点长")
        _shot(cp, "customer")
        browser.close()

    with server.api() as api:
        done = api.get(f"/api/v1/tickets/{ticket['id']}").json()
        assert done["status"] == "resolved"
        assert done["rating"]["score"] == 2 and done["rating"]["reason"] == "等待时间有点长"
        sla = api.get(f"/api/v1/sla/tickets/{ticket['id']}").json()
        kinds = {(e["kind"], e["accepted"]) for e in sla.get("evidence", [])}
        st = api.get(f"/api/v1/dispatch/tickets/{ticket['id']}").json()
        assert st["visit"]["signature"] and len(st["visit"]["photos"]) == 1
        figures = api.get("/api/v1/dispatch/ratings").json()
        assert any(
            t["technician_id"] == tech_id and t["count"] == 1 for t in figures["technicians"]
        )
    if sla.get("evidence") is not None:
        assert ("viewed", True) in kinds and ("call_started", False) in kinds
    events = _wait(lambda: len(customer_sms.to("/sms")) >= 4 and customer_sms.to("/sms"))
    assert sorted(m["hotline"]["event"] for m in events) == [
        "accepted",
        "arrived",
        "on_way",
        "resolved",
    ]
