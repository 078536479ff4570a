"""Read and write the KB interchange format: JSON Lines, CSV and XLSX with the same columns."""

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from knowledge_base.schemas import ENTRY_FIELDS, LIST_FIELDS, EntryData

FORMATS = ("jsonl", "csv", "xlsx")


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
        return _table_rows(list(reader))
    if fmt == "xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise FormatError(
                "not a readable .xlsx workbook (is it password-protected, .xls or not a "
                f"spreadsheet?): {exc}"
            ) from exc
        ws = wb.worksheets[0]
        table = [[("" if c is None else c) for c in row] for row in ws.iter_rows(values_only=True)]
        wb.close()
        return _table_rows(table)
    raise FormatError(f"unknown format {fmt!r}")


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
        return "|".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
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

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("kb")
        ws.append(header)
        for e in entries:
            ws.append([_cell(e.get(h)) for h in header])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise FormatError(f"unknown format {fmt!r}")
