"""What to write next: gap clusters, confusions, entry health (API and console over HTTP)."""

import re
import time

from fastapi.testclient import TestClient

from core.auth import Role
from tests.conftest import Service
from tests.test_console import csrf_of, login, make_users, new_ticket

HOOD = (
    "油烟机吸力特别小，开到最大档油烟还是往外冒，电话13812345678",
    "我家抽油烟机抽不动烟了，炒菜满屋子都是油烟",
    "油烟机开最大档也吸不走油烟，厨房里全是烟味",
    "油烟机吸力变得很弱，做饭时油烟都散到客厅了，地址杭州市西湖区文三路5号",
)
INVOICE = (
    "你好，我上个月的维修费要开发票，抬头写公司的",
    "麻烦帮我开一张上次维修的发票，电子发票就行",
    "维修费的发票还没收到，能不能帮我开一下发票",
)


def _refresh(svc: Service) -> dict:
    """Ask for a recompute and wait for the worker to store the new report."""
    ke = svc.headers("knowledge_engineer")
    before = svc.client.get("/api/v1/kb/gaps", headers=ke).json()["report_id"]
    r = svc.client.post("/api/v1/kb/gaps/refresh", headers=ke)
    assert r.status_code == 202, r.text
    for _ in range(600):
        r = svc.client.get("/api/v1/kb/gaps", headers=ke)
        assert r.status_code == 200, r.text
        if r.json()["report_id"] != before:
            return r.json()
        time.sleep(0.1)
    raise AssertionError("the gaps report was not recomputed")


def _cluster_of(gaps: dict, ids: set[int]) -> dict:
    found = [c for c in gaps["items"] if ids & set(c["ticket_ids"])]
    assert len(found) == 1, found
    return found[0]


def test_gaps_cluster_unmatched_calls_and_start_a_draft(service: Service) -> None:
    c, ke = service.client, service.headers("knowledge_engineer")
    empty = c.get("/api/v1/kb/gaps", headers=ke).json()
    assert empty["report_id"] is None and empty["items"] == []
    hood = [new_ticket(service, t) for t in HOOD]
    invoice = [new_ticket(service, t) for t in INVOICE]
    assert all(t["diagnosis"]["no_match"] for t in hood + invoice)
    new_ticket(service, "我家门锁指纹按了没反应，固件2.3.1")  # matched: not a gap

    gaps = _refresh(service)
    assert gaps["report_id"] and gaps["unmatched"] == len(HOOD) + len(INVOICE)
    hood_ids = {t["id"] for t in hood}
    cluster = _cluster_of(gaps, hood_ids)
    assert set(cluster["ticket_ids"]) == hood_ids and cluster["size"] == 4
    assert not cluster["not_a_fault"] and cluster["trend"] in ("rising", "steady", "falling")
    assert cluster["symptoms"] and all("油烟" in s or "烟" in s for s in cluster["symptoms"])
    said = " ".join(cluster["symptoms"]) + cluster["title"]
    assert "13812345678" not in said and "文三路" not in said  # contact details left out
    bills = _cluster_of(gaps, {t["id"] for t in invoice})
    assert bills["not_a_fault"] and bills["size"] == 3

    ref = f"{gaps['report_id']}-{cluster['id']}"
    r = c.post(f"/api/v1/kb/gaps/{ref}/draft", headers=ke)
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["draft"]["symptoms"] == cluster["symptoms"]
    assert draft["draft"]["title"] == cluster["title"]
    again = c.post(f"/api/v1/kb/gaps/{ref}/draft", headers=ke).json()
    assert again["id"] != draft["id"]  # a second draft gets its own id

    assert c.post(f"/api/v1/kb/gaps/{gaps['report_id']}-999/draft", headers=ke).status_code == 404
    bad = c.post("/api/v1/kb/gaps/abc/draft", headers=ke)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cluster"
    agent = service.headers("agent")
    assert c.post("/api/v1/kb/gaps/refresh", headers=agent).status_code == 403
    assert c.get("/api/v1/kb/gaps", headers=agent).status_code == 403


def test_confusions_and_entry_health(service: Service) -> None:
    c, ke = service.client, service.headers("knowledge_engineer")
    lock = [new_ticket(service, "我家门锁指纹按了没反应，固件2.3.1") for _ in range(2)]
    predicted = lock[0]["diagnosis"]["kb_id"]
    assert predicted
    other = "LOCK-BATT-LOW" if predicted != "LOCK-BATT-LOW" else "LOCK-MOTOR-JAM"
    for t in lock:
        r = c.post(
            f"/api/v1/tickets/{t['id']}/review",
            json={"kb_id": other},
            headers=service.headers("agent"),
        )
        assert r.status_code == 200, r.text
    _refresh(service)
    pairs = c.get("/api/v1/kb/confusions", headers=ke).json()["items"]
    assert pairs[0]["predicted_kb_id"] == predicted and pairs[0]["corrected_kb_id"] == other
    assert pairs[0]["count"] == 2 and set(pairs[0]["ticket_ids"]) == {t["id"] for t in lock}
    assert pairs[0]["suggested_symptoms"] == ["我家门锁指纹按了没反应，固件2.3.1"]
    health = c.get("/api/v1/kb/health", headers=ke).json()
    row = next(i for i in health["items"] if i["kb_id"] == predicted)
    assert row["matched"] == 2 and row["corrected_away"] == 2 and row["correction_rate"] == 1.0
    assert row["mean_confidence"] is not None and row["last_hit"]
    idle = {e["kb_id"] for e in health["idle_entries"]}
    assert predicted not in idle and other not in idle and len(idle) > 50
    lock_cov = next(p for p in health["coverage"] if p["product_type"] == "智能门锁")
    assert lock_cov["calls"] == 2 and lock_cov["entries"] >= 5


def _ke_users(c: TestClient) -> None:
    make_users(("ke-a", Role.knowledge_engineer), ("ke-b", Role.knowledge_engineer))


def test_console_gaps_page_starts_a_draft_and_four_eyes_show(service: Service) -> None:
    c = service.client
    for t in HOOD:
        new_ticket(service, t)
    _refresh(service)
    _ke_users(c)
    login(c, "ke-a")
    page = c.get("/console/kb/gaps")
    assert page.status_code == 200 and "油烟" in page.text and "据此起草条目" in page.text
    action = re.search(r'action="/console(/kb/gaps/\d+/\d+/draft)"', page.text).group(1)
    r = c.post("/console" + action, data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and "from_gap=1" in r.headers["location"]
    edit = c.get(r.headers["location"].removeprefix("http://testserver"))
    assert (
        "尚未发布" in edit.text
        and "已发布 v0" not in edit.text
        and 'id="from-gap-msg"' in edit.text
    )
    entry_id = re.search(r"/console/kb/(GAP-[\w-]+)\?", r.headers["location"]).group(1)

    # The author submits: no publish button for them, the four-eyes rule is said.
    csrf = csrf_of(edit.text)
    c.post(f"/console/kb/{entry_id}/submit", data={"csrf_token": csrf})
    own = c.get(f"/console/kb/{entry_id}").text
    assert 'id="four-eyes"' in own and 'id="await-review"' in own and 'id="publish"' not in own
    assert "你提交的，需他人审核" in c.get("/console/kb").text
    # Another engineer sees the buttons and rejects with a reason; the author reads it.
    login(c, "ke-b")
    theirs = c.get(f"/console/kb/{entry_id}").text
    assert 'id="publish"' in theirs
    assert "可由你审核" in c.get("/console/kb").text
    c.post(
        f"/console/kb/{entry_id}/reject", data={"csrf_token": csrf_of(theirs), "reason": "根因没写"}
    )
    login(c, "ke-a")
    mine = c.get(f"/console/kb/{entry_id}").text
    assert 'id="rejection"' in mine and "根因没写" in mine
    history = c.get(f"/console/kb/{entry_id}/history").text
    assert "驳回原因：根因没写" in history and "提交审核" in history
    assert "True" not in history and "False" not in history and ">low<" not in history
    for tab in ("confusions", "health"):
        assert c.get(f"/console/kb/{tab}").status_code == 200


def test_console_import_report_in_chinese_and_export(service: Service) -> None:
    c = service.client
    _ke_users(c)
    csrf = login(c, "ke-a")
    good = '{"id": "NEW-1", "title": "新条目", "product_type": "空调", "severity": "P1"}'
    bad = '{"id": "bad id!", "title": "", "product_type": "空调", "severity": "超级"}'
    r = c.post(
        "/console/kb/transfer",
        data={"csrf_token": csrf},
        files={"file": ("kb.jsonl", (good + "\n" + bad + "\n").encode(), "application/x-ndjson")},
    )
    assert r.status_code == 422
    assert "未导入任何条目" in r.text and "编号只能含字母" in r.text
    assert "严重度“超级”无法识别" in r.text  # the bad value named, not only its row
    assert "Field required" not in r.text and "Value error" not in r.text
    assert c.get("/api/v1/kb/entries/NEW-1", headers=service.headers("agent")).status_code == 404
    r = c.post(
        "/console/kb/transfer",
        data={"csrf_token": csrf, "partial": "1"},
        files={"file": ("kb.jsonl", (good + "\n" + bad + "\n").encode(), "application/x-ndjson")},
    )
    assert r.status_code == 200 and "新建 1 条" in r.text
    assert 'id="severity-mapping"' in r.text and "P1" in r.text
    wrong = c.post(
        "/console/kb/transfer", data={"csrf_token": csrf}, files={"file": ("kb.pdf", b"x", "x")}
    )
    assert wrong.status_code == 415 and "不支持的文件类型" in wrong.text
    out = c.get("/console/kb/transfer/export?format=csv&drafts=1")
    assert out.status_code == 200 and "NEW-1" in out.text
