"""Service chats as they come: export layouts, roles, and requests followed across a
conversation (split, gathered, corrected, withdrawn, or no repair at all)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import ApiError
from intake import chat_formats, wechat_import
from intake.chat_roles import CUSTOMER, RELAY, STAFF, TECHNICIAN, Roles

OWN = Path(__file__).resolve().parent.parent / "eval" / "data" / "imports"

WECOM_JSONL = "\n".join(
    json.dumps(r, ensure_ascii=False)
    for r in [
        {"msgid": "1", "action": "send", "from": "wmAbc1234567", "sender_name": "吕先生",
         "msgtime": 1772668800000, "msgtype": "text", "content": "空调外机嗡嗡响"},
        {"msgid": "2", "action": "send", "from": "u001", "sender_name": "张丽",
         "msgtime": 1772668860000, "msgtype": "image", "content": "[图片]"},
        {"msgid": "3", "action": "recall", "from": "u001", "sender_name": "张丽",
         "msgtime": 1772668870000, "msgtype": "revoke", "content": ""},
    ]
)  # fmt: skip


def test_roles_from_display_names() -> None:
    roles = Roles()
    assert roles.of("顾客-王女士") == roles.of("顾客-王女士")
    assert (roles.of("顾客-王女士").role, roles.of("顾客-王女士").name) == (CUSTOMER, "王女士")
    assert roles.of("客服-小李").role == STAFF
    assert roles.of("万达店-小陈").role == RELAY
    assert roles.of("阳光物业-刘管家").role == RELAY
    assert roles.of("张师傅").role == TECHNICIAN
    assert roles.of("电梯维保-何工").role == TECHNICIAN
    assert roles.of("物业客服-小叶").role == RELAY  # a property's desk, not ours
    assert roles.of("快乐每一天").role == CUSTOMER
    assert roles.of("u001", external=False).role == STAFF  # WeCom company userid
    assert Roles({"staff": ["小蜜蜂"]}).of("小蜜蜂-阿芳").role == STAFF
    with pytest.raises(ValueError):
        Roles({"boss": ["老板"]})


def test_export_layouts() -> None:
    pc = chat_formats.parse("2026-03-02 09:20:03 顾客-赵先生\n热水器打不着火\n\n")
    forward_a = chat_formats.parse(
        "群聊的聊天记录\n\n—————  2026-03-05  —————\n顾客-赵先生 03-05 09:12\n热水器打不着火\n"
        "顾客-赵先生撤回了一条消息\n"
    )
    forward_b = chat_formats.parse(
        "群聊的聊天记录\n—————  2026-03-05  —————\n顾客-赵先生：热水器打不着火\n地址：文一西路1号\n"
    )
    csv = chat_formats.parse(
        "msgtime,from,from_name,content\n1772668800000,wmA1234567,赵先生,坏了\n"
    )
    wecom = chat_formats.parse(WECOM_JSONL)
    assert [m.sender for m in pc + forward_a + forward_b] == ["顾客-赵先生"] * 3
    assert forward_a[0].text == "热水器打不着火" and forward_a[0].at.month == 3
    assert forward_b[0].text == "热水器打不着火\n地址：文一西路1号"  # a field label, no sender
    assert (csv[0].sender, csv[0].external, csv[0].line) == ("赵先生", True, 2)
    assert [(m.sender, m.text, m.external) for m in wecom] == [
        ("吕先生", "空调外机嗡嗡响", True),
        ("张丽", "", False),
    ]
    with pytest.raises(ApiError):
        chat_formats.parse("今天天气不错\n明天 10:00 见")


def test_conversation_is_followed(service) -> None:  # type: ignore[no-untyped-def]
    text = (OWN / "chat_author_store.txt").read_text(encoding="utf-8")
    reading = wechat_import.read_chat(wechat_import.parse(text))
    reqs = reading.requests
    # Three items of one numbered message, each its own request on its own line.
    assert [r.lines[0] for r in reqs[:3]] == [5, 6, 7]
    assert all("编号清单" in r.why[0] for r in reqs[:3])
    drafts = list(wechat_import.to_drafts(reqs, "store.txt", reading.skipped))
    assert "幺三九" in drafts[1].text and "王女士" not in drafts[1].text
    # The nameplate read by staff and the address a quarter of an hour later are gathered;
    # the corrected phone wins.
    heater = next(r for r in reqs if r.product_type == "热水器")
    said = "；".join(heater.texts())
    assert "JSQ-16" in said and "文一西路" in said
    from intake.prefilled import triage_prefilled

    draft = drafts[reqs.index(heater)]
    fields = triage_prefilled(draft.text, draft.given, draft.fallback).fields
    assert fields["phone"] == "15900112234" and fields["phones"] == ["15900112234"]
    assert any("客服回复" in w for w in heater.why)
    # The relayed request, withdrawn lock, the order and the cleaning appointment.
    assert {r.role for r in reqs} == {"relay", "customer"}
    kinds = {s.kind for s in reading.skipped}
    assert kinds == {"withdrawn", "order", "appointment"}
    assert not any(r.product_type == "智能门锁" for r in reqs)
    assert len(reqs) == 6
    skipped = [d for d in drafts if d.skip]
    assert len(skipped) == 3 and all(d.skip for d in skipped)


def test_technicians_chat_requests_and_an_item_withdrawn(service) -> None:  # type: ignore[no-untyped-def]
    text = (OWN / "chat_author_techs.txt").read_text(encoding="utf-8")
    reqs = wechat_import.detect(wechat_import.parse(text))
    # The dispatcher's order and a call a technician passes on are requests; work reported
    # done is not; item 1 of the store's list is withdrawn, item 2 stands.
    assert [(r.lines[0], r.role) for r in reqs] == [(7, "staff"), (15, "technician"), (22, "relay")]


def test_cli_report_lists_every_request_and_what_was_left_out(tmp_path: Path) -> None:
    from hotline.cli import app
    from tests.test_imports_cli import _workspace

    _workspace(tmp_path)
    report = tmp_path / "rows.jsonl"
    res = CliRunner().invoke(
        app, ["import", "wechat", str(OWN / "chat_author_store.txt"), "--report", str(report)]
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in report.read_text(encoding="utf-8").splitlines()]
    created = [r for r in rows if r["outcome"] == "created"]
    assert len(created) == 6 and all(r["why"] for r in created)
    assert sorted(r["why"][0] for r in rows if r["outcome"] == "skipped") == [
        "appointment",
        "order",
        "withdrawn",
    ]


def test_address_in_pieces_is_joined(service) -> None:  # type: ignore[no-untyped-def]
    texts = ["空调不制冷，我家在西湖区翠苑三区", "3幢2单元1202，电话13800001111"]
    assert wechat_import.joined_address(texts) == "西湖区翠苑三区3幢2单元1202"
    # One message's address is read as typed too: spaces between the parts dropped, a place
    # said in passing before the labelled one left out.
    assert wechat_import.joined_address(["住在阳光花园5栋2单元301", "电话13800001111"]) == (
        "阳光花园5栋2单元301"
    )
    said = ["12幢那台电梯不平", "地址 长蠡路 吴中万达对面 新家园 16栋 404"]
    assert wechat_import.joined_address(said) == "长蠡路吴中万达对面新家园16栋404"
    assert wechat_import.joined_address(["对 金阊区 金阊新城 彩香一村 11幢 305"]) == (
        "金阊区金阊新城彩香一村11幢305"
    )
    assert wechat_import.joined_address(["空调不制冷", "地址还是金阊新城那边吧？"]) is None
