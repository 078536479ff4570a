"""The Asterisk AudioSocket door: a TCP server that turns each PBX call into a live call.

Protocol (Asterisk's AudioSocket(), res_audiosocket): every frame is 1 byte kind, 2 bytes
big-endian payload length, the payload.
  0x01  the call's UUID (16 bytes), first — the key of `POST /api/v1/calls`
  0x10  signed linear 16-bit little-endian mono audio, 8 kHz, 20 ms frames
  0x11–0x16  the same at 12, 16, 24, 32, 44.1 and 48 kHz (newer Asterisk)
  0x03  a DTMF digit (kept in the ticket's history, not decoded)
  0x00  hangup; 0xff  an error (its code byte is kept in the history)
Hangup, an error, a dropped connection or IDLE_S without a frame ends the call and makes its
ticket. One UUID is one call: a new connection with the UUID of a call this process still has
(dropped less than HOTLINE_AUDIOSOCKET_REJOIN_S ago, or still open) continues it; one whose
call is a ticket already, or is held by another process, is refused with a hangup frame.
AudioSocket has no authentication: the server binds HOTLINE_AUDIOSOCKET_HOST (127.0.0.1 by
default) and, with HOTLINE_AUDIOSOCKET_ALLOW, accepts only those addresses.
"""

import asyncio
import contextlib
import ipaddress
import logging
import uuid
from dataclasses import dataclass, field

from core.db import session_scope
from core.settings import Settings
from intake import calls, live_recovery
from intake.calls import CallFacts
from intake.live_call import LiveCall

log = logging.getLogger("hotline.audiosocket")

HANGUP, UUID, DTMF, ERROR = 0x00, 0x01, 0x03, 0xFF
AUDIO_RATES = {
    0x10: 8000,
    0x11: 12000,
    0x12: 16000,
    0x13: 24000,
    0x14: 32000,
    0x15: 44100,
    0x16: 48000,
}
FIRST_FRAME_S = 5.0  # the UUID comes at once from Asterisk; anything else is not a PBX
IDLE_S = 10.0  # Asterisk sends a frame every 20 ms while the call is up: this long is a dead line
FEED_S = 0.1  # frames are fed to the decoder in 100 ms batches, not 20 ms ones (less copying)
STOP_S = 60.0  # at shutdown, calls in progress get this long to become tickets
ACTOR = "system:audiosocket"
DROPPED = "dropped connection"


class ProtocolError(ValueError):
    """The peer does not speak AudioSocket."""


def frame(kind: int, payload: bytes = b"") -> bytes:
    """One AudioSocket frame."""
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next frame's kind and payload (IncompleteReadError when the peer went away)."""
    header = await reader.readexactly(3)
    length = int.from_bytes(header[1:3], "big")
    return header[0], (await reader.readexactly(length) if length else b"")


def parse_allow(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or networks (10.0.0.5, 10.1.0.0/16); empty: any."""
    return [ipaddress.ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip()]


@dataclass
class _Line:
    """A connection carrying a call on this process."""

    writer: asyncio.StreamWriter
    call: LiveCall | None = None  # set when the connection ends
    done: asyncio.Event = field(default_factory=asyncio.Event)
    handed_over: bool = False  # a newer connection of the same UUID took the call


@dataclass
class _Held:
    """A call whose connection dropped, waiting a moment for Asterisk to reconnect."""

    call: LiveCall
    rejoined: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Ending:
    """Why and how a call ended, for the log and the ticket's history."""

    reason: str = DROPPED
    notes: list[str] = field(default_factory=list)


class AudioSocketServer:
    """The listening socket and the calls it is serving."""

    def __init__(self, settings: Settings) -> None:
        self.host = settings.audiosocket_host
        self.port = settings.audiosocket_port or 0
        self.allow = parse_allow(settings.audiosocket_allow)
        self._server: asyncio.Server | None = None
        self.rejoin_s = settings.audiosocket_rejoin_s
        self._stopping = False
        self._calls: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._lines: dict[str, _Line] = {}  # UUIDs with a connection up on this process
        self._held: dict[str, _Held] = {}  # UUIDs whose connection dropped moments ago

    async def start(self) -> None:
        """Listen; the port actually bound is in `port` (0 asks for any free one)."""
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("AudioSocket listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening; calls still up are ended as hung up and become tickets."""
        self._stopping = True  # no waiting for reconnects: the calls become tickets now
        if self._server is not None:
            self._server.close()
        for writer in list(self._calls.values()):
            writer.close()
        if self._calls:
            await asyncio.wait(list(self._calls), timeout=STOP_S)

    def _allowed(self, host: str) -> bool:
        if not self.allow:
            return True
        address = ipaddress.ip_address(host.split("%")[0])
        return any(address in net for net in self.allow)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        if not self._allowed(str(peer[0])):
            log.warning("AudioSocket connection from %s refused (HOTLINE_AUDIOSOCKET_ALLOW)", peer)
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._calls[task] = writer
        try:
            await self._serve(reader, writer)
        except ProtocolError as exc:
            log.warning("AudioSocket connection from %s closed: %s", peer[0], exc)
        except Exception:  # one broken call must not take the door down
            log.exception("AudioSocket call from %s failed", peer[0])
        finally:
            self._calls.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            kind, payload = await asyncio.wait_for(read_frame(reader), FIRST_FRAME_S)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError) as exc:
            raise ProtocolError("no UUID frame") from exc
        if kind != UUID or len(payload) != 16:
            raise ProtocolError(f"first frame kind 0x{kind:02x}, not the call's UUID")
        call_id = str(uuid.UUID(bytes=payload))
        # The newest connection of a UUID owns it from now: a third that comes while the
        # second is still taking the call over takes it from the second, never a copy.
        line, previous = _Line(writer), self._lines.get(call_id)
        self._lines[call_id] = line
        try:
            call = await self._continued(call_id, previous)
            if call is not None:
                call.notes.append("the PBX reconnected AudioSocket; the call went on")
            elif refusal := await asyncio.to_thread(_refusal_elsewhere, call_id):
                log.warning("AudioSocket call %s: connection refused: %s", call_id, refusal)
                writer.write(frame(HANGUP))
                return
            call, ending = await self._receive(reader, writer, call_id, call)
            line.call = call
        finally:
            line.done.set()
            if self._lines.get(call_id) is line:
                del self._lines[call_id]
        if line.handed_over:
            return  # a newer connection of the same call carries it on
        writer.close()  # Asterisk goes on with the dialplan while the ticket is made
        if call is None:
            log.info("AudioSocket call %s ended (%s) before any audio", call_id, ending.reason)
            return
        call.notes.extend(ending.notes)
        if ending.reason == DROPPED and await self._rejoined(call_id, call):
            return  # the new connection carries the call on and ends it
        view = await call.finish_and_report()
        log.info(
            "AudioSocket call %s ended (%s), %.1f s: %s",
            call_id,
            ending.reason,
            call.session.received_s,
            f"ticket {view['number']}" if view else "no speech, no ticket",
        )

    async def _continued(self, call_id: str, previous: "_Line | None") -> LiveCall | None:
        """The call in progress on this process that a new connection with its UUID
        continues: one whose connection dropped moments ago, or one whose connection is still
        open here (Asterisk reconnected before this side saw the old one fail: it is closed
        and its call handed over). None: the connection starts a call of its own."""
        held = self._held.pop(call_id, None)
        if held is not None:
            held.rejoined.set()
            return held.call
        if previous is None:
            return None
        previous.handed_over = True
        previous.writer.close()
        await previous.done.wait()
        return previous.call

    async def _rejoined(self, call_id: str, call: LiveCall) -> bool:
        """After a dropped connection, wait HOTLINE_AUDIOSOCKET_REJOIN_S for Asterisk to
        reconnect with the same UUID; True when it did (that connection now has the call)."""
        if self.rejoin_s <= 0 or self._stopping:
            return False
        held = _Held(call)
        self._held[call_id] = held
        try:
            await asyncio.wait_for(held.rejoined.wait(), self.rejoin_s)
        except TimeoutError:
            # A reconnect that came just as the wait ran out has already taken the call.
            return self._held.pop(call_id, None) is None
        return True

    async def _receive(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        call_id: str,
        call: LiveCall | None,
    ) -> tuple[LiveCall | None, _Ending]:
        """Feed the call's audio until it ends; the call is opened at the first audio frame,
        whose kind gives the rate (or continued: a reconnection of a call in progress)."""
        ending = _Ending()
        pending = bytearray()
        digits: list[str] = []
        try:
            while True:
                try:
                    kind, payload = await asyncio.wait_for(read_frame(reader), IDLE_S)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                except TimeoutError:
                    ending.reason = f"no frame for {IDLE_S:.0f} s"
                    break
                if kind == HANGUP:
                    ending.reason = "hangup"
                    break
                if kind == ERROR:
                    code = payload.hex() or "none"
                    ending.reason = f"error frame {code}"
                    ending.notes.append(f"the PBX reported AudioSocket error {code}")
                    break
                if kind == DTMF:
                    digits.append(payload.decode("ascii", "replace"))
                    continue
                rate = AUDIO_RATES.get(kind)
                if rate is None:
                    log.warning("AudioSocket call %s: frame kind 0x%02x ignored", call_id, kind)
                    continue
                if call is None:
                    facts = CallFacts(call_id, door="audiosocket")
                    call = await LiveCall.open(
                        sample_rate=rate, door="audiosocket", actor=ACTOR, call=facts
                    )
                elif rate != call.session.sample_rate:
                    log.warning("AudioSocket call %s: %d Hz frame dropped mid-call", call_id, rate)
                    continue
                pending += payload
                if len(pending) >= FEED_S * rate * 2:
                    _feed(call, pending)
                if call.too_long:
                    ending.reason = "too long"
                    ending.notes.append(call.too_long_error()["message"])
                    writer.write(frame(HANGUP))
                    break
        finally:
            if call is not None and pending:
                _feed(call, pending)
        if digits:
            ending.notes.append(f"the caller pressed {''.join(digits)}")
        return call, ending


def _refusal_elsewhere(call_id: str) -> str | None:
    """The call already became a ticket, or another process serves it (or its process died
    and the recovery sweep will make its ticket)."""
    with session_scope() as db:
        ticket = calls.call_ticket(db=db, call_id=call_id)
        if ticket is not None:
            return f"the call already became ticket {ticket.number}"
        if live_recovery.live_elsewhere(db=db, call_id=call_id):
            return "another process holds this call (live, or to be recovered)"
    return None


def _feed(call: LiveCall, pending: bytearray) -> None:
    """Hand the batched audio to the call (a stray odd byte is dropped, not fatal)."""
    data = bytes(pending[: len(pending) // 2 * 2])
    pending.clear()
    call.feed(data)


async def start_audiosocket(settings: Settings) -> AudioSocketServer:
    """Start the AudioSocket door (the app's lifespan calls this when
    HOTLINE_AUDIOSOCKET_PORT is set)."""
    server = AudioSocketServer(settings)
    await server.start()
    return server
