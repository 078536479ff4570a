"""Phone-system doors with pure-Python clients and the real model: call metadata, AudioSocket
over TCP, mod_audio_fork over WebSocket; each call becomes one ticket with the caller's number."""

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator

import numpy as np
import pytest

from asr.audio import SAMPLE_RATE, pcm16, resample
from eval.audio_tools import load
from tests.conftest import Service, start_service

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
WAIT_S = 300  # generous: the test machine's cores are shared


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service with the AudioSocket door on a free port."""
    os.environ["HOTLINE_AUDIOSOCKET_PORT"] = "0"
    try:
        svc = start_service("sqlite", tmp_path_factory.mktemp("pbx"))
    finally:
        del os.environ["HOTLINE_AUDIOSOCKET_PORT"]
    try:
        yield svc
    finally:
        svc.client.__exit__(None, None, None)


def speech(name: str, rate: int = 8000, pad_s: float = 0.5) -> bytes:
    """A fixture as telephone PCM with a little silence around it."""
    silence = np.zeros(int(pad_s * SAMPLE_RATE), dtype=np.float32)
    samples = np.concatenate([silence, load(name), silence])
    return pcm16(resample(samples, SAMPLE_RATE, rate) if rate != SAMPLE_RATE else samples)


def register(svc: Service, call_id: str, caller: str, line: str = "4008001234") -> dict:
    body = {"call_id": call_id, "caller": caller, "line": line, "queue": "售后"}
    r = svc.client.post("/api/v1/calls", json=body, headers=svc.headers("agent"))
    assert r.status_code == 201, r.text
    return r.json()


def wait_ticket(svc: Service, call_id: str) -> dict:
    """The ticket a call became, once the door has made it."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        r = svc.client.get(f"/api/v1/calls/{call_id}", headers=svc.headers("agent"))
        if r.status_code == 200 and r.json()["ticket_id"]:
            ticket_id = r.json()["ticket_id"]
            return svc.client.get(
                f"/api/v1/tickets/{ticket_id}", headers=svc.headers("agent")
            ).json()
        time.sleep(0.2)
    raise AssertionError(f"call {call_id} became no ticket")


def history_notes(svc: Service, ticket_id: int) -> str:
    r = svc.client.get(f"/api/v1/tickets/{ticket_id}/history", headers=svc.headers("agent"))
    return " ".join(e["reason"] or "" for e in r.json()["items"])


# ---------------------------------------------------------------- call metadata


def test_calls_are_registered_once_and_checked(pbx: Service) -> None:
    client, agent = pbx.client, pbx.headers("agent")
    body = {"call_id": "1700000000.42", "caller": "139 0000 1111", "line": "4008001234"}
    first = client.post("/api/v1/calls", json=body, headers=agent)
    assert first.status_code == 201
    assert first.json()["caller"] == "13900001111" and first.json()["ticket_id"] is None
    again = client.post("/api/v1/calls", json=body, headers=agent)
    assert again.status_code == 200 and again.json()["caller"] == "13900001111"
    more = client.post(
        "/api/v1/calls", json={"call_id": "1700000000.42", "agent": "8001"}, headers=agent
    )
    assert more.json()["extra"] == {"agent": "8001"} and more.json()["line"] == "4008001234"
    assert (
        client.get("/api/v1/calls/1700000000.42", headers=agent).json()["caller"] == "13900001111"
    )
    assert client.get("/api/v1/calls/nope", headers=agent).status_code == 404
    huge = {"call_id": "y", "notes": "x" * 5000}
    for bad in ({"call_id": "a b"}, {"call_id": "x", "caller": "call me"}, {"caller": "1"}, huge):
        r = client.post("/api/v1/calls", json=bad, headers=agent)
        assert r.status_code == 422 and "error" in r.json()
    tech = client.post("/api/v1/calls", json=body, headers=pbx.headers("technician"))
    assert tech.status_code == 403


def test_stream_call_takes_the_registered_callers_number(pbx: Service) -> None:
    caller = "13900002222"
    register(pbx, "ws-call-1", caller)
    token = pbx.tokens["agent"]
    url = f"/api/v1/intake/stream?token={token}&sample_rate=8000&call_id=ws-call-1"
    pcm = speech("c01.wav")
    with pbx.client.websocket_connect(url) as ws:
        assert json.loads(ws.receive_text())["call_id"] == "ws-call-1"
        for i in range(0, len(pcm), 1600):
            ws.send_bytes(pcm[i : i + 1600])
        ws.send_text(json.dumps({"type": "stop"}))
        while (msg := json.loads(ws.receive_text()))["type"] not in ("ticket", "end"):
            pass
    ticket = msg["ticket"]
    assert ticket["diagnosis"]["kb_id"] == "LOCK-FP-231"
    assert ticket["customer"]["phone"] == caller and ticket["fields"]["phone"] == caller
    assert ticket["fields"]["call_id"] == "ws-call-1" and ticket["fields"]["line"] == "4008001234"
    assert ticket["source"] == "stream:ws-call-1"
    found = pbx.client.get(f"/api/v1/tickets?q={caller}", headers=pbx.headers("agent")).json()
    assert [t["id"] for t in found["items"]] == [ticket["id"]]
    assert wait_ticket(pbx, "ws-call-1")["id"] == ticket["id"]


# ---------------------------------------------------------------- AudioSocket


class AudioSocketClient:
    """What Asterisk's AudioSocket() sends: the UUID, 20 ms slin frames, DTMF, hangup."""

    def __init__(self, port: int, call_id: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.send(0x01, uuid.UUID(call_id).bytes)

    def send(self, kind: int, payload: bytes = b"") -> None:
        self.sock.sendall(bytes([kind]) + len(payload).to_bytes(2, "big") + payload)

    def audio(self, pcm: bytes, rate: int = 8000) -> None:
        kind = {8000: 0x10, 16000: 0x12, 48000: 0x16}[rate]
        step = rate * 2 // 50  # 20 ms, as Asterisk sends
        for i in range(0, len(pcm), step):
            self.send(kind, pcm[i : i + step])

    def close(self) -> None:
        self.sock.close()


def test_audiosocket_call_becomes_a_ticket_with_the_callers_number(pbx: Service) -> None:
    call_id = str(uuid.uuid4())
    caller = "13900003333"
    register(pbx, call_id, caller, line="4008009999")
    client = AudioSocketClient(pbx.client.app.state.audiosocket.port, call_id)
    pcm = speech("c01.wav")
    client.audio(pcm[: len(pcm) // 2])
    client.send(0x03, b"5")  # the caller pressed 5 mid-call
    client.audio(pcm[len(pcm) // 2 :])
    client.send(0x00)  # hangup
    client.close()
    ticket = wait_ticket(pbx, call_id)
    assert ticket["diagnosis"]["kb_id"] == "LOCK-FP-231"
    assert ticket["fields"]["phone"] == caller and ticket["fields"]["line"] == "4008009999"
    assert ticket["channel"] == "phone" and ticket["source"] == f"audiosocket:{call_id}"
    assert "pressed 5" in history_notes(pbx, ticket["id"])
    found = pbx.client.get(f"/api/v1/tickets?q={caller}", headers=pbx.headers("agent")).json()
    assert [t["id"] for t in found["items"]] == [ticket["id"]]
    from tickets.recordings import load_recording

    assert load_recording(ticket["id"])  # reviewers can listen to the call


def test_audiosocket_dropped_connection_still_makes_the_ticket(pbx: Service) -> None:
    call_id = str(uuid.uuid4())  # never announced: the ticket still comes, without a number
    client = AudioSocketClient(pbx.client.app.state.audiosocket.port, call_id)
    client.audio(speech("c02.wav", rate=16000), rate=16000)
    client.close()  # no hangup frame: the line dropped
    ticket = wait_ticket(pbx, call_id)
    assert "充电" in "".join(s["text"] for s in ticket["transcript"])
    assert ticket["fields"]["call_id"] == call_id


def test_audiosocket_error_frame_ends_the_call(pbx: Service) -> None:
    call_id = str(uuid.uuid4())
    client = AudioSocketClient(pbx.client.app.state.audiosocket.port, call_id)
    client.audio(speech("c05.wav", rate=48000), rate=48000)
    client.send(0xFF, b"\x01")  # Asterisk: the caller hung up
    assert client.sock.recv(16) == b""  # the server closes the connection
    client.close()
    ticket = wait_ticket(pbx, call_id)
    assert "热水器" in "".join(s["text"] for s in ticket["transcript"])
    assert "error 01" in history_notes(pbx, ticket["id"])


def test_audiosocket_reconnect_continues_the_call_and_one_uuid_is_one_ticket(
    pbx: Service,
) -> None:
    """Asterisk reopening AudioSocket for the same UUID continues the call: after the old
    connection dropped (within HOTLINE_AUDIOSOCKET_REJOIN_S), or while it still looks open
    here (it is closed and the call handed over). Once the call is a ticket, a new connection
    is refused with a hangup frame. One ticket in all."""
    door = pbx.client.app.state.audiosocket
    port, door.rejoin_s = door.port, 10.0  # a loaded test machine may be slow to reconnect
    call_id = str(uuid.uuid4())
    register(pbx, call_id, "13900008888")
    pcm = speech("c01.wav")
    third = len(pcm) // 3 // 320 * 320
    first = AudioSocketClient(port, call_id)
    first.audio(pcm[:third])
    first.close()  # the line drops without a hangup frame
    second = AudioSocketClient(port, call_id)  # Asterisk reconnects at once
    second.audio(pcm[third : 2 * third])
    third_line = AudioSocketClient(port, call_id)  # and again, the second still open here
    assert second.sock.recv(16) == b""  # the older connection is closed, its call handed on
    second.close()
    third_line.audio(pcm[2 * third :])
    third_line.send(0x00)
    third_line.close()
    ticket = wait_ticket(pbx, call_id)
    assert ticket["diagnosis"]["kb_id"] == "LOCK-FP-231"  # both halves heard as one call
    assert "reconnected" in history_notes(pbx, ticket["id"])
    door.rejoin_s = 2.0
    late = AudioSocketClient(port, call_id)  # after the ticket: refused, nothing new
    assert late.sock.recv(16) == b"\x00\x00\x00"
    late.close()
    found = pbx.client.get("/api/v1/tickets?q=13900008888", headers=pbx.headers("agent"))
    assert [t["id"] for t in found.json()["items"]] == [ticket["id"]]


def test_audiosocket_closes_connections_that_are_not_a_pbx(pbx: Service) -> None:
    port = pbx.client.app.state.audiosocket.port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert sock.recv(16) == b""


def test_audiosocket_allow_list() -> None:
    from core.settings import Settings
    from intake.audiosocket import AudioSocketServer

    server = AudioSocketServer(Settings(audiosocket_allow="10.0.0.5, 192.168.10.0/24"))
    assert server._allowed("10.0.0.5") and server._allowed("192.168.10.77")
    assert not server._allowed("10.0.0.6") and not server._allowed("127.0.0.1")
    assert AudioSocketServer(Settings())._allowed("203.0.113.9")  # empty: bind address decides


# ---------------------------------------------------------------- mod_audio_fork

FORK = "audio.drachtio.org"


def stereo(caller: bytes, agent: bytes) -> bytes:
    """Two mono PCM streams interleaved, as mod_audio_fork's stereo mix sends them."""
    a, b = np.frombuffer(caller, "<i2"), np.frombuffer(agent, "<i2")
    n = max(len(a), len(b))
    both = np.zeros((n, 2), dtype="<i2")
    both[: len(a), 0], both[: len(b), 1] = a, b
    return both.tobytes()


@pytest.fixture
def real_server(pbx: Service) -> Iterator[int]:
    """The app behind a real uvicorn (its access log is what we check), on a free port."""
    import threading

    import uvicorn

    from hotline.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(warm_up=False), port=port, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(30)


def test_fork_stereo_call_and_the_token_stays_out_of_the_logs(
    pbx: Service, real_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    import urllib.request

    from websockets.sync.client import connect

    caplog.set_level("INFO")
    token = pbx.tokens["agent"]
    call_id = str(uuid.uuid4())
    meta = {
        "call_id": call_id,
        "caller": "13900004444",
        "line": "4008005555",
        "sampleRate": 8000,
        "mixType": "stereo",
        "queue": "空调",
    }
    pcm = stereo(speech("c03.wav"), speech("c04.wav"))  # caller: air-con; agent: elevator
    url = f"ws://127.0.0.1:{real_server}/api/v1/intake/fork?token={token}"
    with connect(url, subprotocols=[FORK]) as ws:
        assert ws.subprotocol == FORK
        ws.send(json.dumps(meta))
        for i in range(0, len(pcm), 640):  # 20 ms of 8 kHz stereo
            ws.send(pcm[i : i + 640])
    # close = hangup
    with urllib.request.urlopen(f"http://127.0.0.1:{real_server}/healthz?token={token}") as r:
        assert r.status == 200
    ticket = wait_ticket(pbx, call_id)
    said = "".join(s["text"] for s in ticket["transcript"])
    assert "空调" in said and "电梯" not in said  # only the caller's channel was heard
    assert ticket["fields"]["phone"] == "13900004444" and ticket["fields"]["line"] == "4008005555"
    call = pbx.client.get(f"/api/v1/calls/{call_id}", headers=pbx.headers("agent")).json()
    assert call["door"] == "fork" and call["extra"] == {"queue": "空调"}
    logged = caplog.text
    assert "/api/v1/intake/fork?token=***" in logged and "/healthz?token=***" in logged
    assert token not in logged


def test_fork_mono_16k_with_basic_auth(pbx: Service, real_server: int) -> None:
    import base64

    from websockets.sync.client import connect

    call_id = "fs-" + uuid.uuid4().hex
    basic = base64.b64encode(f"freeswitch:{pbx.tokens['agent']}".encode()).decode()
    pcm = speech("c05.wav", rate=16000)
    url = f"ws://127.0.0.1:{real_server}/api/v1/intake/fork?sample_rate=16000"
    with connect(
        url, subprotocols=[FORK], additional_headers={"Authorization": f"Basic {basic}"}
    ) as ws:
        assert ws.subprotocol == FORK
        ws.send(json.dumps({"call_id": call_id, "caller": "13900005555"}))
        for i in range(0, len(pcm), 640):
            ws.send(pcm[i : i + 640])
    ticket = wait_ticket(pbx, call_id)
    assert "热水器" in "".join(s["text"] for s in ticket["transcript"])
    assert ticket["fields"]["phone"] == "13900005555"


@pytest.mark.parametrize(
    ("first", "query", "code"),
    [
        (None, "token=nope", "invalid_token"),
        ("not json", "", "bad_metadata"),
        ('{"sampleRate": "11k"}', "", "bad_audio_format"),
        ('{"mixType": "stereo", "callerChannel": 2}', "", "bad_audio_format"),
    ],
)
def test_fork_refuses_bad_connections(
    pbx: Service, first: str | None, query: str, code: str
) -> None:
    if "token" not in query:
        query += f"&token={pbx.tokens['agent']}"
    with pbx.client.websocket_connect(f"/api/v1/intake/fork?{query}", subprotocols=[FORK]) as ws:
        if first is not None:
            ws.send_text(first)
        msg = json.loads(ws.receive_text())
    assert msg["type"] == "error" and msg["code"] == code
