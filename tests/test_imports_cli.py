"""`hotline import excel|wechat|template` and `hotline predict recurring` as a user runs them."""

import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from hotline.cli import app
from tests.conftest import DEMO_KB, configure, fresh_database

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "imports"


def _workspace(tmp_path: Path) -> None:
    from core.db import session_scope
    from knowledge_base import service as kb

    url = fresh_database("sqlite", tmp_path)
    configure(tmp_path / "data", url)
    with session_scope() as db:
        kb.import_entries(db=db, data=DEMO_KB.read_bytes(), fmt="jsonl", actor="t", publish=True)


def test_import_commands(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _workspace(tmp_path)
    monkeypatch.setattr("intake.import_cli.PROGRESS_EVERY", 2)
    runner = CliRunner()
    report = tmp_path / "rows.jsonl"
    res = runner.invoke(
        app, ["import", "excel", str(FIXTURES / "messy_sheet.xlsx"), "--report", str(report)]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[res.stdout.index("{") :])
    assert (summary["created"], summary["skipped"]) == (6, 3)
    assert "rows/s" in res.stderr  # progress on stderr
    assert "跟进人" in res.stderr  # the unknown column is named
    rows = [json.loads(x) for x in report.read_text(encoding="utf-8").splitlines()]
    assert [r["outcome"] for r in rows].count("created") == 6 and len(rows) == 9

    again = runner.invoke(app, ["import", "excel", str(FIXTURES / "messy_sheet.xlsx")])
    assert json.loads(again.stdout[again.stdout.index("{") :])["created"] == 0

    mapped = runner.invoke(
        app,
        [
            "import",
            "excel",
            str(FIXTURES / "legacy_gbk.csv"),
            "--mapping",
            str(FIXTURES / "mapping.yaml"),
        ],
    )
    assert json.loads(mapped.stdout[mapped.stdout.index("{") :])["created"] == 4

    bad = tmp_path / "photo.xlsx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    res = runner.invoke(app, ["import", "excel", str(bad)])
    assert res.exit_code == 2 and "neither an Excel workbook" in res.stderr

    res = runner.invoke(app, ["import", "wechat", str(FIXTURES / "wechat_pc.txt")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout[res.stdout.index("{") :])["created"] == 2

    template = tmp_path / "template.xlsx"
    assert runner.invoke(app, ["import", "template", str(template)]).exit_code == 0
    header = [c.value for c in openpyxl.load_workbook(template).worksheets[0][1]]
    assert header[-2:] == ["设备编号", "故障码"]

    res = runner.invoke(app, ["predict", "recurring", "--min-count", "2"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["min_count"] == 2
