"""The live-call door: a WebSocket that turns streamed PCM into partials, finals and a ticket.

Protocol (also in the README):
  connect  ws://HOST/api/v1/intake/stream?token=TOKEN&sample_rate=8000|16000&channel=phone
           [&call_id=ID of a call registered with POST /api/v1/calls]
           (or send the token as `Authorization: Bearer TOKEN`)
  server → {"type": "ready", "call_id", "sample_rate"}
  client → binary frames: 16-bit little-endian mono PCM at sample_rate, any chunk size
  server → {"type": "partial", "utterance", "stable", "text"} while the caller speaks
  server → {"type": "final", "segment": {"start", "end", "speaker", "text", "raw_text"}}
  client → {"type": "stop"} when the call ends (or just closes the socket)
  server → {"type": "ticket", "ticket": {...}} then closes; {"type": "end", "ticket": null,
           "error": {...}} when nothing was said; {"type": "error", "code", "message"} for bad
           input (the call goes on unless the message says it was closed).
A call whose client disconnects without "stop" still becomes a ticket from what was heard.
"""

import asyncio
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.encoders import jsonable_encoder

from core import access
from core.auth import Principal, bearer_token
from core.db import session_scope
from core.errors import ApiError
from intake.calls import CallFacts, check_call_id
from intake.live_call import LiveCall

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])
log = logging.getLogger("hotline.stream")
CLOSE_CODES = {401: 4401, 403: 4403}  # WebSocket close codes of refused connections


def _authorize(ws: WebSocket, token: str | None) -> Principal:
    with session_scope() as db:
        return access.websocket_caller(db, ws, token or bearer_token(ws))


class JsonSocket:
    """The call's WebSocket: sends one message at a time, and stops sending once gone."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.connected = True
        self._lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        if not self.connected:
            return
        async with self._lock:
            try:
                text = json.dumps(jsonable_encoder(message), ensure_ascii=False)
                await self.ws.send_text(text)
            except Exception:  # whatever the transport raises, the client is gone
                self.connected = False


async def _receive_audio(sock: JsonSocket, call: LiveCall) -> None:
    """Feed binary frames to the call until the client stops or goes away."""
    while True:
        msg = await sock.ws.receive()
        if msg["type"] == "websocket.disconnect":
            sock.connected = False
            return
        if msg.get("bytes") is not None:
            try:
                call.feed(msg["bytes"])
            except ValueError as exc:
                await call.send({"type": "error", "code": "bad_audio", "message": str(exc)})
                continue
            if call.too_long:
                await call.send(call.too_long_error())
                return
            continue
        try:
            control = json.loads(msg.get("text") or "")
        except ValueError:
            control = None
        if isinstance(control, dict) and control.get("type") == "stop":
            return
        await call.send(
            {
                "type": "error",
                "code": "bad_message",
                "message": 'Send audio as binary frames and {"type": "stop"} to end the call.',
            }
        )


@router.websocket("/stream")
async def stream(
    ws: WebSocket,
    token: str | None = None,
    sample_rate: int = 16000,
    channel: str = "phone",
    call_id: str | None = None,
) -> None:
    """A live call: PCM in, partial and final text out, a pre-diagnosed ticket at the end.
    call_id: a call registered with POST /api/v1/calls (its caller number fills the ticket)."""
    await ws.accept()
    try:
        who = await asyncio.to_thread(_authorize, ws, token)
        facts = CallFacts(check_call_id(call_id), door="stream") if call_id else None
    except ApiError as exc:
        await ws.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await ws.close(code=CLOSE_CODES.get(exc.status, 4400))
        return
    if sample_rate not in (8000, 16000):
        await ws.send_json(
            {
                "type": "error",
                "code": "bad_sample_rate",
                "message": "sample_rate must be 8000 or 16000 (16-bit mono PCM).",
            }
        )
        await ws.close(code=4400)
        return
    sock = JsonSocket(ws)
    call = await LiveCall.open(
        sample_rate=sample_rate,
        send=sock.send,
        door="stream",
        channel=channel,
        actor=who.actor,
        call=facts,
    )
    await call.send({"type": "ready", "call_id": call.call_id, "sample_rate": sample_rate})
    try:
        await _receive_audio(sock, call)
    finally:
        await call.conclude()
    if sock.connected:
        await ws.close()
