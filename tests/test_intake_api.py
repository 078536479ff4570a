"""Typed text → pre-diagnosed ticket, over real HTTP handling, on every database backend."""

import pytest

from tests.conftest import Service

EXAMPLE = "那个我家门锁按指纹没反应了，型号X3，固件好像是二点三点一"


def test_example_call_becomes_diagnosed_ticket(service: Service) -> None:
    r = service.client.post(
        "/api/v1/intake/text",
        json={
            "text": EXAMPLE
            + "，电话幺三八一二三四五六七八，地址杭州市西湖区文三路一百号三栋五零二",
            "channel": "app",
        },
        headers=service.headers("agent"),
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["status"] == "triaged"
    assert t["fields"]["product_type"] == "智能门锁"
    assert t["fields"]["model"] == "X3"
    assert t["fields"]["firmware"] == "2.3.1"
    assert t["fields"]["phone"] == "13812345678"
    assert t["fields"]["address"].startswith("杭州市西湖区文三路100号")
    d = t["diagnosis"]
    assert d["no_match"] is False
    assert d["candidates"][0]["kb_id"] == "LOCK-FP-231"
    assert d["kb_id"] == "LOCK-FP-231"
    assert d["remote_fixable"] is True
    assert "无需上门" in d["resolution"]
    assert d["action"] == "优先远程处理，暂不需要上门"
    confs = [c["confidence"] for c in d["candidates"]]
    assert confs == sorted(confs, reverse=True) and confs[0] > 0.5
    assert "firmware" in {f["name"] for f in t["required_fields"]}
    # the ticket is stored with its history
    got = service.client.get(f"/api/v1/tickets/{t['number']}", headers=service.headers("agent"))
    assert got.status_code == 200 and got.json()["id"] == t["id"]
    hist = service.client.get(
        f"/api/v1/tickets/{t['id']}/history", headers=service.headers("agent")
    ).json()["items"]
    assert [h["to_status"] for h in hist] == ["new", "triaged"]


def test_out_of_kb_is_no_match(service: Service) -> None:
    r = service.client.post(
        "/api/v1/intake/text",
        json={"text": "你好，我想问一下你们门店周末几点关门，发票怎么开"},
        headers=service.headers("agent"),
    )
    assert r.status_code == 201
    d = r.json()["diagnosis"]
    assert d["no_match"] is True
    assert d["kb_id"] is None
    assert d["confidence"] < d["threshold"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "empty_text"),
        ({"text": "   "}, 422, "empty_text"),
        ({"text": "门" * 100_000}, 413, "text_too_long"),
        ({"text": "门锁坏了", "channel": "pigeon"}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
    ],
)
def test_bad_text_is_a_clear_4xx(service: Service, body: dict, status: int, code: str) -> None:
    r = service.client.post("/api/v1/intake/text", json=body, headers=service.headers("agent"))
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    listed = service.client.get("/api/v1/tickets", headers=service.headers("agent")).json()
    assert listed["total"] == 0  # nothing half-written


def test_invalid_json(service: Service) -> None:
    r = service.client.post(
        "/api/v1/intake/text",
        content=b'{"text": "abc',
        headers={**service.headers("agent"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_json"


def test_access_control(service: Service) -> None:
    c = service.client
    assert c.post("/api/v1/intake/text", json={"text": EXAMPLE}).status_code == 401
    bad = c.post(
        "/api/v1/intake/text", json={"text": EXAMPLE}, headers={"Authorization": "Bearer nope"}
    )
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"
    tech = c.post(
        "/api/v1/intake/text", json={"text": EXAMPLE}, headers=service.headers("technician")
    )
    assert tech.status_code == 403 and "technician" in tech.json()["error"]["message"]
    assert (
        c.post(
            "/api/v1/intake/text", json={"text": EXAMPLE}, headers=service.headers("admin")
        ).status_code
        == 201
    )
    # tokens: admin only; a revoked token stops working at once
    assert (
        c.post(
            "/api/v1/tokens", json={"name": "x", "role": "agent"}, headers=service.headers("agent")
        ).status_code
        == 403
    )
    made = c.post(
        "/api/v1/tokens", json={"name": "bob", "role": "agent"}, headers=service.headers("admin")
    )
    assert made.status_code == 201
    bob = {"Authorization": f"Bearer {made.json()['token']}"}
    assert c.get("/api/v1/me", headers=bob).json() == {"name": "bob", "role": "agent"}
    tid = next(
        t["id"]
        for t in c.get("/api/v1/tokens", headers=service.headers("admin")).json()["items"]
        if t["name"] == "bob"
    )
    assert c.delete(f"/api/v1/tokens/{tid}", headers=service.headers("admin")).status_code == 200
    assert c.get("/api/v1/me", headers=bob).status_code == 401


def _ticket(service: Service, text: str = EXAMPLE) -> dict:
    r = service.client.post(
        "/api/v1/intake/text", json={"text": text}, headers=service.headers("agent")
    )
    assert r.status_code == 201
    return r.json()


def test_review_confirm_and_correct(service: Service) -> None:
    c, h = service.client, service.headers("agent")
    t1 = _ticket(service)
    ok = c.post(f"/api/v1/tickets/{t1['id']}/review", json={}, headers=h)
    assert ok.status_code == 200 and ok.json()["status"] == "reviewed"
    t2 = _ticket(service, "我家门锁指纹老是识别失败，按好几次才开")
    fixed = c.post(
        f"/api/v1/tickets/{t2['id']}/review",
        json={
            "kb_id": "LOCK-FP-231",
            "fields": {"firmware": "2.3.1", "model": "X5"},
            "note": "客户补充固件版本",
        },
        headers=h,
    )
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert body["diagnosis"]["kb_id"] == "LOCK-FP-231"
    assert body["fields"]["firmware"] == "2.3.1" and body["device"]["model"] == "X5"
    corr = c.get("/api/v1/reviews/corrections", headers=service.headers("supervisor")).json()[
        "items"
    ]
    by_ticket = {x["ticket_id"]: x for x in corr}
    assert by_ticket[t1["id"]]["diagnosis_correct"] is True
    assert by_ticket[t2["id"]]["corrected_kb_id"] == "LOCK-FP-231"
    assert by_ticket[t2["id"]]["fields_correct"] is False
    assert by_ticket[t2["id"]]["corrected_fields"]["firmware"] == "2.3.1"
    hist = c.get(f"/api/v1/tickets/{t2['id']}/history", headers=h).json()["items"]
    assert hist[-1]["kind"] == "review" and hist[-1]["actor"] == "agent:agent-1"
    assert hist[-1]["changes"]["fields"]["firmware"][1] == "2.3.1"
    # correcting to an unknown entry changes nothing
    t3 = _ticket(service)
    bad = c.post(f"/api/v1/tickets/{t3['id']}/review", json={"kb_id": "NOPE"}, headers=h)
    assert bad.status_code == 422
    assert c.get(f"/api/v1/tickets/{t3['id']}", headers=h).json()["status"] == "triaged"


def test_state_machine_and_concurrent_edits(service: Service) -> None:
    c, h = service.client, service.headers("agent")
    t = _ticket(service)
    skip = c.post(f"/api/v1/tickets/{t['id']}/transition", json={"status": "resolved"}, headers=h)
    assert skip.status_code == 409 and "allowed" in skip.json()["error"]["message"]
    v = t["version"]
    first = c.patch(
        f"/api/v1/tickets/{t['id']}",
        json={"fields": {"phone": "13900000000"}, "expected_version": v},
        headers=h,
    )
    assert first.status_code == 200
    stale = c.patch(
        f"/api/v1/tickets/{t['id']}",
        json={"fields": {"phone": "13911111111"}, "expected_version": v},
        headers=h,
    )
    assert stale.status_code == 409
    assert c.get(f"/api/v1/tickets/{t['id']}", headers=h).json()["fields"]["phone"] == "13900000000"
    for status in ("reviewed", "dispatched", "in_progress", "resolved", "closed"):
        r = c.post(f"/api/v1/tickets/{t['id']}/transition", json={"status": status}, headers=h)
        assert r.status_code == 200, r.text
    final = c.post(
        f"/api/v1/tickets/{t['id']}/transition",
        json={"status": "cancelled", "reason": "x"},
        headers=h,
    )
    assert final.status_code == 409
    no_reason = c.post(
        f"/api/v1/tickets/{_ticket(service)['id']}/transition",
        json={"status": "cancelled"},
        headers=h,
    )
    assert no_reason.status_code == 422


def test_unknown_ids_are_404(service: Service) -> None:
    c, h = service.client, service.headers("agent")
    for path in (
        "/api/v1/tickets/999999",
        "/api/v1/tickets/HL20990101-000001",
        "/api/v1/tickets/424242/history",
    ):
        r = c.get(path, headers=h)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = c.post("/api/v1/tickets/999999/review", json={}, headers=h)
    assert r.status_code == 404


def test_list_filter_search(service: Service) -> None:
    c, h = service.client, service.headers("agent")
    lock = _ticket(service)
    _ticket(service, "充电桩绿灯一直亮着但是车充不进电")
    _ticket(service, "你们公司招不招人")
    all_ = c.get("/api/v1/tickets", headers=h).json()
    assert all_["total"] == 3
    queue = c.get("/api/v1/tickets?status=triaged&sort=confidence", headers=h).json()["items"]
    assert [x["diagnosis"]["confidence"] for x in queue] == sorted(
        x["diagnosis"]["confidence"] for x in queue
    )
    assert (
        c.get("/api/v1/tickets?product_type=智能门锁", headers=h).json()["items"][0]["id"]
        == lock["id"]
    )
    assert c.get("/api/v1/tickets?no_match=true", headers=h).json()["total"] == 1
    found = c.get("/api/v1/tickets", params={"q": "绿灯"}, headers=h).json()
    assert found["total"] == 1 and found["items"][0]["fields"]["product_type"] == "充电桩"
    assert c.get("/api/v1/tickets?sort=bogus", headers=h).status_code == 422


def test_review_reevaluates_field_chain(service: Service) -> None:
    """A corrected product brings its required fields, through the API as in the console."""
    c, h = service.client, service.headers("agent")
    t = _ticket(service, "冰箱冷藏室不凉了，东西都放坏了")
    assert "firmware" not in {r["name"] for r in t["required_fields"]}
    r = c.post(
        f"/api/v1/tickets/{t['id']}/review",
        json={"kb_id": "LOCK-FP-231", "fields": {"product_type": "智能门锁"}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    required = {x["name"]: x for x in r.json()["required_fields"]}
    assert required["firmware"]["missing"] is True and "firmware" in r.json()["missing_fields"]


def test_concurrent_reviews_of_one_ticket(service: Service) -> None:
    """Two agents review the same ticket at once: exactly one verdict is kept."""
    from concurrent.futures import ThreadPoolExecutor

    t = _ticket(service)

    def review(note: str) -> int:
        body = {"note": note, "expected_version": t["version"]}
        r = service.client.post(
            f"/api/v1/tickets/{t['id']}/review", json=body, headers=service.headers("agent")
        )
        return r.status_code

    with ThreadPoolExecutor(3) as pool:
        codes = sorted(pool.map(review, ["a", "b", "c"]))
    assert codes.count(200) == 1, codes
    assert all(c in (409, 503) for c in codes if c != 200)
    corr = service.client.get(
        "/api/v1/reviews/corrections", headers=service.headers("supervisor")
    ).json()
    assert [x["ticket_id"] for x in corr["items"]].count(t["id"]) == 1


def test_asr_homophones_and_sales_questions(shared_preview) -> None:
    heard = shared_preview("那个我家充电装插上枪绿灯一直亮着，车就是充不进电，EVC-7K")
    assert heard["fields"]["product_type"] == "充电桩"
    assert heard["diagnosis"]["kb_id"] == "EVC-BMS-COMM"
    assert {"heard": "充电装", "meant": "充电桩"} in heard["homophone_fixes"]
    sales = shared_preview("净水器滤芯多少钱一套，能不能寄给我")
    assert sales["diagnosis"]["no_match"] is True
    assert sales["fields"]["product_type"] == "净水器"


@pytest.fixture
def shared_preview(service: Service):
    def run(text: str) -> dict:
        r = service.client.post(
            "/api/v1/triage/preview", json={"text": text}, headers=service.headers("agent")
        )
        assert r.status_code == 200
        return r.json()

    return run


def test_bad_field_values_change_nothing(service: Service) -> None:
    c, h = service.client, service.headers("agent")
    t = _ticket(service)
    for fields in (
        {"latitude": 123.0},
        {"longitude": "east"},
        {"phone": ["1"]},
        {"address": "路" * 300},
    ):
        r = c.patch(f"/api/v1/tickets/{t['id']}", json={"fields": fields}, headers=h)
        assert r.status_code == 422, fields
        assert r.json()["error"]["code"] == "invalid_fields"
    ok = c.patch(
        f"/api/v1/tickets/{t['id']}",
        json={"fields": {"latitude": 30.27, "longitude": 120.15}},
        headers=h,
    )
    assert ok.status_code == 200 and ok.json()["location"]["latitude"] == 30.27
    assert len(c.get(f"/api/v1/tickets/{t['id']}/history", headers=h).json()["items"]) == 3
