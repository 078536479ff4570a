"""The live-call door: a WebSocket that turns streamed PCM into partials, finals and a ticket.

Protocol (also in the README):
  connect  ws://HOST/api/v1/intake/stream?token=TOKEN&sample_rate=8000|16000&channel=phone
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
import os
import uuid
import wave
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.encoders import jsonable_encoder

from asr.service import get_transcriber
from asr.streaming import FINAL, PARTIAL, StreamConfig, StreamSession, get_scheduler
from core.auth import Principal, Role, authorize, bearer_token
from core.db import session_scope
from core.errors import ApiError
from core.settings import get_settings
from intake.audio import ticket_from_transcript
from tickets.recordings import recording_path
from tickets.service import ticket_view
from triage.service import clean_text

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])
log = logging.getLogger("hotline.stream")
STREAM_ROLES = (Role.agent, Role.supervisor)


def _authorize(ws: WebSocket, token: str | None) -> Principal:
    with session_scope() as db:
        return authorize(db=db, plain=token or bearer_token(ws), roles=STREAM_ROLES)


class _Call:
    """One connected call: the session, its decodes in flight, and the socket's sends."""

    def __init__(
        self, ws: WebSocket, session: StreamSession, scheduler: Any, beams: tuple[int, int]
    ) -> None:
        self.ws = ws
        self.session = session
        self.scheduler = scheduler
        self.final_beam, self.partial_beam = beams
        self.call_id = uuid.uuid4().hex[:12]
        self.wake = asyncio.Event()
        self.ended = False
        self.connected = True
        self.partial_in_flight = False
        self._partial_task: asyncio.Task | None = None
        self._send_lock = asyncio.Lock()
        # The call as received goes to disk as it arrives (memory stays bounded); it becomes
        # the ticket's recording so reviewers can listen to it.
        self.recording_path = recording_path(0).with_name(f"live-{self.call_id}.wav")
        self.recording_path.parent.mkdir(parents=True, exist_ok=True)
        self.recording = wave.open(str(self.recording_path), "wb")  # noqa: SIM115 (lives as long as the call)
        self.recording.setnchannels(1)
        self.recording.setsampwidth(2)
        self.recording.setframerate(session.sample_rate)

    async def send(self, message: dict[str, Any]) -> None:
        if not self.connected:
            return
        async with self._send_lock:
            try:
                text = json.dumps(jsonable_encoder(message), ensure_ascii=False)
                await self.ws.send_text(text)
            except (WebSocketDisconnect, RuntimeError):
                self.connected = False

    async def decode_loop(self) -> None:
        """Finals in order as utterances finish; partials when nothing is waiting."""
        session = self.session
        while True:
            await self.wake.wait()
            self.wake.clear()
            while session.pending:
                utt = session.pending.popleft()
                fut = self.scheduler.submit(self.call_id, FINAL, utt.samples, self.final_beam)
                raw = await asyncio.wrap_future(fut)
                segment = session.final(utt, raw, clean_text)
                if segment is not None:
                    await self.send({"type": "final", "segment": segment})
            if self.ended:
                return
            if not self.partial_in_flight:
                audio = session.partial_audio()
                if audio is not None:
                    self.partial_in_flight = True
                    self._partial_task = asyncio.create_task(self._partial(audio))

    async def _partial(self, audio: Any) -> None:
        utterance = self.session.cut_count
        fut = self.scheduler.submit(self.call_id, PARTIAL, audio, self.partial_beam)
        try:
            raw = await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            raw = ""  # replaced by a newer partial of this call
        finally:
            self.partial_in_flight = False
        # A partial of an utterance that has meanwhile become final is stale.
        same = utterance == self.session.cut_count
        text = clean_text(raw) if raw.strip() else ""
        if text and same and not self.ended:
            await self.send(self.session.partial(text))
        self.wake.set()


async def _receive_audio(call: _Call, max_seconds: float) -> None:
    """Feed binary frames to the session until the client stops or goes away."""
    while True:
        msg = await call.ws.receive()
        if msg["type"] == "websocket.disconnect":
            call.connected = False
            return
        if msg.get("bytes") is not None:
            try:
                call.session.feed(msg["bytes"])
                call.recording.writeframes(msg["bytes"])
            except ValueError as exc:
                await call.send({"type": "error", "code": "bad_audio", "message": str(exc)})
                continue
            if call.session.received_s > max_seconds:
                await call.send(
                    {
                        "type": "error",
                        "code": "call_too_long",
                        "message": f"The call passed {max_seconds:.0f} s "
                        "(HOTLINE_MAX_AUDIO_SECONDS); it was ended and its ticket created.",
                    }
                )
                return
            call.wake.set()
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


def _create_ticket(call: _Call, channel: str, actor: str) -> dict[str, Any]:
    with session_scope() as db:
        ticket = ticket_from_transcript(
            db=db,
            segments=call.session.finals,
            notes=[],
            duration=round(call.session.received_s, 2),
            channel=channel,
            actor=actor,
        )
        call.recording.close()
        os.replace(call.recording_path, recording_path(ticket.id))
        return ticket_view(ticket)


@router.websocket("/stream")
async def stream(
    ws: WebSocket, token: str | None = None, sample_rate: int = 16000, channel: str = "phone"
) -> None:
    """A live call: PCM in, partial and final text out, a pre-diagnosed ticket at the end."""
    await ws.accept()
    try:
        who = await asyncio.to_thread(_authorize, ws, token)
    except ApiError as exc:
        await ws.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await ws.close(code=4401 if exc.status == 401 else 4403)
        return
    settings = get_settings()
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
    config = StreamConfig(
        end_silence_s=settings.stream_end_silence_s,
        max_utterance_s=settings.stream_max_utterance_s,
        partial_every_s=settings.stream_partial_every_s,
    )
    transcriber = await asyncio.to_thread(get_transcriber)
    call = _Call(
        ws,
        StreamSession(sample_rate=sample_rate, config=config),
        get_scheduler(transcriber),
        (settings.asr_beam_size, settings.stream_beam_size),
    )
    await call.send({"type": "ready", "call_id": call.call_id, "sample_rate": sample_rate})
    decoder = asyncio.create_task(call.decode_loop())
    try:
        await _receive_audio(call, settings.max_audio_seconds)
    finally:
        call.session.flush()
        call.ended = True
        call.wake.set()
        await decoder
    try:
        view = await asyncio.to_thread(_create_ticket, call, channel, who.actor)
    except ApiError as exc:
        call.recording.close()
        call.recording_path.unlink(missing_ok=True)
        error = {"code": exc.code, "message": exc.message}
        await call.send({"type": "end", "ticket": None, "error": error})
    else:
        await call.send({"type": "ticket", "ticket": view})
    if call.connected:
        await ws.close()
