"""One live call, whatever door it came through (WebSocket stream, AudioSocket, mod_audio_fork):
PCM in, partial and final text out while the caller speaks, and a ticket when the call ends.

The decoding is asr/streaming.py's: the session cuts utterances, the shared scheduler decodes
them. A door only moves bytes in and messages out (`send`; a door that cannot answer passes
none) and says when the call is over.
"""

import asyncio
import logging
import uuid
import wave
from collections.abc import Awaitable, Callable
from typing import Any

from asr.audio import decode
from asr.service import get_transcriber
from asr.streaming import FINAL, PARTIAL, StreamConfig, StreamSession, get_scheduler
from core.db import session_scope
from core.errors import ApiError
from core.settings import get_settings
from intake.audio import heard_speech, ticket_from_transcript
from intake.calls import CallFacts, find_call
from tickets.recordings import save_recording
from tickets.service import ticket_view
from triage.service import clean_text

log = logging.getLogger("hotline.live")
Sender = Callable[[dict[str, Any]], Awaitable[None]]
_concluding: set[asyncio.Task] = set()  # tickets being made for calls whose door has gone


async def _nobody(_message: dict[str, Any]) -> None:
    """The door has no way to answer the caller's side (AudioSocket)."""


class LiveCall:
    """One connected call: its session, its decodes in flight, its recording."""

    def __init__(
        self,
        session: StreamSession,
        scheduler: Any,
        *,
        send: Sender = _nobody,
        call_id: str | None = None,
    ) -> None:
        settings = get_settings()
        self.session = session
        self.scheduler = scheduler
        self.final_beam, self.partial_beam = settings.asr_beam_size, settings.stream_beam_size
        self.max_seconds = settings.max_audio_seconds
        self.call_id = call_id or uuid.uuid4().hex[:12]
        self._send = send
        # Partials are for someone watching; a door that cannot answer (AudioSocket) would
        # spend the shared decoder on text nobody reads.
        self.partials = send is not _nobody
        self.wake = asyncio.Event()
        self.ended = False
        self.partial_in_flight = False
        self.notes: list[str] = []
        self._partial_task: asyncio.Task | None = None
        self._decoder: asyncio.Task | None = None
        # The call as received goes to disk as it arrives (memory stays bounded); it becomes
        # the ticket's recording so reviewers can listen to it. The file name is ours: a door's
        # call id comes from outside.
        self.recording_path = (
            get_settings().data_dir / "recordings" / f"live-{uuid.uuid4().hex}.wav"
        )
        self.recording_path.parent.mkdir(parents=True, exist_ok=True)
        self.recording = wave.open(str(self.recording_path), "wb")  # noqa: SIM115 (lives as long as the call)
        self.recording.setnchannels(1)
        self.recording.setsampwidth(2)
        self.recording.setframerate(session.sample_rate)

    @classmethod
    async def open(
        cls, *, sample_rate: int, send: Sender = _nobody, call_id: str | None = None
    ) -> "LiveCall":
        """Load the model (first call only), start the call's decode loop. A sample rate the
        session cannot take raises ValueError."""
        settings = get_settings()
        config = StreamConfig(
            end_silence_s=settings.stream_end_silence_s,
            max_utterance_s=settings.stream_max_utterance_s,
            partial_every_s=settings.stream_partial_every_s,
        )
        session = StreamSession(sample_rate=sample_rate, config=config)
        transcriber = await asyncio.to_thread(get_transcriber)
        call = cls(session, get_scheduler(transcriber), send=send, call_id=call_id)
        call._decoder = asyncio.create_task(call._decode_loop())
        return call

    async def send(self, message: dict[str, Any]) -> None:
        """A message to the caller's side, if the door can carry it."""
        await self._send(message)

    def feed(self, pcm: bytes) -> None:
        """16-bit little-endian mono PCM at the call's rate; ValueError for an odd byte count."""
        self.session.feed(pcm)
        self.recording.writeframes(pcm)
        self.wake.set()

    @property
    def too_long(self) -> bool:
        """The call passed HOTLINE_MAX_AUDIO_SECONDS and must be ended."""
        return self.session.received_s > self.max_seconds

    def too_long_error(self) -> dict[str, Any]:
        """The message a door sends when it ends a call for passing the length limit."""
        return {
            "type": "error",
            "code": "call_too_long",
            "message": f"The call passed {self.max_seconds:.0f} s "
            "(HOTLINE_MAX_AUDIO_SECONDS); it was ended and its ticket created.",
        }

    async def _decode_loop(self) -> None:
        """Finals in order as utterances finish; partials when nothing is waiting."""
        session = self.session
        while True:
            await self.wake.wait()
            self.wake.clear()
            while session.pending:
                utt = session.pending.popleft()
                fut = self.scheduler.submit(self.call_id, FINAL, utt.samples, self.final_beam)
                try:
                    raw = await asyncio.wrap_future(fut)
                except Exception:  # the call goes on; its ticket says what was not read
                    log.exception("call %s: utterance %d not decoded", self.call_id, utt.index)
                    self.notes.append(f"utterance at {utt.start:.1f} s could not be decoded")
                    raw = ""
                segment = session.final(utt, raw, clean_text)
                if segment is not None:
                    await self.send({"type": "final", "segment": segment})
            if self.ended:
                return
            if self.partials and not self.partial_in_flight:
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

    async def hang_up(self) -> None:
        """The call is over: decode what is still open, wait for every final."""
        self.session.flush()
        self.ended = True
        self.wake.set()
        if self._decoder is not None:
            await self._decoder

    async def finish(
        self, *, channel: str, actor: str, call: CallFacts | None = None
    ) -> dict[str, Any]:
        """Hang up and make the call's ticket (its view); ApiError no_speech, with the
        recording dropped, when the VAD heard no speech at all."""
        await self.hang_up()
        try:
            return await asyncio.to_thread(self._create_ticket, channel, actor, call)
        except ApiError:
            self.recording.close()
            self.recording_path.unlink(missing_ok=True)
            raise

    async def finish_and_report(
        self, *, channel: str, actor: str, call: CallFacts | None = None
    ) -> dict[str, Any] | None:
        """finish(), then tell the caller's side: the ticket, or why there is none."""
        try:
            view = await self.finish(channel=channel, actor=actor, call=call)
        except ApiError as exc:
            error = {"code": exc.code, "message": exc.message}
            await self.send({"type": "end", "ticket": None, "error": error})
            return None
        await self.send({"type": "ticket", "ticket": view})
        return view

    async def conclude(
        self, *, channel: str, actor: str, call: CallFacts | None = None
    ) -> dict[str, Any] | None:
        """finish_and_report() in a task of its own: a door whose handler is cancelled (the
        server closing the socket under it) still gets the call's ticket made."""
        task = asyncio.create_task(self.finish_and_report(channel=channel, actor=actor, call=call))
        _concluding.add(task)
        task.add_done_callback(_concluding.discard)
        return await asyncio.shield(task)

    def _create_ticket(self, channel: str, actor: str, call: CallFacts | None) -> dict[str, Any]:
        with session_scope() as db:
            if call is not None:
                # The dialplan may announce the call after its audio began: read it now.
                known = find_call(db=db, call_id=call.call_id)
                call = CallFacts(
                    call.call_id,
                    call.caller or (known.caller if known else None),
                    call.line or (known.line if known else None),
                    call.door,
                    call.started_at or (known.started_at if known else None),
                )
            self.recording.close()
            ticket = ticket_from_transcript(
                db=db,
                segments=self.session.finals,
                notes=self.notes,
                duration=round(self.session.received_s, 2),
                channel=channel,
                actor=actor,
                heard_speech=self.session.cut_count > 0 or self._recording_has_speech(),
                call=call,
            )
            save_recording(ticket.id, self.recording_path.read_bytes())
            self.recording_path.unlink(missing_ok=True)
            return ticket_view(ticket)

    def _recording_has_speech(self) -> bool:
        """Whether the whole call, read again at the VAD's lowest threshold, holds speech
        that the live cutting missed (quiet or noisy speech): that call is not lost."""
        self.recording.close()
        data = self.recording_path.read_bytes()
        return heard_speech(decode(data, max_seconds=self.max_seconds + 60))
