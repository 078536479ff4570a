"""Diagnosis on a company's own KB: severity scales, KB product types, confidence fitted on the
KB itself, refits on publish and on verdicts, and why a call did not match."""

import json
import time
from pathlib import Path

import pytest

from tests.conftest import Service, configure, fresh_database


def _entry(i: str, product: str, title: str, symptoms: list[str], **extra: object) -> dict:
    return {
        "id": i,
        "title": title,
        "product_type": product,
        "symptoms": symptoms,
        "root_cause": title,
        "resolution": "上门检修",
        "severity": extra.pop("severity", "P3"),
        **extra,
    }


# A small KB of another trade (office equipment), its severity in the company's P1–P4 scale.
OFFICE_KB = [
    _entry(
        "PR-JAM",
        "商用打印机",
        "进纸辊磨损导致卡纸",
        ["频繁卡纸", "纸张进到一半就卡住", "进纸时有咔咔声", "纸被卷皱"],
    ),
    _entry(
        "PR-FADE",
        "商用打印机",
        "硒鼓碳粉不足导致打印发白",
        ["打印颜色很淡", "字迹发白看不清", "打出来一条一条的白道", "提示碳粉不足"],
        severity="P4",
    ),
    _entry(
        "PR-NET",
        "商用打印机",
        "网卡固件缺陷导致掉线",
        ["电脑找不到打印机", "网络打印经常脱机", "重启后能用一会儿又断开", "无线连接失败"],
        firmware=["4.2.0"],
    ),
    _entry(
        "PR-FUSER",
        "商用打印机",
        "定影器加热故障",
        ["纸出来一摸字就掉", "报错E52", "预热很久不能打印", "定影单元发出焦味"],
        fault_code="E52",
        severity="P2",
    ),
    _entry(
        "PJ-LAMP",
        "投影仪",
        "灯泡寿命到期",
        ["画面越来越暗", "开机后灯不亮", "提示更换灯泡", "投出来颜色发黄"],
    ),
    _entry(
        "PJ-FAN",
        "投影仪",
        "散热风扇故障导致过热关机",
        ["用一会儿就自动关机", "风扇声音特别大", "机身很烫", "温度指示灯闪红"],
        severity="P2",
    ),
    _entry(
        "PJ-FOCUS",
        "投影仪",
        "镜头对焦电机卡滞",
        ["画面怎么调都是模糊的", "对焦按钮没反应", "调焦时有异响", "画面边缘虚"],
    ),
    _entry(
        "PJ-HDMI",
        "投影仪",
        "HDMI接口松动",
        ["接电脑没有信号", "画面时有时无", "提示无输入信号", "换线也不行"],
        severity="一级",
    ),
]


def _jsonl(entries: list[dict]) -> bytes:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries).encode()


@pytest.fixture
def office_kb(tmp_path: Path):
    """A fresh SQLite database holding the office-equipment KB, published, no fit yet."""
    from core.db import session_scope
    from knowledge_base import service as kb

    configure(tmp_path / "data", fresh_database("sqlite", tmp_path))
    with session_scope() as db:
        report = kb.import_entries(
            db=db, data=_jsonl(OFFICE_KB), fmt="jsonl", actor="test", publish=True
        )
    assert report.ok, report.errors
    return report


def test_severity_in_the_companys_scale_is_read_and_reported(office_kb) -> None:
    from core.db import session_scope
    from knowledge_base.models import KBEntry

    assert office_kb.severity_mapping == {
        "P2": "high",
        "P3": "medium",
        "P4": "low",
        "一级": "critical",
    }
    with session_scope() as db:
        assert db.get(KBEntry, "PJ-HDMI").published["severity"] == "critical"


def test_unknown_severity_names_the_row_and_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings
    from knowledge_base.interchange import read_rows, validate_rows

    bad = [_entry("A-1", "x", "t", ["s"], severity="P2"), _entry("A-2", "x", "t", ["s"])]
    bad[1]["severity"] = "很急"
    good, errors = validate_rows(read_rows(_jsonl(bad), "jsonl"))
    assert [e.severity for _, e in good] == ["high"]
    assert errors[0]["row"] == 2 and "很急" in errors[0]["problem"]
    # A company's own label is configurable.
    monkeypatch.setenv("HOTLINE_KB_SEVERITY_MAP", json.dumps({"很急": "critical"}))
    get_settings.cache_clear()
    try:
        good, errors = validate_rows(read_rows(_jsonl(bad), "jsonl"))
        assert not errors and good[1][1].severity == "critical"
    finally:
        monkeypatch.delenv("HOTLINE_KB_SEVERITY_MAP")
        get_settings.cache_clear()


def test_product_types_come_from_the_kb() -> None:
    from triage.entities import Vocabulary, extract

    rules = {"热水器": "热水器", "燃气热水器": "热水器", "电热水器": "热水器", "空调": "空调"}
    entries = [
        {"id": "1", "product_type": "燃气热水器"},
        {"id": "2", "product_type": "电热水器"},
        {"id": "3", "product_type": "商用洗碗机"},
    ]
    vocab = Vocabulary.build(entries, rules)
    # The KB's own types are kept apart, a type the KB lacks (空调) is never invented, and the
    # short name of a type is understood.
    assert extract("家里燃气热水器打不着火", vocab)["product_type"] == "燃气热水器"
    assert extract("电热水器漏电跳闸", vocab)["product_type"] == "电热水器"
    assert extract("空调不制冷", vocab)["product_type"] is None
    assert extract("店里洗碗机洗不干净", vocab)["product_type"] == "商用洗碗机"


def test_a_kb_fitted_confidence_diagnoses_and_refuses(office_kb) -> None:
    from tickets.calibration import refit
    from triage.service import triage_text

    row = refit(trigger="manual")
    assert row is not None and row.kb_entries == len(OFFICE_KB) and row.pseudo_calls > 0
    assert 0 < row.threshold < 1 and row.verdicts == 0
    # Fitted already on this KB: nothing new to learn.
    assert refit(trigger="publish") is None

    hit = triage_text("你好，我们办公室那台打印机，打出来的字淡得几乎看不见了")
    assert hit.diagnosis["kb_id"] == "PR-FADE"
    assert "fitted on the KB" in hit.diagnosis["calibration"]
    # Named no product: the confident diagnosis names it.
    quiet = triage_text("开会的时候那个机器投出来一片模糊，怎么调焦都不清楚")
    assert quiet.diagnosis["kb_id"] == "PJ-FOCUS"
    assert quiet.fields["product_type"] == "投影仪"
    assert quiet.diagnosis["product_source"] == "diagnosis"
    assert hit.diagnosis["product_source"] == "said"

    miss = triage_text("我想开一张上个月维修费的发票")
    assert miss.diagnosis["no_match"] is True
    reason = miss.diagnosis["no_match_reason"]
    assert reason["confidence"] < reason["threshold"] == miss.diagnosis["threshold"]


def test_a_call_naming_two_product_types_takes_the_one_its_fault_is_about(office_kb) -> None:
    from tickets.calibration import refit
    from triage.service import triage_text

    refit(trigger="manual")
    got = triage_text("会议室投影仪旁边那台打印机老是卡纸，纸进到一半就卡住，进纸时咔咔响")
    assert got.diagnosis["kb_id"] == "PR-JAM"
    # 投影仪 was said first; the printer's paper jam is what the call is about.
    assert got.fields["product_type"] == "商用打印机"
    assert got.diagnosis["product_source"] == "said"
    assert "product_type 商用打印机 matches" in got.diagnosis["candidates"][0]["why"]


def test_a_new_kb_takes_the_cut_chosen_across_trades_with_the_check(
    office_kb, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    from core.settings import get_settings
    from knowledge_base import live_index
    from triage import calibration, fault_report

    shipped = json.loads(get_settings().fault_report_file.read_text())
    encoder = get_settings().embedding_model
    assert 0 < shipped["encoders"][encoder]["no_match_cut"] < 0.5
    own = tmp_path / "fault_report.json"
    monkeypatch.setenv("HOTLINE_FAULT_REPORT_FILE", str(own))
    shipped["encoders"][encoder]["no_match_cut"] = 0.123
    own.write_text(json.dumps(shipped))
    get_settings.cache_clear()
    fit = calibration.fit(live_index.get_index(), [])
    assert fit.threshold == 0.123
    assert fit.report["in_kb_calls"] > 0  # the pseudo-calls' figures at that cut

    # A check without a cut: the cut is chosen on the KB's pseudo-calls.
    del shipped["encoders"][encoder]["no_match_cut"]
    own.write_text(json.dumps(shipped))
    fault_report.load.cache_clear()
    chosen = calibration.fit(live_index.get_index(), [])
    assert 0 < chosen.threshold < 1 and chosen.threshold != 0.123


def test_a_no_match_verdict_the_kb_has_covered_since_is_dropped(office_kb) -> None:
    from datetime import UTC, datetime, timedelta

    from knowledge_base import live_index
    from triage import calibration

    now = datetime.now(UTC)
    text = "打印机打出来的字淡得几乎看不见"
    index = live_index.get_index()
    published = {"PR-FADE": now}
    # Said "no match" before PR-FADE was published: the entry covers the call now.
    stale = calibration.Verdict(text, None, now - timedelta(days=1))
    assert calibration.fit(index, [stale], published).verdicts == 0
    # Said after it was published: the agent's word stands.
    fresh = calibration.Verdict(text, None, now + timedelta(minutes=1))
    assert calibration.fit(index, [fresh], published).verdicts == 1


def _wait_for(check, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    return check()


def test_publish_refits_and_the_curator_sees_it(service: Service) -> None:
    headers = service.headers("knowledge_engineer")
    got = service.client.get("/api/v1/triage/calibration", headers=headers)
    assert got.status_code == 200, got.text
    first = got.json()["current"]
    entry = _entry("FAN-NOISE-01", "吊扇", "吊扇扇叶松动异响", ["吊扇转起来咔哒响", "扇叶晃"])
    assert service.client.post("/api/v1/kb/entries", json=entry, headers=headers).status_code == 201
    admin = service.headers("admin")  # publishes alone; a curator would need a second person
    r = service.client.post("/api/v1/kb/entries/FAN-NOISE-01/publish", json={}, headers=admin)
    assert r.status_code == 200

    def refitted():
        cur = service.client.get("/api/v1/triage/calibration", headers=headers).json()["current"]
        return cur if cur["id"] != first["id"] else None

    current = _wait_for(refitted)
    assert current and current["trigger"] == "publish"
    assert current["kb_entries"] == first["kb_entries"] + 1
    # Agents do not see the model's internals.
    assert (
        service.client.get("/api/v1/triage/calibration", headers=service.headers("agent"))
    ).status_code == 403


def test_verdicts_refit_the_confidence(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("HOTLINE_CALIBRATION_REFIT_VERDICTS", "2")
    get_settings.cache_clear()
    agent = service.headers("agent")
    texts = ["门锁按指纹没反应，固件2.3.1", "想问下你们的净水器滤芯多少钱", "空调不制冷了"]
    for text in texts:
        t = service.client.post("/api/v1/intake/text", json={"text": text}, headers=agent).json()
        body = {"no_match": True} if "多少钱" in text else {}
        r = service.client.post(f"/api/v1/tickets/{t['id']}/review", json=body, headers=agent)
        assert r.status_code == 200, r.text
    headers = service.headers("knowledge_engineer")

    def with_verdicts():
        cur = service.client.get("/api/v1/triage/calibration", headers=headers).json()["current"]
        return cur if cur["verdicts"] >= 2 else None

    current = _wait_for(with_verdicts)
    assert current and current["trigger"] == "verdicts"
    get_settings.cache_clear()
