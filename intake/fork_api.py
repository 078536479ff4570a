"""The FreeSWITCH mod_audio_fork door: a WebSocket that takes a forked call's audio.

Protocol (mod_audio_fork, subprotocol `audio.drachtio.org`):
  connect  ws://HOST/api/v1/intake/fork?token=TOKEN[&sample_rate=8000|16000][&channels=1|2]
           (or `Authorization: Bearer TOKEN`, or Basic auth with the token as password:
           MOD_AUDIO_BASIC_AUTH_USERNAME/PASSWORD)
  client → first, a text frame: the dialplan's JSON metadata, e.g.
           {"call_id": "${uuid}", "caller": "${caller_id_number}", "line":
           "${destination_number}", "sampleRate": 8000, "mixType": "stereo", "callerChannel": 0}
  client → binary frames: L16 (16-bit little-endian) at sampleRate (metadata, else the
           query's sample_rate, else 8 kHz); mono, or stereo interleaved with the caller on
           callerChannel (default 0, FreeSWITCH's read leg)
  server → text frames {"type": "partial"|"final"|"ticket"|"end"|"error", …} as on
           /api/v1/intake/stream (mod_audio_fork raises them as mod_audio_fork::json events)
  client closes = hangup: the call becomes its ticket.
"""

import asyncio
import base64
import binascii
import json
import logging
from typing import Any

import numpy as np
from fastapi import APIRouter, WebSocket

from asr.streaming import SAMPLE_RATES
from core import access
from core.auth import Principal, bearer_token
from core.db import session_scope
from core.errors import ApiError
from intake import calls
from intake.calls import CallFacts
from intake.live_call import LiveCall
from intake.stream_api import CLOSE_CODES, JsonSocket

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])
log = logging.getLogger("hotline.fork")
SUBPROTOCOL = "audio.drachtio.org"
META_KEYS = ("call_id", "uuid", "caller", "line", "sampleRate", "channels", "mixType")


def _token(ws: WebSocket, token: str | None) -> str | None:
    """The query's token, a Bearer/X-API-Key header, or the password of Basic auth."""
    if token:
        return token
    header = ws.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            _user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or None
    return bearer_token(ws)


def _authorize(ws: WebSocket, token: str | None) -> Principal:
    with session_scope() as db:
        return access.websocket_caller(db, ws, _token(ws, token))


def _int(value: Any) -> int | None:
    """A number as metadata may write it: 8000, "8000", "8k", "16k" (-1: not a number)."""
    if value is None:
        return None
    text = str(value).strip().lower()
    try:
        return int(float(text[:-1]) * 1000) if text.endswith("k") else int(text)
    except ValueError:
        return -1


def _register(meta: dict[str, Any], actor: str) -> tuple[CallFacts | None, list[str]]:
    """The call the metadata describes, registered; problems with it are reported, not fatal
    (a live caller is not refused for a dialplan's typo)."""
    raw_id = meta.get("call_id") or meta.get("uuid")
    if not raw_id:
        return None, []
    extra = {k: v for k, v in meta.items() if k not in META_KEYS}
    problems = []
    with session_scope() as db:
        try:
            call, _ = calls.register_call(
                db=db,
                call_id=str(raw_id),
                actor=actor,
                caller=meta.get("caller"),
                line=meta.get("line"),
                door="fork",
                extra=extra,
            )
            return calls.facts(call), problems
        except ApiError as exc:
            db.rollback()
            problems.append(exc.message)
        try:
            call, _ = calls.register_call(db=db, call_id=str(raw_id), actor=actor, door="fork")
            return calls.facts(call), problems
        except ApiError as exc:
            problems.append(exc.message)
            return None, problems


class _Channels:
    """Interleaved 16-bit stereo → the caller's channel (odd leftovers wait for the next frame)."""

    def __init__(self, channels: int, pick: int) -> None:
        self.channels, self.pick = channels, pick
        self.rest = b""

    def __call__(self, data: bytes) -> bytes:
        if self.channels == 1:
            return data
        data = self.rest + data
        whole = len(data) // (2 * self.channels) * 2 * self.channels
        self.rest = data[whole:]
        samples = np.frombuffer(data[:whole], dtype="<i2").reshape(-1, self.channels)
        return samples[:, self.pick].tobytes()


async def _receive_audio(
    ws: WebSocket, sock: JsonSocket, call: LiveCall, caller_side: _Channels, audio: bytes | None
) -> None:
    """Feed the caller's channel to the call until FreeSWITCH closes the socket."""
    while True:
        if audio is not None:
            try:
                call.feed(caller_side(audio))
            except ValueError as exc:
                await call.send({"type": "error", "code": "bad_audio", "message": str(exc)})
            if call.too_long:
                await call.send(call.too_long_error())
                return
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            sock.connected = False
            return
        audio = msg.get("bytes")  # later text frames (metadata updates) are not audio


async def _refuse(ws: WebSocket, code: str, message: str, close: int = 4400) -> None:
    await ws.send_json({"type": "error", "code": code, "message": message})
    await ws.close(code=close)


@router.websocket("/fork")
async def fork(
    ws: WebSocket,
    token: str | None = None,
    sample_rate: int | None = None,
    channels: int | None = None,
) -> None:
    """A call forked by FreeSWITCH's mod_audio_fork: metadata, then L16 audio; the ticket is
    made when FreeSWITCH closes the socket (hangup)."""
    offered = ws.scope.get("subprotocols") or []
    await ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    try:
        who = await asyncio.to_thread(_authorize, ws, token)
    except ApiError as exc:
        await _refuse(ws, exc.code, exc.message, CLOSE_CODES.get(exc.status, 4400))
        return
    first = await ws.receive()
    if first["type"] == "websocket.disconnect":
        return
    meta: dict[str, Any] = {}
    audio = first.get("bytes")
    if first.get("text") is not None:
        try:
            meta = json.loads(first["text"])
        except ValueError:
            meta = None  # type: ignore[assignment]
        if not isinstance(meta, dict):
            await _refuse(ws, "bad_metadata", "The first text frame must be a JSON object.")
            return
    rate = _int(meta.get("sampleRate")) or sample_rate or 8000
    stereo = meta.get("mixType") == "stereo"
    width = _int(meta.get("channels")) or (2 if stereo else None) or channels or 1
    pick = _int(meta.get("callerChannel")) or 0
    if rate not in SAMPLE_RATES or width not in (1, 2) or pick not in (0, 1):
        rates = ", ".join(map(str, SAMPLE_RATES))
        await _refuse(ws, "bad_audio_format", f"sampleRate one of {rates}; channels 1 or 2.")
        return
    facts, problems = await asyncio.to_thread(_register, meta, who.actor)
    sock = JsonSocket(ws)
    call = await LiveCall.open(
        sample_rate=rate, send=sock.send, door="fork", actor=who.actor, call=facts
    )
    for problem in problems:
        await call.send({"type": "error", "code": "invalid_call", "message": problem})
    try:
        await _receive_audio(ws, sock, call, _Channels(width, pick), audio)
    finally:
        view = await call.conclude()
    log.info(
        "fork call %s ended, %.1f s: %s",
        call.call_id,
        call.session.received_s,
        f"ticket {view['number']}" if view else "no speech, no ticket",
    )
    if sock.connected:
        await ws.close()
