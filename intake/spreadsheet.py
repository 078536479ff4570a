"""Streaming reader of old hand-kept sheets: .xlsx (read-only, merged cells filled) and CSV
(UTF-8 or GBK, comma/tab/semicolon), with the checks that must pass before anything is written.

Rows come out one at a time as lists of cell values, so a 100,000-row sheet is read in bounded
memory.
"""

import codecs
import csv
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import openpyxl
from openpyxl.utils.cell import range_boundaries

from core.errors import ApiError

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: encrypted .xlsx or old .xls
ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")
SNIFF_BYTES = 64 * 1024
NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}


@dataclass(frozen=True)
class SheetFormat:
    """What a file is: xlsx, or CSV with its encoding and delimiter."""

    kind: str  # xlsx | csv
    encoding: str | None = None
    delimiter: str = ","


def _reject(code: str, message: str) -> ApiError:
    return ApiError(422, code, message)


def sniff(path: Path) -> SheetFormat:
    """Tell what the file is, or raise a 422 naming why it cannot be imported."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head:
        raise _reject("empty_file", "The file is empty.")
    if head.startswith(CFB_MAGIC):
        if _has_encryption_stream(path):
            raise _reject(
                "password_protected",
                "The workbook is password-protected: open it in Excel, remove the password "
                "(File → Info → Protect Workbook) and import it again.",
            )
        raise _reject(
            "legacy_xls",
            "This is an old .xls workbook: save it as .xlsx (or CSV) in Excel and import that.",
        )
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile as exc:
            raise _reject(
                "not_a_spreadsheet", "The file looks like a workbook but is damaged."
            ) from exc
        if "xl/workbook.xml" not in names:
            raise _reject(
                "not_a_spreadsheet",
                "This is a ZIP file but not an Excel workbook (a Word document?): "
                "send the .xlsx or .csv sheet.",
            )
        return SheetFormat("xlsx")
    encoding = text_encoding(head)
    if encoding is None:
        raise _reject(
            "not_a_spreadsheet",
            "The file is neither an Excel workbook (.xlsx) nor a text CSV sheet.",
        )
    text = head.decode(encoding, errors="ignore")
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    delimiter = max(",\t;", key=first.count)
    if not first.count(delimiter):
        raise _reject(
            "not_a_spreadsheet",
            "The text file has no columns (no comma, tab or semicolon in its first line): "
            "it is not a CSV sheet.",
        )
    return SheetFormat("csv", encoding, delimiter)


def _has_encryption_stream(path: Path) -> bool:
    """An encrypted OOXML package is a compound file with an EncryptionInfo stream."""
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            if ENCRYPTED_MARK in tail + chunk:
                return True
            tail = chunk[-len(ENCRYPTED_MARK) :]
    return False


def text_encoding(head: bytes) -> str | None:
    """utf-8 (with or without BOM) or GB18030 (a superset of GBK), else None for binary data."""
    if b"\x00" in head:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            # A multi-byte character may be cut at the end of the sample: final=False.
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    return None


def iter_rows(path: Path, fmt: SheetFormat) -> Iterator[list[Any]]:
    """Every row of the first sheet as a list of cell values, merged cells filled in."""
    if fmt.kind == "csv":
        yield from _csv_rows(path, fmt)
    else:
        yield from _xlsx_rows(path)


def row_estimate(path: Path, fmt: SheetFormat) -> int | None:
    """Rows the sheet says it has (xlsx dimension), for progress; None when unknown."""
    if fmt.kind != "xlsx":
        return None
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return wb.worksheets[0].max_row
    finally:
        wb.close()


def _csv_rows(path: Path, fmt: SheetFormat) -> Iterator[list[Any]]:
    with path.open(encoding=fmt.encoding, errors="replace", newline="") as fh:
        yield from csv.reader(fh, delimiter=fmt.delimiter)


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    merges = sorted(_merged_ranges(path), key=lambda b: b[1])
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise _reject("not_a_spreadsheet", f"The workbook cannot be read: {exc}") from exc
    try:
        ws = wb.worksheets[0]
        active: dict[tuple[int, int, int, int], Any] = {}  # merged range → its top-left value
        pending = 0
        for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
            values = list(row)
            while pending < len(merges) and merges[pending][1] <= r:
                min_col = merges[pending][0]
                active[merges[pending]] = values[min_col - 1] if min_col <= len(values) else None
                pending += 1
            for box, value in list(active.items()):
                min_col, _, max_col, max_row = box
                if len(values) < max_col:
                    values.extend([None] * (max_col - len(values)))
                values[min_col - 1 : max_col] = [value] * (max_col - min_col + 1)
                if max_row == r:
                    del active[box]
            yield values
    finally:
        wb.close()


def _merged_ranges(path: Path) -> list[tuple[int, int, int, int]]:
    """Merged cell ranges of the first sheet, read from its XML without loading the sheet
    (read-only openpyxl does not report merges)."""
    with zipfile.ZipFile(path) as zf:
        sheet = _first_sheet_path(zf)
        if sheet is None:
            return []
        out = []
        with zf.open(sheet) as fh:
            for _, el in ET.iterparse(fh):
                if el.tag == f"{{{NS['m']}}}mergeCell":
                    out.append(range_boundaries(el.get("ref", "")))
                el.clear()
        return [b for b in out if None not in b]  # type: ignore[misc]


def _first_sheet_path(zf: zipfile.ZipFile) -> str | None:
    workbook = ET.fromstring(zf.read("xl/workbook.xml"))
    sheet = workbook.find("m:sheets/m:sheet", NS)
    if sheet is None:
        return None
    rid = sheet.get(f"{{{NS['r']}}}id")
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.findall("rel:Relationship", NS):
        if rel.get("Id") == rid:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return None
