"""The `hotline` command line, run as a user would (a real subprocess for the main path)."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from hotline.cli import app
from tests.conftest import configure

EXAMPLE = "那个我家门锁按指纹没反应了，型号X3，固件好像是二点三点一"


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_init_triage_and_kb_round_trip(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_DATA_DIR": str(tmp_path / "data")}
    env.pop("HOTLINE_DATABASE_URL", None)
    init = run(["init"], env)
    assert init.returncode == 0, init.stderr
    assert "admin token" in init.stdout and "htl_" in init.stdout
    assert "entries published" in init.stdout
    # the demo technicians are make run's (--demo-technicians) only: tests and deployments
    # that start from a plain init put their own technicians on the roster
    with sqlite3.connect(tmp_path / "data" / "hotline.db") as conn:
        assert conn.execute("SELECT count(*) FROM technicians").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (0,)
    assert "--demo-technicians" in (Path(__file__).parent.parent / "Makefile").read_text()
    again = run(["init"], env)  # idempotent: no second demo load, no second admin token
    assert "htl_" not in again.stdout and "entries published" not in again.stdout

    tri = run(["triage", EXAMPLE], env)
    assert tri.returncode == 0, tri.stderr
    ticket = json.loads(tri.stdout)
    assert ticket["fields"]["firmware"] == "2.3.1"
    assert ticket["diagnosis"]["candidates"][0]["kb_id"] == "LOCK-FP-231"
    assert ticket["number"].startswith("HL")

    empty = run(["triage", "  "], env)
    assert empty.returncode == 2 and "empty" in empty.stderr


def test_kb_commands(tmp_path: Path) -> None:
    from core.db import get_engine
    from core.migrate import upgrade

    configure(tmp_path / "data", f"sqlite:///{tmp_path / 'h.db'}")
    upgrade(f"sqlite:///{tmp_path / 'h.db'}")
    runner = CliRunner()
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": "T-1", "title": "冰箱不制冷", "product_type": "冰箱"}, ensure_ascii=False)
        + "\n{broken\n",
        encoding="utf-8",
    )
    bad = runner.invoke(app, ["kb", "import", str(src)])
    assert bad.exit_code == 1 and "row 2" in bad.output and "nothing was imported" in bad.output
    src.write_text(
        json.dumps({"id": "T-1", "title": "冰箱不制冷", "product_type": "冰箱"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    ok = runner.invoke(app, ["kb", "import", str(src), "--publish"])
    assert ok.exit_code == 0, ok.output
    assert "1 created" in ok.output and "1 published" in ok.output
    out = tmp_path / "out.csv"
    assert runner.invoke(app, ["kb", "export", str(out)]).exit_code == 0
    assert "T-1,冰箱不制冷,冰箱" in out.read_text(encoding="utf-8-sig")
    assert runner.invoke(app, ["kb", "retire", "T-1", "--reason", "dup"]).exit_code == 0
    hist = runner.invoke(app, ["kb", "history", "T-1"])
    assert "retire" in hist.output and "publish" in hist.output
    missing = runner.invoke(app, ["kb", "publish", "NOPE"])
    assert missing.exit_code == 1 and "NOPE" in missing.output
    get_engine().dispose()


def test_review_corrections_become_eval_data(tmp_path: Path) -> None:
    from core.db import get_engine, session_scope
    from intake.service import intake_text
    from tests.conftest import DEMO_KB, fresh_database
    from tickets import service as tickets

    url = fresh_database("sqlite", tmp_path)
    configure(tmp_path / "data", url)
    from knowledge_base import service as kb

    with session_scope() as db:
        kb.import_entries(db=db, data=DEMO_KB.read_bytes(), fmt="jsonl", actor="t", publish=True)
    with session_scope() as db:
        t = intake_text(db=db, text="门锁指纹老是识别失败", channel="app", actor="agent:a")
        tickets.review(
            db=db,
            ticket_id=t.id,
            actor="agent:a",
            kb_id="LOCK-FP-231",
            fields={"firmware": "2.3.1"},
        )
    out = tmp_path / "corr.jsonl"
    res = CliRunner().invoke(app, ["eval", "export-corrections", str(out)])
    assert res.exit_code == 0, res.output
    item = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert item["text"] == "门锁指纹老是识别失败"
    assert item["expected_kb_id"] == "LOCK-FP-231"
    assert item["fields"]["firmware"] == "2.3.1"
    get_engine().dispose()
