"""Read and write the KB interchange format: JSON Lines, CSV and XLSX with the same columns."""

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core import control_chars
from knowledge_base.schemas import ENTRY_FIELDS, LIST_FIELDS, EntryData

FORMATS = ("jsonl", "csv", "xlsx")
# Hard caps on a KB sheet: a KB of more rows is imported in parts; a sheet whose XML unpacks
# past the size cap is a zip bomb, not a KB.
MAX_ROWS = 100_000
MAX_COLUMNS = 200
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024
# A cell starting with one of these is a formula to Excel/WPS (=HYPERLINK(…), cmd|…, +1+1, @SUM):
# exported cells get a leading apostrophe, which spreadsheets show as text; imports drop it again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FormatError(ValueError):
    """The file as a whole cannot be read (wrong format, encoding, not a spreadsheet)."""


def detect_format(filename: str) -> str:
    """Format from a file name's extension."""
    suffix = Path(filename).suffix.lower().lstrip(".")
    fmt = {"jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "csv": "csv", "xlsx": "xlsx"}.get(
        suffix
    )
    if fmt is None:
        raise FormatError(
            f"unsupported file type '.{suffix}': use .jsonl, .csv or .xlsx (same column names)"
        )
    return fmt


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise FormatError("the file is neither UTF-8 nor GBK text")


def read_rows(data: bytes, fmt: str) -> list[tuple[int, dict[str, Any] | str]]:
    """(row number, raw dict) per data row; a str instead of a dict says why the row is unreadable.

    Row numbers are what a person sees: the line number for JSONL, the sheet/CSV row number
    (header = row 1) for CSV and XLSX.
    """
    if fmt == "jsonl":
        rows: list[tuple[int, dict[str, Any] | str]] = []
        for lineno, line in enumerate(_decode(data).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                rows.append((lineno, f"not valid JSON: {exc.msg} at column {exc.colno}"))
                continue
            rows.append((lineno, obj if isinstance(obj, dict) else "a line must be a JSON object"))
        return rows
    if fmt == "csv":
        reader = csv.reader(io.StringIO(_decode(data)))
        table = []
        for row in reader:
            table.append(row[:MAX_COLUMNS])
            _check_rows(len(table))
        return _table_rows(table)
    if fmt == "xlsx":
        return _table_rows(_xlsx_table(data))
    raise FormatError(f"unknown format {fmt!r}")


def _check_rows(count: int) -> None:
    if count > MAX_ROWS + 1:
        raise FormatError(
            f"the file has more than {MAX_ROWS:,} rows: split the KB into several files"
        )


def _xlsx_table(data: bytes) -> list[list[Any]]:
    """The first sheet's cells, read streaming and only as wide as the header row.

    A stray cell far to the right (column XFD) would otherwise make every row 16,384 cells
    wide, and a small zip can unpack to gigabytes of sheet XML: both are refused or cut."""
    from openpyxl import load_workbook

    try:
        unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except zipfile.BadZipFile as exc:
        raise FormatError(
            "not a readable .xlsx workbook (is it password-protected, .xls or not a spreadsheet?)"
        ) from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise FormatError(
            f"the workbook unpacks to {unpacked // 2**20} MB (limit "
            f"{MAX_XLSX_UNPACKED_BYTES // 2**20} MB): save the KB sheet on its own"
        )
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FormatError(
            "not a readable .xlsx workbook (is it password-protected, .xls or not a "
            f"spreadsheet?): {exc}"
        ) from exc
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True, max_col=MAX_COLUMNS)
        header = list(next(rows, ()))
        while header and header[-1] in (None, ""):
            header.pop()
        width = len(header)
        table = [[("" if c is None else c) for c in header]]
        for row in ws.iter_rows(min_row=2, max_col=max(width, 1), values_only=True):
            table.append([("" if c is None else c) for c in row])
            _check_rows(len(table))
        return table
    finally:
        wb.close()


def _table_rows(table: list[list[Any]]) -> list[tuple[int, dict[str, Any] | str]]:
    if not table:
        raise FormatError("the file is empty: expected a header row with the KB column names")
    header = [str(h).strip() for h in table[0]]
    if "id" not in header:
        raise FormatError(
            "the header row has no 'id' column; expected columns: " + ", ".join(ENTRY_FIELDS)
        )
    rows: list[tuple[int, dict[str, Any] | str]] = []
    for rowno, cells in enumerate(table[1:], start=2):
        if all(str(c).strip() == "" for c in cells):
            continue
        obj: dict[str, Any] = {}
        for name, value in zip(header, cells, strict=False):
            if not name:
                continue
            if isinstance(value, str):
                value = value.strip()
                if value[:1] == "'" and value[1:2] in FORMULA_START:
                    value = value[1:]  # our own export's neutralised formula-like text
            if value == "" and name not in LIST_FIELDS:
                value = None
            elif isinstance(value, str) and name not in ENTRY_FIELDS:
                value = _typed(value)
            obj[name] = value
        if obj.get("fault_code") is not None:
            obj["fault_code"] = str(obj["fault_code"])
        if obj.get("id") is not None:
            obj["id"] = str(obj["id"])
        rows.append((rowno, {k: v for k, v in obj.items() if v is not None}))
    return rows


def _typed(cell: str) -> Any:
    """An extra column's cell back as the number, boolean or JSON value it was exported from."""
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def severity_labels(rows: list[tuple[int, EntryData]], raw: dict[int, Any]) -> dict[str, str]:
    """The file's own severity labels (P1, 紧急 …) and the level each was read as."""
    out = {}
    for rowno, entry in rows:
        label = raw.get(rowno)
        if label is not None and str(label) != entry.severity:
            out[str(label)] = entry.severity
    return out


def validate_rows(
    rows: list[tuple[int, dict[str, Any] | str]],
) -> tuple[list[tuple[int, EntryData]], list[dict[str, Any]]]:
    """Valid entries with their row numbers, and one error dict per problem found."""
    good: list[tuple[int, EntryData]] = []
    errors: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    for rowno, raw in rows:
        if isinstance(raw, str):
            errors.append({"row": rowno, "id": None, "field": None, "problem": raw})
            continue
        if found := control_chars.find(raw):
            problem = control_chars.problem(found[1])
            errors.append(
                {"row": rowno, "id": raw.get("id"), "field": found[0], "problem": problem}
            )
            continue
        try:
            entry = EntryData.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                errors.append(
                    {
                        "row": rowno,
                        "id": raw.get("id"),
                        "field": ".".join(str(p) for p in err["loc"]) or None,
                        "problem": err["msg"].removeprefix("Value error, "),
                    }
                )
            continue
        if entry.id in first_row_of:
            errors.append(
                {
                    "row": rowno,
                    "id": entry.id,
                    "field": "id",
                    "problem": f"duplicate id: already used on row {first_row_of[entry.id]}",
                }
            )
            continue
        first_row_of[entry.id] = rowno
        good.append((rowno, entry))
    return good, errors


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        value = "|".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # shown as text, never run as a formula
    return value


def write_entries(entries: list[dict[str, Any]], fmt: str) -> bytes:
    """Serialise entries (interchange dicts) in fmt."""
    if fmt == "jsonl":
        return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries).encode()
    extras = sorted({k for e in entries for k in e} - set(ENTRY_FIELDS))
    header = [*ENTRY_FIELDS, *extras]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        for e in entries:
            writer.writerow(["" if e.get(h) is None else _cell(e.get(h)) for h in header])
        return buf.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        def xlsx_cell(value: Any) -> Any:
            # XLSX cannot hold control characters (a stored text or extra field name with one
            # made the whole export fail): they are dropped from the sheet only.
            value = _cell(value)
            return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("kb")
        ws.append([xlsx_cell(h) for h in header])
        for e in entries:
            ws.append([xlsx_cell(e.get(h)) for h in header])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise FormatError(f"unknown format {fmt!r}")
