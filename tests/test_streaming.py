"""Live calls over the WebSocket with the real Whisper model: partials, finals, a ticket."""

import json
import re

import numpy as np
import pytest
from starlette.testclient import WebSocketTestSession

from asr.audio import SAMPLE_RATE, decode, pcm16, resample
from asr.streaming import StreamConfig, StreamSession, common_prefix
from eval.audio_tools import load
from tests.conftest import Service

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _stream(ws: WebSocketTestSession, pcm: bytes, rate: int, chunk_ms: int = 100) -> None:
    step = rate * 2 * chunk_ms // 1000
    for i in range(0, len(pcm), step):
        ws.send_bytes(pcm[i : i + step])


def _collect(ws: WebSocketTestSession) -> list[dict]:
    messages = []
    while True:
        msg = json.loads(ws.receive_text())
        messages.append(msg)
        if msg["type"] in ("ticket", "end"):
            return messages


def test_live_call_gives_partials_finals_and_ticket(shared_service: Service) -> None:
    speech = resample(load("c01.wav"), SAMPLE_RATE, 8000)
    silence = np.zeros(8000, dtype=np.float32)  # the caller pauses for a second
    pcm = pcm16(np.concatenate([silence, speech, silence, speech[: 8000 * 2], silence]))
    token = shared_service.tokens["agent"]
    client = shared_service.client
    with client.websocket_connect(f"/api/v1/intake/stream?token={token}&sample_rate=8000") as ws:
        assert json.loads(ws.receive_text())["type"] == "ready"
        _stream(ws, pcm, 8000)
        ws.send_text(json.dumps({"type": "stop"}))
        messages = _collect(ws)
    finals = [m["segment"] for m in messages if m["type"] == "final"]
    assert len(finals) >= 2  # the pause split the call into utterances
    assert re.search(r"\d", finals[0]["text"])  # spoken digits normalised, whatever the words
    assert finals[0]["start"] >= 0.8  # leading silence is not speech
    assert all(f["speaker"] == "customer" for f in finals)
    ticket = messages[-1]["ticket"]
    assert messages[-1]["type"] == "ticket"
    assert ticket["fields"]["firmware"] == "2.3.1"
    assert ticket["diagnosis"]["kb_id"] == "LOCK-FP-231"
    assert [s["text"] for s in ticket["transcript"]] == [f["text"] for f in finals]
    from tickets.recordings import load_recording

    kept = decode(load_recording(ticket["id"]) or b"", max_seconds=600)  # the call, as sent
    assert kept.source_rate == 8000
    assert abs(kept.duration - len(pcm) / 2 / 8000) < 0.05


def test_two_calls_at_once_each_get_their_ticket(shared_service: Service) -> None:
    """With another call live, finals take the short-context decode; both calls must still
    come out right, each with its own words."""
    token = shared_service.tokens["agent"]
    silence = np.zeros(8000, dtype=np.float32)
    calls = {
        name: pcm16(np.concatenate([silence, resample(load(name), SAMPLE_RATE, 8000), silence]))
        for name in ("c01.wav", "c02.wav")
    }
    url = f"/api/v1/intake/stream?token={token}&sample_rate=8000"
    client = shared_service.client
    with client.websocket_connect(url) as lock_ws, client.websocket_connect(url) as ev_ws:
        sockets = {"c01.wav": lock_ws, "c02.wav": ev_ws}
        for ws in sockets.values():
            assert json.loads(ws.receive_text())["type"] == "ready"
        step = 8000 * 2 // 10
        for i in range(0, max(len(p) for p in calls.values()), step):
            for name, ws in sockets.items():  # interleaved, as two live lines would be
                if i < len(calls[name]):
                    ws.send_bytes(calls[name][i : i + step])
        results = {}
        for name, ws in sockets.items():
            ws.send_text(json.dumps({"type": "stop"}))
            results[name] = _collect(ws)[-1]["ticket"]
    assert results["c01.wav"]["fields"]["firmware"] == "2.3.1"
    assert results["c01.wav"]["diagnosis"]["kb_id"] == "LOCK-FP-231"
    assert results["c02.wav"]["fields"]["product_type"] == "充电桩"
    assert (
        results["c02.wav"]["fields"]["product_type"] != results["c01.wav"]["fields"]["product_type"]
    )


def test_silence_only_call_makes_no_ticket(shared_service: Service) -> None:
    token = shared_service.tokens["agent"]
    noise = (np.random.default_rng(1).normal(0, 0.002, 16000 * 4)).astype(np.float32)
    with shared_service.client.websocket_connect(f"/api/v1/intake/stream?token={token}") as ws:
        assert json.loads(ws.receive_text())["type"] == "ready"
        _stream(ws, pcm16(noise), 16000)
        ws.send_text("not json")
        ws.send_text(json.dumps({"type": "stop"}))
        messages = _collect(ws)
    assert messages[0]["type"] == "error" and messages[0]["code"] == "bad_message"
    assert not [m for m in messages if m["type"] in ("partial", "final")]
    assert messages[-1] == {
        "type": "end",
        "ticket": None,
        "error": messages[-1]["error"],
    }
    assert messages[-1]["error"]["code"] == "no_speech"
    assert not list((shared_service.data_dir / "recordings").glob("live-*"))  # nothing left


@pytest.mark.parametrize(
    ("query", "code"),
    [("", "unauthenticated"), ("token=nope", "invalid_token"), ("sample_rate=44100", None)],
)
def test_stream_rejects_bad_connections(shared_service: Service, query: str, code: str) -> None:
    if code is None:
        query += f"&token={shared_service.tokens['agent']}"
        code = "bad_sample_rate"
    with shared_service.client.websocket_connect(f"/api/v1/intake/stream?{query}") as ws:
        msg = json.loads(ws.receive_text())
    assert msg["type"] == "error" and msg["code"] == code


def test_technician_may_not_stream(shared_service: Service) -> None:
    token = shared_service.tokens["technician"]
    with shared_service.client.websocket_connect(f"/api/v1/intake/stream?token={token}") as ws:
        assert json.loads(ws.receive_text())["code"] == "forbidden"


def test_session_memory_is_bounded_and_odd_bytes_rejected() -> None:
    session = StreamSession(sample_rate=16000, config=StreamConfig(max_utterance_s=4.0))
    session.feed(pcm16(np.zeros(16000 * 10, dtype=np.float32)))
    assert len(session.buf) <= 2.2 * SAMPLE_RATE  # silence is not kept
    pcm = pcm16(load("c01.wav"))
    longest = 0
    for _ in range(4):  # the caller never stops talking
        for i in range(0, len(pcm), 3200):
            session.feed(pcm[i : i + 3200])
            longest = max(longest, len(session.buf))
    assert longest <= 4.5 * SAMPLE_RATE
    assert len(session.pending) >= 4
    with pytest.raises(ValueError):
        session.feed(b"\x00\x01\x02")
    assert common_prefix("门锁指纹", "门锁指文") == "门锁指"
