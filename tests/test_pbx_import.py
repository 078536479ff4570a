"""`hotline import calls CDR.csv --recordings DIR`: one ticket per recorded call, idempotent,
and a live call's later recording joins the live call's ticket."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.audio_tools import encode, load
from hotline.cli import app
from tests.test_imports_cli import _workspace

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _tickets() -> int:
    from sqlalchemy import func, select

    from core.db import session_scope
    from tickets.models import Ticket

    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(Ticket)) or 0


def test_import_recorded_calls_once(tmp_path: Path) -> None:
    from core.db import session_scope
    from intake.audio import ticket_from_transcript
    from intake.calls import CallFacts
    from tickets.recordings import load_recording

    _workspace(tmp_path)
    from sla.config import install_defaults

    with session_scope() as db:
        install_defaults(db=db)  # SLA policies, so a triaged call's clock starts
    with session_scope() as db:  # a call that came in live through AudioSocket earlier
        said = {"start": 0.5, "end": 3.0, "speaker": "customer", "text": "门锁指纹没反应"}
        live = ticket_from_transcript(
            db=db,
            segments=[{**said, "raw_text": said["text"]}],
            notes=[],
            duration=3.5,
            channel="phone",
            actor="system:audiosocket",
            heard_speech=True,
            call=CallFacts("1733390000.11", caller="13900001234", door="audiosocket"),
        )
        live_id = live.id
    recordings = tmp_path / "rec"
    recordings.mkdir()
    (recordings / "1733390000.11.wav").write_bytes(encode(load("c01.wav"), out_rate=8000))
    (recordings / "elevator.wav").write_bytes(encode(load("c04.wav"), out_rate=8000))
    cdr = tmp_path / "Master.csv"
    cdr.write_text(
        "uniqueid,src,dst,start,recordingfile\n"
        "1733390000.11,13900001234,4008001234,2026-12-05 09:00:00,\n"
        "1733390100.12,13900007777,4008001234,2026-12-05 09:05:00,elevator.wav\n"
        "1733390200.13,13900008888,4008001234,2026-12-05 09:10:00,\n",
        encoding="utf-8",
    )
    before = _tickets()
    runner = CliRunner()
    args = ["import", "calls", str(cdr), "--recordings", str(recordings)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    counts = json.loads(first.stdout[first.stdout.index("{") :])
    assert counts == {"rows": 3, "joined": 1, "created": 1, "no_recording": 1}
    assert _tickets() == before + 1  # the live call's recording joined its ticket
    assert load_recording(live_id)  # and can be listened to there
    again = runner.invoke(app, args)
    assert json.loads(again.stdout[again.stdout.index("{") :]) == {
        "rows": 3,
        "exists": 2,
        "no_recording": 1,
    }
    assert _tickets() == before + 1
    from intake.calls import call_ticket
    from tickets.service import ticket_view

    with session_scope() as db:
        ticket = call_ticket(db=db, call_id="1733390100.12")
        assert ticket is not None
        view = ticket_view(ticket)
    assert view["fields"]["phone"] == "13900007777" and view["fields"]["line"] == "4008001234"
    assert "电梯" in "".join(s["text"] for s in view["transcript"])
    assert view["source"] == "recording:1733390100.12"
    # The CDR's start (the PBX's local time) is when the customer asked: the ticket is dated
    # from it, and its SLA clock starts there, as imported history keeps its own date.
    from datetime import UTC, datetime

    from sla.models import TicketSla

    called = datetime(2026, 12, 5, 1, 5, tzinfo=UTC)  # 09:05 Asia/Shanghai
    assert view["created_at"] == called and view["reported_at"] == called
    with session_scope() as db:
        sla = db.get(TicketSla, view["id"])
        assert sla is not None and sla.started_at == called
