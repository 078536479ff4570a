"""Excel/CSV and WeChat imports over real HTTP: messy sheets become pending-QC tickets, a
re-import creates nothing, bad files change nothing."""

import io
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import Service

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "imports"


def _upload(svc: Service, kind: str, name: str, data: bytes, **form: str) -> dict:
    r = svc.client.post(
        f"/api/v1/imports/{kind}",
        files={"file": (name, data)},
        data=form,
        headers=svc.headers("agent"),
    )
    assert r.status_code in (201, 202), r.text
    return r.json()


def _wait(client: TestClient, headers: dict, batch_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.get(f"/api/v1/imports/{batch_id}", headers=headers).json()
        if batch["status"] in ("done", "failed"):
            return batch
        time.sleep(0.2)
    raise AssertionError(f"import {batch_id} did not finish: {batch}")


def _tickets(svc: Service, channel: str) -> list[dict]:
    r = svc.client.get(
        "/api/v1/tickets", params={"channel": channel, "limit": 500}, headers=svc.headers("agent")
    )
    return sorted(r.json()["items"], key=lambda t: t["id"])


def _count_rows(table: str) -> int:
    from core.db import session_scope

    with session_scope() as db:
        return db.scalar(text(f"SELECT count(*) FROM {table}")) or 0


def test_messy_sheet_becomes_pending_qc_tickets_once(service: Service) -> None:
    data = (FIXTURES / "messy_sheet.xlsx").read_bytes()
    queued = _upload(service, "excel", "1月报修.xlsx", data)
    assert queued["status"] == "queued"  # a job on the durable queue
    batch = _wait(service.client, service.headers("agent"), queued["id"])
    assert batch["status"] == "done", batch
    assert (batch["created"], batch["skipped"], batch["failed"]) == (6, 3, 0)
    assert any("跟进人" in w for w in batch["warnings"])  # unknown column named
    reasons = {p["ref"]: p.get("reason") for p in batch["problems"]}
    assert reasons["row 5"] == "blank row"
    assert "no fault description" in reasons["row 8"]
    assert reasons["row 10"] == "totals row"
    phone_warning = next(p for p in batch["problems"] if p["ref"] == "row 9")
    assert "1380000333" in phone_warning["warnings"][0]

    tickets = _tickets(service, "excel")
    assert len(tickets) == 6
    assert {t["status"] for t in tickets} == {"pending_qc"}
    assert {t["source"] for t in tickets} == {"excel:1月报修.xlsx"}
    lock, ac1, ac2, elevator, charger, washer = tickets
    # the sheet's columns win and are spelled the KB's way (门锁 → 智能门锁, x3 → X3)
    assert lock["device"] == {
        "product_type": "智能门锁",
        "model": "X3",
        "hardware_id": None,
        "firmware": "2.3.1",
    }
    assert lock["customer"] == {"name": "张伟", "phone": "13812345678"}
    assert lock["location"]["region"] == "西湖片区"
    assert lock["reported_at"].startswith("2026-01-04T16:00")  # 2026/1/5 in Asia/Shanghai
    assert lock["diagnosis"]["kb_id"] == "LOCK-FP-231"
    # two faults in one merged-date row: two tickets, date and region from the merged cells
    assert ac1["fault"]["description"] == "不制冷，显示E1"
    assert ac2["fault"]["description"] == "外机有异响"
    assert ac1["location"]["region"] == ac2["location"]["region"] == "西湖片区"
    assert ac1["reported_at"] == ac2["reported_at"] == lock["reported_at"]
    assert ac1["customer"]["phone"] == "057188886666"
    assert ac1["fault"]["fault_code"] == "E1"
    assert elevator["reported_at"].startswith("2026-01-05T16:00")  # Excel serial 46028
    assert elevator["customer"]["phone"] == "13900001111"  # a number cell
    assert charger["reported_at"].startswith("2026-01-06T16:00")  # 1月7日
    assert washer["customer"]["phone"] is None
    history = service.client.get(
        f"/api/v1/tickets/{lock['id']}/history", headers=service.headers("agent")
    ).json()["items"]
    # Triaged (fields and diagnosis filled) but held: nothing acts on it before its QC.
    assert [h["to_status"] for h in history][:2] == ["new", "pending_qc"]

    rows = service.client.get(
        f"/api/v1/imports/{batch['id']}/rows", headers=service.headers("agent")
    ).json()["items"]
    assert [r["ref"] for r in rows][:4] == ["row 3", "row 4 #1", "row 4 #2", "row 5"]
    assert rows[0]["ticket"] == lock["number"]

    # the same content again (another file name) creates nothing
    again = _upload(service, "excel", "copy.xlsx", data, wait="true")
    assert (again["created"], again["skipped"]) == (0, 9)
    assert all(
        "duplicate" in p["reason"]
        for p in again["problems"]
        if p["ref"] not in ("row 5", "row 8", "row 10")
    )
    assert len(_tickets(service, "excel")) == 6


def test_gbk_csv_with_mapping_and_utf8_tsv(service: Service) -> None:
    mapping = '{"问题": "description", "住址": "address"}'
    gbk = _upload(
        service,
        "excel",
        "legacy.csv",
        (FIXTURES / "legacy_gbk.csv").read_bytes(),
        mapping=mapping,
        wait="true",
    )
    assert (gbk["created"], gbk["skipped"]) == (4, 1), gbk
    utf8 = _upload(
        service, "excel", "utf8.csv", (FIXTURES / "sheet_utf8.csv").read_bytes(), wait="true"
    )
    assert utf8["created"] == 2
    by_phone = {t["customer"]["phone"]: t for t in _tickets(service, "excel")}
    heater = by_phone["18600001234"]
    assert heater["device"]["product_type"] == "热水器"
    assert heater["fault"]["fault_code"] == "E1"
    assert heater["location"]["address"] == "杭州市萧山区金城路200号"
    assert heater["reported_at"].startswith("2026-01-09T16:00")  # 2026.1.10
    assert by_phone["17611112222"]["device"]["hardware_id"] == "EL20260002"
    assert by_phone["13500006789"]["reported_at"].startswith("2026-01-12T16:00")  # serial text


def test_bad_files_are_rejected_and_change_nothing(service: Service) -> None:
    headers = service.headers("agent")
    wb = openpyxl.Workbook()
    wb.active.append(["客户电话", "地址", "备注"])
    wb.active.append(["13800001111", "杭州", "x"])
    no_description = io.BytesIO()
    wb.save(no_description)
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    # An encrypted OOXML package is an OLE compound file holding an EncryptionInfo stream.
    encrypted = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "EncryptionInfo".encode("utf-16-le")
    )
    legacy = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "Workbook".encode("utf-16-le")
    cases = [
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not_a_spreadsheet"),
        ("report.docx", docx.getvalue(), "not_a_spreadsheet"),
        ("secret.xlsx", encrypted, "password_protected"),
        ("old.xls", legacy, "legacy_xls"),
        ("nodesc.xlsx", no_description.getvalue(), "unknown_columns"),
        ("notes.txt", "随便写的一段话，没有表头".encode(), "not_a_spreadsheet"),
        ("empty.csv", b"", "empty_file"),
    ]
    for name, data, code in cases:
        r = service.client.post(
            "/api/v1/imports/excel", files={"file": (name, data)}, headers=headers
        )
        assert r.status_code == 422, (name, r.text)
        assert r.json()["error"]["code"] == code, (name, r.json())
    assert (
        "password"
        in service.client.post(
            "/api/v1/imports/excel", files={"file": ("s.xlsx", encrypted)}, headers=headers
        ).json()["error"]["message"]
    )
    r = service.client.post(
        "/api/v1/imports/wechat",
        files={"file": ("chat.txt", "只是一段文字".encode())},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_a_chat_export"
    r = service.client.post(
        "/api/v1/imports/excel",
        files={"file": ("a.csv", b"a,b\n1,2\n")},
        data={"mapping": '{"a": "nonsense"}'},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_mapping"
    # A field that is not a name at all (found by the contract test: it was a 500).
    r = service.client.post(
        "/api/v1/imports/excel",
        files={"file": ("a.csv", b"a,b\n1,2\n")},
        data={"mapping": '{"a": {"x": 1}}'},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_mapping"
    assert _count_rows("import_batches") == 0
    assert _count_rows("tickets") == 0
    assert service.client.get("/api/v1/imports/999", headers=headers).status_code == 404
    assert (
        service.client.post(
            "/api/v1/imports/excel",
            files={"file": ("x.csv", b"a,b\n")},
            headers=service.headers("technician"),
        ).status_code
        == 403
    )


def test_wechat_export_requests_gathered_and_linked(service: Service) -> None:
    batch = _upload(
        service,
        "wechat",
        "维修群.txt",
        (FIXTURES / "wechat_group.txt").read_bytes(),
        wait="true",
    )
    assert batch["created"] == 4, batch
    tickets = {t["customer"]["name"]: t for t in _tickets(service, "wechat")}
    assert set(tickets) == {"李娜", "王强", "孙丽", "周杰"}  # no chit-chat, no price question
    ac = tickets["李娜"]
    assert ac["status"] == "pending_qc" and ac["source"] == "wechat:维修群.txt"
    assert ac["device"]["model"] == "KFR-35GW" and ac["fault"]["fault_code"] == "E1"
    assert ac["customer"]["phone"] == "13812345678"  # from a later message
    assert ac["location"]["address"] == "杭州市西湖区文三路100号3栋502"  # from another one
    assert [m["line"] for m in ac["transcript"]] == [4, 8, 12]
    assert {m["speaker"] for m in ac["transcript"]} == {"李娜"}
    lock = tickets["王强"]
    assert lock["diagnosis"]["kb_id"] == "LOCK-FP-231"
    assert lock["customer"]["phone"] == "13900001111"
    assert tickets["孙丽"]["device"]["hardware_id"] == "EL20260001"

    pc = _upload(
        service, "wechat", "pc.txt", (FIXTURES / "wechat_pc.txt").read_bytes(), wait="true"
    )
    assert pc["created"] == 2, pc
    charger = next(t for t in _tickets(service, "wechat") if t["customer"]["name"] == "刘洋")
    assert charger["customer"]["phone"] == "15800001111"
    assert [m["line"] for m in charger["transcript"]] == [1, 5]  # not the quoting neighbour
    again = _upload(
        service, "wechat", "维修群.txt", (FIXTURES / "wechat_group.txt").read_bytes(), wait="true"
    )
    # The four duplicates, and the filter order reported again (no repair, never a ticket).
    assert again["created"] == 0 and again["skipped"] == 5


def test_template_keeps_old_columns_and_adds_two(shared_service: Service) -> None:
    r = shared_service.client.get(
        "/api/v1/imports/template", headers=shared_service.headers("agent")
    )
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    header = [c.value for c in ws[1]]
    for old in ("报修日期", "片区", "客户电话", "地址", "产品类型", "型号", "故障描述"):
        assert old in header
    assert header[-2:] == ["设备编号", "故障码"]


def test_second_appliance_of_a_sender_keeps_contact_details(shared_service: Service) -> None:
    chat = (
        "2026-02-03 09:02:45 赵敏\n冰箱冷冻室结了好厚的冰，抽屉都拉不开了，BCD-450，显示E6\n"
        "2026-02-03 09:03:10 赵敏\n地址是杭州市滨江区长河路5号2单元602，电话13900002222\n"
        "2026-02-03 09:05:00 周大爷\n我家狗把遥控器咬坏了哈哈哈\n"
        "2026-02-03 09:10:00 赵敏\n还有家里洗衣机脱水的时候晃得特别厉害，显示UE\n"
    )
    batch = _upload(shared_service, "wechat", "two.txt", chat.encode(), wait="true")
    assert batch["created"] == 2, batch  # the dog's remote is no repair request
    fridge, washer = [
        t for t in _tickets(shared_service, "wechat") if t["source"] == "wechat:two.txt"
    ]
    assert washer["device"]["product_type"] == "洗衣机" and washer["fault"]["fault_code"] == "UE"
    assert washer["customer"] == fridge["customer"] == {"name": "赵敏", "phone": "13900002222"}
    assert washer["location"]["address"] == "杭州市滨江区长河路5号2单元602"
    assert [m["line"] for m in washer["transcript"]] == [7]


CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _screenshot() -> bytes:
    """A group-chat screen: time stamp, names above left bubbles, the owner's right bubble."""
    from PIL import Image, ImageDraw, ImageFont

    big, small = ImageFont.truetype(str(CJK_FONT), 28), ImageFont.truetype(str(CJK_FONT), 20)
    img = Image.new("RGB", (750, 700), (237, 237, 237))
    draw = ImageDraw.Draw(img)
    draw.text((345, 20), "09:02", font=small, fill=(150, 150, 150))
    y = 60
    for who, said in (
        ("李娜", "我家空调不制冷了，型号KFR-35GW，显示E1"),
        (None, "收到，请问您的地址和电话？"),
        ("李娜", "地址是杭州市西湖区文三路100号3栋502"),
        ("李娜", "电话13812345678"),
    ):
        if who:
            draw.text((90, y), who, font=small, fill=(120, 120, 120))
            draw.rectangle((90, y + 28, 690, y + 78), fill=(255, 255, 255))
            draw.text((100, y + 36), said, font=big, fill=(0, 0, 0))
        else:
            width = 28 * len(said)
            draw.rectangle((660 - width, y + 28, 660, y + 78), fill=(149, 236, 105))
            draw.text((670 - width, y + 36), said, font=big, fill=(0, 0, 0))
        y += 110
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.skipif(not CJK_FONT.exists(), reason="needs a CJK font to draw the screenshot")
def test_chat_screenshot_is_read_offline(shared_service: Service) -> None:
    batch = _upload(shared_service, "wechat", "群截图.png", _screenshot(), wait="true")
    assert batch["created"] == 1, batch
    (ticket,) = [
        t for t in _tickets(shared_service, "wechat") if t["source"] == "wechat:群截图.png"
    ]
    assert ticket["device"]["model"] == "KFR-35GW" and ticket["fault"]["fault_code"] == "E1"
    assert ticket["customer"] == {"name": "李娜", "phone": "13812345678"}
    assert ticket["location"]["address"] == "杭州市西湖区文三路100号3栋502"
    assert {m["speaker"] for m in ticket["transcript"]} == {"李娜"}  # not the owner's reply
