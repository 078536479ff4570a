"""Labelled data for `hotline eval imports`: messy sheets and chat exports rendered from known
true values (so the labels are the values, not what Hotline reads), written once to
eval/data/imports/ and committed. Run `python -m eval.import_data` to regenerate.

Sheets: dates in seven spellings (incl. Excel serials), phones with spaces/dashes/+86 or as
numbers, product synonyms, model spellings (kfr35gw), merged date/region cells, two faults in one
cell, blank/totals/repeated-header rows. Chats: several customers' requests interleaved with
staff replies and chit-chat (incl. price questions and "坏了" that is no repair request), details
spread over several messages, three export layouts.
"""

import csv
import io
import json
import random
from datetime import date, datetime, timedelta
from typing import Any

import openpyxl

from core.settings import PACKAGE_ROOT

OUT = PACKAGE_ROOT / "eval" / "data" / "imports"
KB = PACKAGE_ROOT / "knowledge_base" / "demo" / "kb.jsonl"
SYNONYMS = {
    "智能门锁": ["门锁", "智能锁", "指纹锁", "智能门锁"],
    "充电桩": ["充电桩", "家用桩", "充电桩"],
    "空调": ["空调", "挂机", "柜机", "空调"],
    "电梯": ["电梯", "客梯"],
    "热水器": ["热水器", "燃气热水器"],
    "洗衣机": ["洗衣机", "滚筒洗衣机"],
    "冰箱": ["冰箱", "电冰箱"],
    "扫地机器人": ["扫地机器人", "扫地机"],
    "净水器": ["净水器", "净水机"],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
]
DISTRICTS = [("杭州市", "西湖区"), ("杭州市", "滨江区"), ("杭州市", "拱墅区"), ("杭州市", "余杭区")]
ROADS = ["文三路", "天目山路", "江南大道", "长河路", "莫干山路", "文一西路", "解放路", "古墩路"]
ESTATES = ["翠苑小区", "金色家园", "阳光花园", "城西公寓", "钱江新村"]
REGIONS = ["西湖片区", "滨江片区", "拱墅片区", "余杭片区", "城东"]
CHIT_CHAT = [
    "大家早上好",
    "今天降温了大家注意保暖",
    "哈哈哈",
    "周末一起去爬山吗",
    "收到谢谢",
    "请问你们的净水器滤芯多少钱？",
    "你们周末几点上班？",
    "我想买一台新空调，有什么活动吗",
    "我家狗把拖鞋咬坏了哈哈",
    "师傅昨天来修得很好，点赞",
    "[图片]",
    "[表情]",
    "发票怎么开？",
    "有没有人知道附近哪里停车方便",
    "上次的问题已经好了，谢谢师傅",
]
STAFF_LINES = ["收到，请问您的地址？", "好的，请留一下电话", "已登记，稍后安排师傅", "收到"]


def kb_entries() -> list[dict[str, Any]]:
    """The demo KB's entries (what the synthetic requests are about)."""
    return [json.loads(line) for line in KB.read_text(encoding="utf-8").splitlines() if line]


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"


def _address(rng: random.Random) -> str:
    city, district = rng.choice(DISTRICTS)
    if rng.random() < 0.5:
        return f"{city}{district}{rng.choice(ROADS)}{rng.randint(1, 300)}号"
    unit = f"{rng.randint(1, 20)}栋{rng.randint(1, 3)}单元{rng.randint(101, 1802)}"
    return f"{city}{district}{rng.choice(ESTATES)}{unit}"


def _code_in(text: str, entry: dict[str, Any]) -> str | None:
    """The entry's fault code when the text itself says it (some symptoms are 显示E3)."""
    code = entry.get("fault_code")
    return code if code and code in text else None


def synthetic_request(rng: random.Random, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A true request: what the customer has and what is wrong."""
    entry = rng.choice([e for e in entries if e["models"]])
    code = entry.get("fault_code")
    said = _code_in(symptom := rng.choice(entry["symptoms"]), entry)
    return {
        "product_type": entry["product_type"],
        "model": rng.choice(entry["models"]),
        "symptom": symptom,
        "fault_code": said or (code if code and rng.random() < 0.6 else None),
        "phone": _phone(rng),
        "address": _address(rng),
        "customer_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
        "hardware_id": f"SN{rng.randint(10**7, 10**8 - 1)}" if rng.random() < 0.4 else None,
        "entry": entry,
    }


def date_cell(rng: random.Random, day: date, xlsx: bool) -> Any:
    """The report date as an old sheet writes it, in one of its many styles."""
    style = rng.randrange(7 if xlsx else 6)
    if style == 0:
        return f"{day.year}/{day.month}/{day.day}"
    if style == 1:
        return day.isoformat()
    if style == 2:
        return f"{day.month}月{day.day}日"
    if style == 3:
        return f"{day.year}.{day.month}.{day.day}"
    if style == 4:
        return f"{day.year}年{day.month}月{day.day}日"
    if style == 5:
        return str((day - date(1899, 12, 30)).days)  # a serial typed or exported as text
    return datetime(day.year, day.month, day.day, rng.randint(8, 18), 0)


def phone_cell(rng: random.Random, phone: str, xlsx: bool) -> Any:
    """The phone number as an old sheet writes it (spaces, dashes, a number cell …)."""
    style = rng.randrange(5 if xlsx else 4)
    if style == 0:
        return phone
    if style == 1:
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    if style == 2:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if style == 3:
        return f"+86 {phone}"
    return int(phone)


def model_cell(rng: random.Random, model: str) -> str:
    """The model as typed by hand: as is, lower-case, or without its dash."""
    style = rng.randrange(3)
    return model if style == 0 else model.lower() if style == 1 else model.replace("-", "")


def sheet_rows(
    rng: random.Random, n: int, xlsx: bool
) -> tuple[list[list[Any]], list[dict], list[tuple[int, int]]]:
    """Data rows (below a header), the labels of the tickets they must become, and the
    merged date/region runs (first row index, length)."""
    entries = kb_entries()
    rows: list[list[Any]] = []
    labels: list[dict] = []
    merges: list[tuple[int, int]] = []  # (first data row index, length) of merged date/region
    day = date(2026, 1, 5)
    i = 0
    while i < n:
        group = rng.choice([1, 1, 1, 2, 3])
        region = rng.choice(REGIONS)
        date_value = date_cell(rng, day, xlsx)
        if group > 1 and xlsx:
            merges.append((len(rows), group))
        for g in range(group):
            req = synthetic_request(rng, entries)
            faults = [req["symptom"]]
            if rng.random() < 0.15:
                other = rng.choice([s for s in req["entry"]["symptoms"] if s != req["symptom"]])
                faults.append(other)
            said_code = req["fault_code"]
            code_cell = said_code.lower() if said_code and rng.random() < 0.5 else None
            if said_code and not code_cell and said_code not in faults[0]:
                faults[0] = f"{faults[0]}，显示{said_code}"
            description = faults[0] if len(faults) == 1 else f"1.{faults[0]} 2.{faults[1]}"
            synonym = rng.choice(SYNONYMS[req["product_type"]])
            merged_away = xlsx and g > 0
            rows.append(
                [
                    len(labels) + 1,
                    None if merged_away else date_value,
                    None if merged_away else region,
                    req["customer_name"],
                    phone_cell(rng, req["phone"], xlsx),
                    req["address"],
                    synonym,
                    model_cell(rng, req["model"]),
                    description,
                    req["hardware_id"],
                    code_cell,
                ]
            )
            row_no = len(rows) + 1  # the header is row 1
            for k, fault in enumerate(faults, start=1):
                labels.append(
                    {
                        "ref": f"row {row_no}" if len(faults) == 1 else f"row {row_no} #{k}",
                        "fields": {
                            "reported_at": day.isoformat(),
                            "region": region,
                            "customer_name": req["customer_name"],
                            "phone": req["phone"],
                            "address": req["address"],
                            "product_type": req["product_type"],
                            "model": req["model"],
                            "fault_code": said_code
                            if k == 1 or code_cell
                            else _code_in(fault, req["entry"]),
                            "hardware_id": req["hardware_id"],
                            "description": fault,
                        },
                    }
                )
            i += 1
        noise = rng.random()
        if noise < 0.05:
            rows.append([None] * 11)
        elif noise < 0.08:
            rows.append([None, date_value, region, "", "", "", "", "", "", "", ""])
        day += timedelta(days=rng.choice([0, 0, 1]))
    rows.append(["合计", None, None, None, None, None, None, None, None, None, None])
    return rows, labels, merges


HEADER = "序号 报修日期 片区 客户姓名 客户电话 地址 产品类型 型号 故障描述 设备编号 故障码".split()
CSV_HEADER = (
    "序号 日期 区域 联系人 联系电话 安装地址 产品 机型 报修内容 设备唯一码 故障代码".split()
)


def write_sheets(rng: random.Random) -> None:
    """An .xlsx (title row, merges) and a GBK .csv with other column names, with labels."""
    rows, labels, merges = sheet_rows(rng, 70, xlsx=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2026年1月 报修登记（手工表）"])
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    for first, length in merges:
        for col in (2, 3):
            ws.merge_cells(
                start_row=first + 3, start_column=col, end_row=first + 2 + length, end_column=col
            )
    wb.save(OUT / "sheet_labelled.xlsx")
    for label in labels:  # the title row shifts every data row down by one
        ref = label["ref"].split()
        ref[1] = str(int(ref[1]) + 1)
        label["ref"] = " ".join(ref)
    csv_rows, csv_labels, _ = sheet_rows(rng, 50, xlsx=False)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows)
    (OUT / "sheet_labelled_gbk.csv").write_bytes(buf.getvalue().encode("gbk"))
    with (OUT / "sheet_labels.jsonl").open("w", encoding="utf-8") as fh:
        for file, items in (
            ("sheet_labelled.xlsx", labels),
            ("sheet_labelled_gbk.csv", csv_labels),
        ):
            for label in items:
                fh.write(json.dumps({"file": file, **label}, ensure_ascii=False) + "\n")


def _customer_messages(
    rng: random.Random, req: dict[str, Any], named: bool
) -> tuple[list[str], str | None]:
    """A customer's request spread over one to three messages in varied wording, and the name
    the messages give (a sender without a real display name says 我是王先生)."""
    product = rng.choice(SYNONYMS[req["product_type"]])
    code = req["fault_code"]
    symptom = req["symptom"] + (f"，显示{code}" if code and code not in req["symptom"] else "")
    opener = rng.choice(
        [
            f"我家{product}{symptom}，型号{req['model']}",
            f"你好，{product}坏了，{symptom}，型号是{req['model']}",
            f"{product}有问题，{symptom}，{req['model']}的，麻烦派个师傅",
            f"师傅，我们的{product}{symptom}，型号{req['model']}，能来修一下吗",
        ]
    )
    if req["hardware_id"]:
        opener += f"，设备编号{req['hardware_id']}"
    said = None if named else f"{req['customer_name'][0]}{rng.choice(['先生', '女士'])}"
    name = f"我是{said}，" if said else ""
    address, phone = f"地址是{req['address']}", f"电话{req['phone']}"
    style = rng.randrange(3)
    if style == 0:
        return [f"{opener}。{name}{address}，{phone}"], said
    if style == 1:
        return [opener, f"{name}{address}，{phone}"], said
    return [opener, name + address, phone], said


def write_chats(rng: random.Random, n_chats: int = 6) -> None:
    """Chat exports with interleaved requests and their labels."""
    entries = kb_entries()
    labels = []
    for c in range(n_chats):
        layout = c % 3
        start = datetime(2026, 1, 5 + c, 8, 30)
        events: list[tuple[datetime, str, str, int | None]] = []  # at, sender, text, request
        requests = []
        nicknames = ["阳光小屋", "Lily", "老街坊", "晴天", "快乐每一天", "Tom"]
        for r in range(rng.randint(5, 8)):
            req = synthetic_request(rng, entries)
            named = rng.random() < 0.6
            sender = req["customer_name"] if named else f"{rng.choice(nicknames)}{r}"
            at = start + timedelta(minutes=rng.randint(0, 240))
            messages, said = _customer_messages(rng, req, named)
            for k, text in enumerate(messages):
                events.append((at + timedelta(minutes=3 * k + rng.randint(0, 2)), sender, text, r))
                if k == 0 and rng.random() < 0.5:
                    reply = rng.choice(STAFF_LINES)
                    events.append((at + timedelta(minutes=1), "客服小王", reply, None))
            name = req["customer_name"] if named else said
            requests.append((sender, req, name))
        for _ in range(rng.randint(8, 14)):
            who = rng.choice(["路人甲", "周大爷", "小美", "物业老陈", "客服小王"])
            at = start + timedelta(minutes=rng.randint(0, 260))
            events.append((at, who, rng.choice(CHIT_CHAT), None))
        events.sort(key=lambda e: e[0])
        lines: list[str] = []
        first_line: dict[int, int] = {}
        for at, sender, text, r in events:
            if layout == 0:
                lines.append(f"{at:%Y-%m-%d %H:%M:%S} {sender}")
                line_no = len(lines)
                lines.append(text)
            elif layout == 1:
                lines.append(f"{sender} {at:%Y-%m-%d %H:%M}")
                line_no = len(lines)
                lines.append(text)
            else:
                lines.append(f"[{at:%Y-%m-%d %H:%M}] {sender}: {text}")
                line_no = len(lines)
            if r is not None and r not in first_line:
                first_line[r] = line_no
        file = f"chat_{c + 1}.txt"
        data = "\n".join(lines) + "\n"
        (OUT / file).write_bytes(data.encode("gbk" if c % 2 else "utf-8"))
        for r, (sender, req, name) in enumerate(requests):
            labels.append(
                {
                    "file": file,
                    "sender": sender,
                    "first_line": first_line[r],
                    "fields": {
                        "product_type": req["product_type"],
                        "model": req["model"],
                        "fault_code": req["fault_code"],
                        "phone": req["phone"],
                        "address": req["address"],
                        "customer_name": name,
                        "hardware_id": req["hardware_id"],
                    },
                }
            )
    with (OUT / "chat_labels.jsonl").open("w", encoding="utf-8") as fh:
        for label in labels:
            fh.write(json.dumps(label, ensure_ascii=False) + "\n")


def main() -> None:
    """Write every labelled file (deterministic)."""
    OUT.mkdir(parents=True, exist_ok=True)
    write_sheets(random.Random(20260105))
    write_chats(random.Random(20260106))


if __name__ == "__main__":
    main()
