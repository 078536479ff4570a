"""A call in flight on a `hotline serve` that is killed (-9) still ends as exactly one ticket:
a real server process takes an AudioSocket call, dies mid-call, and the recovery sweep — here
run by the test process, as any other service or worker would — makes the ticket from the
audio the dead process spooled. A call whose process is alive is never taken."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from core.settings import PACKAGE_ROOT
from eval.console_server import free_port
from tests.conftest import BACKENDS, _seed, _seeded_sqlite
from tests.test_pbx import AudioSocketClient, speech

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
STALE_S = 5.0  # ten heartbeats: a loaded test machine must not make a live call look dead


def _serve(tmp: Path, port: int, audiosocket: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "HOTLINE_DATA_DIR": os.environ["HOTLINE_DATA_DIR"],
        "HOTLINE_DATABASE_URL": os.environ["HOTLINE_DATABASE_URL"],
        "HOTLINE_AUDIOSOCKET_PORT": str(audiosocket),
        "HOTLINE_LIVE_CALL_HEARTBEAT_S": "0.5",
        "HOTLINE_LIVE_CALL_STALE_S": str(STALE_S),
        "HOTLINE_EMBEDDED_WORKERS": "0",
    }
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotline.cli", "serve", "--port", str(port)],
        env=env,
        cwd=PACKAGE_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp / "server.log").read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise AssertionError("hotline serve did not start")


def _live_rows() -> list[tuple[str, str, float]]:
    from core.db import session_scope
    from intake.models import LiveCallRow

    with session_scope() as db:
        rows = db.scalars(select(LiveCallRow)).all()
        return [(r.owner, r.status, r.received_s) for r in rows]


def _ticket_count() -> int:
    from core.db import session_scope
    from tickets.models import Ticket

    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(Ticket)) or 0


def test_call_on_a_killed_process_becomes_one_ticket(tmp_path: Path) -> None:
    from core.settings import get_settings
    from intake import live_recovery
    from intake.calls import call_ticket
    from tickets.recordings import load_recording
    from tickets.service import ticket_view

    tokens = _seeded_sqlite(tmp_path)
    port, audiosocket = free_port(), free_port()
    proc = _serve(tmp_path, port, audiosocket)
    os.environ["HOTLINE_LIVE_CALL_STALE_S"] = str(STALE_S)
    get_settings.cache_clear()
    try:
        call_id, caller = str(uuid.uuid4()), "13900006666"
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/calls",
            json={"call_id": call_id, "caller": caller, "line": "4008001234"},
            headers={"Authorization": f"Bearer {tokens['agent']}"},
        )
        assert r.status_code == 201, r.text
        client = AudioSocketClient(audiosocket, call_id)
        pcm = speech("c01.wav")
        client.audio(pcm)  # the caller has spoken; the line is still up (no hangup)
        deadline = time.monotonic() + 120
        while not any(s >= len(pcm) / 16000 - 0.5 for _, _, s in _live_rows()):
            assert time.monotonic() < deadline, "the server never saved the call's progress"
            time.sleep(0.3)
        time.sleep(STALE_S + 1)  # longer than the stale limit: a live owner keeps beating
        assert live_recovery.sweep() == []  # the serving process is alive: not taken
        assert [status for _, status, _ in _live_rows()] == ["live"]
        proc.send_signal(signal.SIGKILL)  # the process dies mid-call
        proc.wait(30)
        client.close()
        assert _ticket_count() == 0
        time.sleep(STALE_S + 1)
        made = live_recovery.sweep()
        assert len(made) == 1
        assert live_recovery.sweep() == []  # idempotent: a recovered call makes one ticket
        assert _ticket_count() == 1 and _live_rows() == []
        from core.db import session_scope

        with session_scope() as db:
            ticket = call_ticket(db=db, call_id=call_id)
            assert ticket is not None and ticket.id == made[0]
            view = ticket_view(ticket)
        assert view["status"] == "pending_qc"  # held: a person checks the cut-off call
        assert view["fields"]["call_interrupted"] is True
        assert view["fields"]["phone"] == caller  # the dialplan's number, as for any call
        assert view["diagnosis"]["kb_id"] == "LOCK-FP-231"  # what was heard was understood
        assert load_recording(view["id"])  # the spooled audio is the ticket's recording
        assert not list((tmp_path / "data" / "recordings").glob("live-*"))
    finally:
        del os.environ["HOTLINE_LIVE_CALL_STALE_S"]
        get_settings.cache_clear()
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_call_with_nothing_saved_is_still_seen(tmp_path: Path, backend: str) -> None:
    """A call whose process died before any audio reached the disk becomes a held ticket
    asking for a call-back (with the caller's number), not nothing."""
    from datetime import timedelta

    from core import clock
    from core.db import session_scope
    from intake import live_recovery
    from intake.calls import register_call
    from intake.models import LiveCallRow
    from tickets.models import Ticket, TicketEvent
    from tickets.service import ticket_view

    _seeded_sqlite(tmp_path) if backend == "sqlite" else _seed(backend, tmp_path)
    long_ago = clock.now() - timedelta(minutes=5)

    def stale_row() -> LiveCallRow:
        return LiveCallRow(
            id=uuid.uuid4().hex,
            call_id="pbx-lost-1",
            door="audiosocket",
            channel="phone",
            actor="system:audiosocket",
            status="live",
            owner="elsewhere:1:dead",
            heartbeat_at=long_ago,
            started_at=long_ago,
            sample_rate=8000,
            spool="recordings/live-missing.wav",
            received_s=0.0,
            finals=[],
            notes=[],
        )

    with session_scope() as db:
        register_call(db=db, call_id="pbx-lost-1", actor="test", caller="13900007777")
        db.add(stale_row())
    [ticket_id] = live_recovery.sweep()
    assert live_recovery.sweep() == []
    with session_scope() as db:
        view = ticket_view(db.get(Ticket, ticket_id))
    assert view["status"] == "pending_qc" and view["fields"]["needs_listening"] is True
    assert view["fields"]["phone"] == "13900007777" and "回拨" in view["fault"]["description"]
    assert abs((view["created_at"] - long_ago).total_seconds()) < 1  # dated from the call
    assert view["reported_at"] == view["created_at"]
    with session_scope() as db:  # another stale part of the same call: no second ticket
        db.add(stale_row())
    assert live_recovery.sweep() == []
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(Ticket)) == 1
        assert db.scalar(select(func.count()).select_from(LiveCallRow)) == 0
        notes = db.scalars(select(TicketEvent.reason).where(TicketEvent.ticket_id == ticket_id))
        assert any("recovered after its process died" in (n or "") for n in notes)
