"""Hostile or careless KB files: formulas in exports, huge sheets, hidden characters, wildcards."""

import csv
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from knowledge_base import interchange
from tests.conftest import Service

EVIL = {
    "id": "EVIL-1",
    "title": '=HYPERLINK("http://x.example/steal","点我")',
    "product_type": "智能门锁",
    "symptoms": ["@SUM(1+1)", "正常的症状"],
    "root_cause": "=cmd|' /C calc'!A0",
    "resolution": "-2+3",
    "severity": "low",
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_neutralises_formulas_and_import_restores_the_text(fmt: str) -> None:
    data = interchange.write_entries([EVIL], fmt)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        cells = dict(zip(rows[0], rows[1], strict=False))
    else:
        ws = load_workbook(io.BytesIO(data)).worksheets[0]
        header, values = list(ws.iter_rows(values_only=True))[:2]
        cells = dict(zip(header, values, strict=False))
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    for name in ("title", "symptoms", "root_cause", "resolution"):
        assert not str(cells[name]).startswith(("=", "+", "-", "@")), name
    good, errors = interchange.validate_rows(interchange.read_rows(data, fmt))
    assert not errors
    back = good[0][1]
    assert back.title == EVIL["title"] and back.symptoms == EVIL["symptoms"]
    assert back.root_cause == EVIL["root_cause"] and back.resolution == "-2+3"


def test_control_characters_do_not_break_the_xlsx_export() -> None:
    # Found by schemathesis: an entry with a control character in a text or in an extra
    # field's name made GET /api/v1/kb/export?format=xlsx answer 500.
    entry = {**EVIL, "id": "CTRL-1", "title": "门锁\x07报警", "note\x13": "备注\x1b"}
    sheet = load_workbook(io.BytesIO(interchange.write_entries([entry], "xlsx"))).active
    header, row = (list(r) for r in sheet.iter_rows(values_only=True))
    cells = dict(zip(header, row, strict=True))
    assert cells["title"] == "门锁报警" and cells["note"] == "备注"


def test_a_stray_cell_at_column_xfd_does_not_widen_every_row() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "title", "product_type", "symptoms"])
    for i in range(300):
        ws.append([f"E-{i}", "标题", "智能门锁", "症状"])
    ws.cell(row=2, column=16384, value="x")  # column XFD
    buf = io.BytesIO()
    wb.save(buf)
    table = interchange._xlsx_table(buf.getvalue())
    assert len(table) == 301 and {len(r) for r in table} == {4}
    good, errors = interchange.validate_rows(interchange.read_rows(buf.getvalue(), "xlsx"))
    assert len(good) == 300 and not errors


def test_a_zip_bomb_or_an_endless_sheet_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", "<x>" + " " * (3 * 2**20) + "</x>")
    monkeypatch.setattr(interchange, "MAX_XLSX_UNPACKED_BYTES", 2**20)
    with pytest.raises(interchange.FormatError, match="unpacks to"):
        interchange.read_rows(buf.getvalue(), "xlsx")
    monkeypatch.setattr(interchange, "MAX_ROWS", 5)
    rows = "id,title,product_type\n" + "".join(f"E{i},t,p\n" for i in range(10))
    with pytest.raises(interchange.FormatError, match="more than 5 rows"):
        interchange.read_rows(rows.encode(), "csv")


def test_zero_width_characters_do_not_hide_a_phone_number(shared_service: Service) -> None:
    r = shared_service.client.post(
        "/api/v1/triage/preview",
        json={"text": "门锁指纹没反应，电话138\u200b5700\u200d1234"},
        headers=shared_service.headers("agent"),
    )
    assert r.status_code == 200 and r.json()["fields"]["phone"] == "13857001234"


def test_percent_and_underscore_in_a_kb_search_are_literal(shared_service: Service) -> None:
    headers = shared_service.headers("knowledge_engineer")
    everything = shared_service.client.get("/api/v1/kb/entries", headers=headers).json()
    assert everything["total"] > 0
    for q in ("%", "_"):
        r = shared_service.client.get("/api/v1/kb/entries", params={"q": q}, headers=headers)
        assert r.status_code == 200 and r.json()["total"] == 0, q
