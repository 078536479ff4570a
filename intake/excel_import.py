"""The old hand-kept repair sheet → pending-QC tickets.

The sheet keeps its own Chinese column names (客户电话, 故障描述, 地址, 产品类型, 型号, 报修日期,
片区 …); other names are mapped with a small YAML/JSON file `{column name: field}`. Cells are read
the way such sheets are written: dates as 2026/1/5, 2026-01-05, 1月5日 or Excel serial numbers,
phones with spaces and dashes, blank and merged cells, several faults in one cell (one ticket
each). Values in the sheet's columns take precedence over what triage reads in the description.
"""

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import yaml
from openpyxl.styles import Font, PatternFill
from sqlalchemy.orm import Session

from core import clock
from core.errors import ApiError
from intake import spreadsheet
from intake.importer import CHUNK_ROWS, Draft, fingerprint, run_import, start_batch
from intake.models import ImportBatch
from triage import phones

CHANNEL = "excel"
SHEET_TZ = ZoneInfo("Asia/Shanghai")  # hand-written dates are local dates of the hotline
HEADER_SCAN_ROWS = 15  # a title row or two may sit above the header

# field → the column names old sheets use for it (first name = the template's).
DEFAULT_COLUMNS: dict[str, list[str]] = {
    "reported_at": ["报修日期", "报修时间", "日期", "登记日期", "来电日期"],
    "region": ["片区", "区域", "所属片区", "网点"],
    "customer_name": ["客户姓名", "姓名", "联系人", "客户", "用户姓名", "客户名称"],
    "phone": ["客户电话", "联系电话", "电话", "手机", "手机号", "联系方式", "客户手机"],
    "address": ["地址", "安装地址", "客户地址", "详细地址", "维修地址", "服务地址"],
    "product_type": ["产品类型", "产品", "产品名称", "设备类型", "品类", "设备"],
    "model": ["型号", "产品型号", "设备型号", "机型"],
    "description": ["故障描述", "故障现象", "报修内容", "问题描述", "故障内容", "故障情况"],
    "note": ["备注", "说明", "处理情况"],
    "firmware": ["固件版本", "版本"],
    "hardware_id": ["设备编号", "设备唯一码", "序列号", "SN", "机身码"],
    "fault_code": ["故障码", "故障代码", "报警码", "错误码"],
    "ignore": ["序号", "编号", "No", "NO", "no"],
}
# The template: the old sheet's columns, then the two new ones the bridges and prediction need.
TEMPLATE_OLD = [
    "序号",
    "报修日期",
    "片区",
    "客户姓名",
    "客户电话",
    "地址",
    "产品类型",
    "型号",
    "故障描述",
    "备注",
]
TEMPLATE_NEW = ["设备编号", "故障码"]
REQUIRED = ("description",)
HEADER_NAMES = {n for names in DEFAULT_COLUMNS.values() for n in names if len(n) > 1}
# Sheet fields copied as given, with the length their ticket column holds.
FIELD_LIMITS = {
    "customer_name": 64,
    "address": 255,
    "product_type": 50,
    "model": 64,
    "region": 64,
    "firmware": 32,
    "hardware_id": 64,
    "fault_code": 32,
}
FAULT_SPLIT = re.compile(r"(?:^|[\s；;。，,])(?:\d{1,2}[.、)）．]|[①-⑩]|[(（]\d{1,2}[)）])|[\n；;]")
DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
    re.compile(r"(?P<m>\d{1,2})\s*[月/-]\s*(?P<d>\d{1,2})\s*日?"),
)
TIME_PART = re.compile(r"(\d{1,2})[:：时](\d{2})")
EXCEL_EPOCH = date(1899, 12, 30)
TOTAL_ROW = re.compile(r"^(合计|总计|小计|共计)")


def _clean_header(value: Any) -> str:
    text = str(value or "").strip()
    return re.sub(r"[\s*＊:：]|[(（][^)）]*[)）]", "", text)  # 客户电话(必填) → 客户电话


def load_mapping(path: Path | None) -> dict[str, str]:
    """Column name → field: the defaults, overridden by a mapping file `{column: field}`."""
    names = {_clean_header(n): f for f, ns in DEFAULT_COLUMNS.items() for n in ns}
    if path is None:
        return names
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ApiError(422, "bad_mapping", f"Cannot read the mapping file {path}: {exc}") from exc
    return {**names, **parse_mapping(raw)}


def parse_mapping(raw: Any) -> dict[str, str]:
    """Check a mapping `{column name: field}` (field one of the ticket fields, or ignore)."""
    if not isinstance(raw, dict):
        raise ApiError(422, "bad_mapping", "The mapping must be {column name: field}.")
    bad = {k: v for k, v in raw.items() if not isinstance(v, str) or v not in DEFAULT_COLUMNS}
    if bad:
        raise ApiError(
            422,
            "bad_mapping",
            f"Unknown fields in the mapping: {bad}; fields are {sorted(DEFAULT_COLUMNS)}.",
        )
    return {_clean_header(k): str(v) for k, v in raw.items()}


@dataclass
class OpenSheet:
    """A sheet that passed the file-level checks: its format, header and column map."""

    path: Path
    fmt: spreadsheet.SheetFormat
    header_row: int
    columns: dict[int, str]  # column index → field
    unknown: list[str]
    sha256: str
    total_estimate: int | None
    warnings: list[str] = field(default_factory=list)


def open_sheet(path: Path, mapping: dict[str, str] | None = None) -> OpenSheet:
    """Check the file and find its header; raises a 422 (and nothing is written) when the file
    is not a sheet, is password-protected, or has no fault-description column."""
    mapping = mapping or load_mapping(None)
    fmt = spreadsheet.sniff(path)
    best: tuple[int, int, list[Any]] | None = None
    for r, row in enumerate(spreadsheet.iter_rows(path, fmt), start=1):
        known = sum(1 for v in row if _clean_header(v) in mapping)
        if known and (best is None or known > best[1]):
            best = (r, known, row)
        if r >= HEADER_SCAN_ROWS:
            break
    if best is None:
        raise ApiError(
            422,
            "unknown_columns",
            "No known column names in the first rows: name the columns like the old sheet "
            f"(e.g. {', '.join(TEMPLATE_OLD[1:9])}) or give a mapping file.",
        )
    header_row, _, header = best
    columns: dict[int, str] = {}
    unknown = []
    for i, value in enumerate(header):
        name = _clean_header(value)
        if not name:
            continue
        if name in mapping:
            if mapping[name] != "ignore" and mapping[name] not in columns.values():
                columns[i] = mapping[name]
        else:
            unknown.append(str(value).strip())
    missing = [f for f in REQUIRED if f not in columns.values()]
    if missing:
        raise ApiError(
            422,
            "unknown_columns",
            f"No fault-description column (one of {DEFAULT_COLUMNS['description']}); the "
            f"header row {header_row} has {[str(v) for v in header if v not in (None, '')]}. "
            "Rename the column or map it with a mapping file (列名: description).",
            {"header_row": header_row, "unknown": unknown},
        )
    warnings = [f"columns not imported (unknown names): {unknown}"] if unknown else []
    return OpenSheet(
        path=path,
        fmt=fmt,
        header_row=header_row,
        columns=columns,
        unknown=unknown,
        sha256=_sha256(path),
        total_estimate=spreadsheet.row_estimate(path, fmt),
        warnings=warnings,
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def drafts(sheet: OpenSheet, now: datetime | None = None) -> Iterator[Draft]:
    """One draft per fault of every data row below the header (rows read as a stream)."""
    now = now or clock.now()
    for r, row in enumerate(spreadsheet.iter_rows(sheet.path, sheet.fmt), start=1):
        if r <= sheet.header_row:
            continue
        yield from row_drafts(row, sheet.columns, r, now)


def row_drafts(row: list[Any], columns: dict[int, str], r: int, now: datetime) -> list[Draft]:
    """The drafts of one sheet row (a skipped draft when the row makes no ticket)."""
    ref = f"row {r}"
    cells = {f: row[i] for i, f in columns.items() if i < len(row)}
    if all(_blank(v) for v in row):
        return [Draft(ref, skip="blank row")]
    if sum(1 for v in row if _clean_header(v) in HEADER_NAMES) >= 2:
        return [Draft(ref, skip="repeated header row")]
    description = _text(cells.get("description"))
    if not description:
        first = next((_text(v) for v in row if not _blank(v)), "")
        if TOTAL_ROW.match(first):
            return [Draft(ref, skip="totals row")]
        return [Draft(ref, skip="no fault description (故障描述 is empty)")]
    warnings: list[str] = []
    given: dict[str, Any] = {}
    for name, limit in FIELD_LIMITS.items():
        value = _text(cells.get(name))
        if len(value) > limit:
            warnings.append(f"{name} longer than {limit} characters: cut")
            value = value[:limit]
        if value:
            given[name] = value
    numbers, phone_warning = parse_phones(cells.get("phone"))
    if numbers:
        given["phone"] = numbers[0]
        given["phones"] = numbers
    if phone_warning:
        warnings.append(phone_warning)
    reported_at = None
    if not _blank(cells.get("reported_at")):
        reported_at = parse_date(cells.get("reported_at"), now)
        if reported_at is None:
            warnings.append(f"报修日期 {cells.get('reported_at')!r} not understood: left empty")
    note = _text(cells.get("note")) or None
    faults = split_faults(description)
    out = []
    for k, fault in enumerate(faults, start=1):
        out.append(
            Draft(
                ref if len(faults) == 1 else f"{ref} #{k}",
                text=fault,
                given=given,
                fingerprint=fingerprint(CHANNEL, given, reported_at, re.sub(r"\s+", "", fault)),
                reported_at=reported_at,
                note=f"备注：{note}" if note else None,
                warnings=warnings,
            )
        )
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 13812345678.0 and model 3000.0 as Excel stores numbers
    return re.sub(r"[ \t\u3000]+", " ", str(value)).strip()


def split_faults(text: str) -> list[str]:
    """Several faults in one cell ("1.指纹没反应 2.门把手松动", or one per line) → each one."""
    parts = [p.strip(" ，,。；;、") for p in FAULT_SPLIT.split(text)]
    parts = [p for p in parts if len(p) >= 2]
    return parts or [text.strip()]


def parse_phones(value: Any) -> tuple[list[str], str | None]:
    """The phone numbers of a cell (mobiles and landlines with area code and extension,
    written with spaces, dashes, +86, as a number, several in one cell), main one first."""
    raw = _text(value)
    if not raw:
        return [], None
    found = phones.numbers(raw)
    if not found:
        return [], f"客户电话 {raw!r} is not a phone number: left empty"
    return found, None


def parse_date(value: Any, now: datetime) -> datetime | None:
    """A sheet date as an aware datetime (local midnight unless a time is written): datetime
    cells, Excel serial numbers, 2026/1/5, 2026-01-05, 2026年1月5日, 20260105, 1月5日 (this
    year, or last year when that would be in the future)."""
    if isinstance(value, datetime):
        return _local(value.date(), value.time())
    if isinstance(value, date):
        return _local(value, time())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(float(value))
    text = _text(value)
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return _serial(float(text))
    for pattern in DATE_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        local_now = now.astimezone(SHEET_TZ)
        parts = m.groupdict()
        year = int(parts["y"]) if parts.get("y") else local_now.year
        try:
            day = date(year, int(parts["m"]), int(parts["d"]))
        except ValueError:
            return None
        if not parts.get("y") and day > local_now.date() + timedelta(days=1):
            day = day.replace(year=year - 1)
        t = TIME_PART.search(text[m.end() :])
        clock_time = time(int(t.group(1)) % 24, int(t.group(2)) % 60) if t else time()
        return _local(day, clock_time)
    return None


def _serial(value: float) -> datetime | None:
    if not 20000 <= value <= 80000:  # 1954 … 2119: anything else is not a date
        return None
    day = EXCEL_EPOCH + timedelta(days=int(value))
    seconds = round((value - int(value)) * 86400)
    return _local(day, (datetime.min + timedelta(seconds=seconds)).time())


def _local(day: date, t: time) -> datetime:
    return datetime.combine(day, t.replace(tzinfo=None), tzinfo=SHEET_TZ)


def import_sheet(
    db: Session,
    sheet: OpenSheet,
    *,
    actor: str,
    filename: str,
    batch: ImportBatch | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportBatch:
    """Import an opened sheet: each fault becomes a pending-QC ticket marked source excel:FILE;
    the batch reports every skipped and failed row. chunk_rows: see run_import."""
    batch = batch or start_batch(
        db,
        kind=CHANNEL,
        filename=filename,
        file_sha256=sheet.sha256,
        actor=actor,
        status="running",
    )
    return run_import(
        db,
        batch,
        drafts(sheet),
        channel=CHANNEL,
        source=f"excel:{filename}",
        on_row=on_row,
        warnings=sheet.warnings,
        chunk_rows=chunk_rows,
    )


def template() -> bytes:
    """The downloadable template: the old columns, then 设备编号 and 故障码 (highlighted), and
    a sheet explaining how cells may be written."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "报修登记"
    ws.append(TEMPLATE_OLD + TEMPLATE_NEW)
    new_fill = PatternFill("solid", fgColor="FFF2CC")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        if cell.value in TEMPLATE_NEW:
            cell.fill = new_fill
    ws.append(
        [
            1,
            "2026/1/5",
            "西湖片区",
            "张先生",
            "138 1234 5678",
            "杭州市西湖区文三路100号3栋502",
            "门锁",
            "X3",
            "指纹没反应",
            "",
            "",
            "",
        ]
    )
    for col, width in zip(
        "ABCDEFGHIJKL", (6, 12, 10, 10, 16, 32, 10, 10, 30, 12, 18, 10), strict=True
    ):
        ws.column_dimensions[col].width = width
    help_ws = wb.create_sheet("填写说明")
    for line in (
        ("列", "说明"),
        ("报修日期", "2026/1/5、2026-01-05、1月5日 或 Excel 日期均可"),
        ("客户电话", "可带空格或横线：138 1234 5678、0571-88886666"),
        ("故障描述", "必填；一格多个故障可写成 1.… 2.… 或分行，每个故障生成一张工单"),
        ("设备编号", "新增列：设备唯一码（物联网/CRM/ERP 对接用）"),
        ("故障码", "新增列：设备显示的故障码，如 E05（用于重复故障预测）"),
    ):
        help_ws.append(line)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def mapping_from_json(text: str | None) -> dict[str, str]:
    """Column mapping given inline as JSON (API form field), merged over the defaults."""
    names = load_mapping(None)
    if not text:
        return names
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ApiError(422, "bad_mapping", f"mapping is not JSON: {exc}") from exc
    return {**names, **parse_mapping(raw)}
