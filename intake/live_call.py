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

from asr.audio import AudioError, decode
from asr.service import get_transcriber
from asr.streaming import FINAL, PARTIAL, StreamConfig, StreamSession, get_scheduler
from core.db import session_scope
from core.errors import ApiError
from core.settings import get_settings
from intake import live_recovery
from intake.audio import heard_speech, join_call_ticket, ticket_from_transcript
from intake.calls import CallFacts, find_call
from tickets.recordings import save_recording
from tickets.service import ticket_view
from triage.service import clean_text

log = logging.getLogger("hotline.live")
Sender = Callable[[dict[str, Any]], Awaitable[None]]
_concluding: set[asyncio.Task] = set()  # tickets being made for calls whose door has gone
_live: dict[str, "LiveCall"] = {}  # calls open on this process, by key (the heartbeat's list)
_beating: asyncio.Task | None = None
RECOVERED = "call_recovered"


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
        door: str = "stream",
        channel: str = "phone",
        actor: str = "system:live",
        call: CallFacts | None = None,
    ) -> None:
        settings = get_settings()
        self.session = session
        self.scheduler = scheduler
        self.final_beam, self.partial_beam = settings.asr_beam_size, settings.stream_beam_size
        self.max_seconds = settings.max_audio_seconds
        self.key = uuid.uuid4().hex  # ours: a door's call id comes from outside
        self.call_id = call.call_id if call else self.key[:12]
        self.door, self.channel, self.actor, self.call = door, channel, actor, call
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
        # The call as received goes to disk as it arrives (memory stays bounded), unbuffered:
        # if this process dies, another recovers the call from it (intake/live_recovery.py).
        # It becomes the ticket's recording so reviewers can listen to it.
        self.recording_path = live_recovery.spool_path(self.key)
        self.recording_path.parent.mkdir(parents=True, exist_ok=True)
        self._spool = open(self.recording_path, "wb", buffering=0)  # noqa: SIM115 (lives as long as the call)
        self.recording = wave.open(self._spool, "wb")  # noqa: SIM115
        self.recording.setnchannels(1)
        self.recording.setsampwidth(2)
        self.recording.setframerate(session.sample_rate)
        self.tracked = False  # a live_calls row holds the call for recovery
        self.saved = (0.0, 0)  # seconds received and finals as last written to the row

    @classmethod
    async def open(
        cls,
        *,
        sample_rate: int,
        send: Sender = _nobody,
        door: str = "stream",
        channel: str = "phone",
        actor: str = "system:live",
        call: CallFacts | None = None,
    ) -> "LiveCall":
        """Load the model (first call only), start the call's decode loop and record it as
        live on this process. A sample rate the session cannot take raises ValueError.
        channel, actor, call: what its ticket will say (call: the phone system's facts)."""
        settings = get_settings()
        config = StreamConfig(
            end_silence_s=settings.stream_end_silence_s,
            max_utterance_s=settings.stream_max_utterance_s,
            partial_every_s=settings.stream_partial_every_s,
        )
        session = StreamSession(sample_rate=sample_rate, config=config)
        transcriber = await asyncio.to_thread(get_transcriber)
        live = cls(
            session,
            get_scheduler(transcriber),
            send=send,
            door=door,
            channel=channel,
            actor=actor,
            call=call,
        )
        start = live_recovery.LiveCallStart(
            live.key,
            call.call_id if call else None,
            door,
            channel,
            actor,
            sample_rate,
            live.recording_path,
        )
        try:
            await asyncio.to_thread(live_recovery.start, start)
            live.tracked = True
        except Exception:  # the call is served all the same, only not recoverable
            log.exception("call %s not recorded as live; it cannot be recovered", live.call_id)
        live._decoder = asyncio.create_task(live._decode_loop())
        _keep_beating(live)
        return live

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

    async def finish(self) -> dict[str, Any]:
        """Hang up and make the call's ticket (its view); ApiError no_speech, with the
        recording dropped, when the VAD heard no speech at all; ApiError call_recovered when
        another process took the call for recovery meanwhile (its ticket is made there)."""
        await self.hang_up()
        try:
            return await asyncio.to_thread(self._create_ticket)
        except ApiError as exc:
            self._close_spool()
            if exc.code != RECOVERED:
                self.recording_path.unlink(missing_ok=True)
                if self.tracked:
                    await asyncio.to_thread(live_recovery.forget, self.key)
            raise
        finally:
            _live.pop(self.key, None)

    async def finish_and_report(self) -> dict[str, Any] | None:
        """finish(), then tell the caller's side: the ticket, or why there is none."""
        try:
            view = await self.finish()
        except ApiError as exc:
            error = {"code": exc.code, "message": exc.message}
            await self.send({"type": "end", "ticket": None, "error": error})
            return None
        await self.send({"type": "ticket", "ticket": view})
        return view

    async def conclude(self) -> dict[str, Any] | None:
        """finish_and_report() in a task of its own: a door whose handler is cancelled (the
        server closing the socket under it) still gets the call's ticket made."""
        task = asyncio.create_task(self.finish_and_report())
        _concluding.add(task)
        task.add_done_callback(_concluding.discard)
        return await asyncio.shield(task)

    def _close_spool(self) -> None:
        self.recording.close()
        self._spool.close()

    def _create_ticket(self) -> dict[str, Any]:
        call = self.call
        with session_scope() as db:
            if self.tracked and not live_recovery.release(db=db, key=self.key):
                log.warning("call %s was recovered by another process meanwhile", self.call_id)
                raise ApiError(
                    409,
                    RECOVERED,
                    "This call was taken over by another process (its heartbeat stopped) "
                    "and its ticket is made there.",
                )
            if call is not None:
                # The dialplan may announce the call after its audio began: read it now.
                known = find_call(db=db, call_id=call.call_id)
                if known is not None and known.ticket_id is not None:
                    return self._join_ticket(db, known.ticket_id)
                call = CallFacts(
                    call.call_id,
                    call.caller or (known.caller if known else None),
                    call.line or (known.line if known else None),
                    call.door,
                    call.started_at or (known.started_at if known else None),
                )
            self._close_spool()
            ticket = ticket_from_transcript(
                db=db,
                segments=self.session.finals,
                notes=self.notes,
                duration=round(self.session.received_s, 2),
                channel=self.channel,
                actor=self.actor,
                heard_speech=self.session.cut_count > 0 or self._recording_has_speech(),
                call=call,
            )
            save_recording(ticket.id, self.recording_path.read_bytes())
            self.recording_path.unlink(missing_ok=True)
            return ticket_view(ticket)

    def _join_ticket(self, db: Any, ticket_id: int) -> dict[str, Any]:
        """The call already has its ticket (a second connection the PBX opened for it): this
        audio's words go into that ticket's history."""
        ticket = join_call_ticket(
            db=db,
            ticket_id=ticket_id,
            segments=self.session.finals,
            seconds=self.session.received_s,
            how="came on another connection",
            actor=self.actor,
        )
        self._close_spool()
        self.recording_path.unlink(missing_ok=True)
        return ticket_view(ticket)

    def _recording_has_speech(self) -> bool:
        """Whether the whole call, read again at the VAD's lowest threshold, holds speech
        that the live cutting missed (quiet or noisy speech): that call is not lost."""
        self._close_spool()
        data = self.recording_path.read_bytes()
        try:
            decoded = decode(data, max_seconds=self.max_seconds + 60)
        except AudioError:  # no frame arrived (a refused start, a hang-up at once): no speech
            return False
        return heard_speech(decoded)


def _keep_beating(call: LiveCall) -> None:
    """List the call for the heartbeat, starting the process's heartbeat if none runs."""
    global _beating
    if call.tracked:
        _live[call.key] = call
    # A heartbeat of another event loop (a server started again in the same process) is
    # not beating for this one.
    stale = _beating is None or _beating.done()
    if stale or _beating.get_loop() is not asyncio.get_running_loop():  # type: ignore[union-attr]
        _beating = asyncio.create_task(_heartbeat())


async def _heartbeat() -> None:
    """While this process serves live calls: every HOTLINE_LIVE_CALL_HEARTBEAT_S renew their
    heartbeat and save how much each has received and its text so far (a missed beat is
    logged, not fatal: the stale limit is several beats long)."""
    every = get_settings().live_call_heartbeat_s
    while _live:
        await asyncio.sleep(every)
        changed = {}
        for key, call in list(_live.items()):
            saved = (round(call.session.received_s, 2), len(call.session.finals))
            if saved != call.saved:
                call.saved = saved
                changed[key] = (saved[0], list(call.session.finals), list(call.notes))
        try:
            await asyncio.to_thread(live_recovery.beat, changed)
        except Exception:
            log.exception("live-call heartbeat not written")
