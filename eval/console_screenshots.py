"""Screenshots of every console page into docs/screenshots/ (referenced from the README).

Starts a real service with the demo KB and demo calls, logs in as each role in Chromium and
captures the pages: `python -m eval.console_screenshots` (needs /usr/bin/chromium).
"""

import re
import sys
import tempfile
from pathlib import Path

from core.settings import PACKAGE_ROOT
from eval.console_bench import seed_tickets
from eval.console_server import PASSWORD, running_server, seed_calls, seed_recorded_call

OUT = PACKAGE_ROOT / "docs" / "screenshots"
AUDIO = PACKAGE_ROOT / "tests" / "fixtures" / "audio" / "c01.wav"


def main(out: Path = OUT, chromium: str = "/usr/bin/chromium") -> list[Path]:
    """Write the screenshots; returns their paths."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as srv:
        with srv.api() as api:
            api.post("/api/v1/sla/defaults").raise_for_status()
            for i, name in enumerate(("刘师傅", "陈师傅", "黄师傅", "周师傅", "吴师傅")):
                api.post(
                    "/api/v1/dispatch/technicians",
                    json={
                        "name": name,
                        "home_lat": 39.75 + 0.08 * i,
                        "home_lon": 116.2 + 0.1 * ((i * 3) % 5),
                        "skills": ["智能锁v2.x固件授权认证"] if i % 2 else [],
                    },
                ).raise_for_status()
        # History for the charts and boards: 90 days of tickets straight into the database.
        seed_tickets(f"sqlite:///{Path(tmp) / 'hotline.db'}", 1500)
        tickets = seed_calls(srv)
        call = seed_recorded_call(srv, AUDIO)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            ctx = browser.new_context(
                base_url=srv.url, viewport={"width": 1400, "height": 900}, locale="zh-CN"
            )
            page = ctx.new_page()

            def shot(name: str, full: bool = True) -> None:
                path = out / f"{name}.png"
                page.screenshot(path=str(path), full_page=full)
                shots.append(path)

            def log_in(name: str) -> None:
                page.context.clear_cookies()
                page.goto("/console/login")
                page.fill("#username", name)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state()

            page.goto("/console/login")
            shot("login", full=False)

            log_in("zhang.agent")
            shot("review-queue")
            page.goto(f"/console/review/{call['id']}")
            shot("review-call-audio")
            lock = next(t for t in tickets if "空调" in t["fault"]["description"])
            page.goto(f"/console/review/{lock['id']}")
            page.select_option("#f_product_type", "智能门锁")
            page.click("#confirm")
            shot("review-field-chain")
            page.goto("/console/imports")
            sheet = PACKAGE_ROOT / "tests" / "fixtures" / "imports" / "messy_sheet.xlsx"
            page.set_input_files("#excel-file", str(sheet))
            page.click("#excel-submit")
            page.wait_for_selector('#import-status [data-status="done"]', timeout=120_000)
            shot("import-report")

            log_in("li.ke")
            shot("kb-list")
            page.goto("/console/kb/WM-DOOR-LOCK")
            symptoms = page.locator("#kb-symptoms")
            symptoms.fill(symptoms.input_value() + "\n显示E77童锁灯一直闪")
            page.click("#save-submit")
            shot("kb-edit-review")
            page.goto("/console/kb/try")
            page.fill("#try-text", "洗衣机屏幕显示E77童锁灯一直闪")
            page.click("#try-run")
            page.wait_for_selector("#rank-draft")
            shot("kb-try-query")
            page.goto("/console/kb/WM-DOOR-LOCK/history")
            shot("kb-history")

            log_in("zhao.boss")
            page.goto("/console/boards")
            shot("boards-charts")
            for link in page.locator(".pagehead a").all():
                href = link.get_attribute("href") or ""
                m = re.match(r"/console/boards/(\w+)$", href)
                if m:
                    page.goto(href)
                    shot(f"boards-{m.group(1)}")
                    page.goto("/console/boards")

            log_in("root")
            page.goto("/console/holidays")
            shot("holidays")

            log_in("qian.tech")
            page.goto("/console/kb/WM-LEAK")
            shot("forbidden", full=False)
            browser.close()
    for path in shots:
        print(path.relative_to(PACKAGE_ROOT))
    return shots


if __name__ == "__main__":
    main(chromium=sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/chromium")
