"""The audio door: a call recording becomes a transcript and a pre-diagnosed ticket."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from asr.audio import AudioError, DecodedAudio
from asr.service import Transcript, decode_upload, transcribe_audio
from asr.streaming import ANY_SPEECH_THRESHOLD, speech_spans
from core.errors import ApiError
from core.settings import get_settings
from intake import calls
from intake.calls import CallFacts
from tickets import service as tickets
from tickets.models import Ticket
from tickets.recordings import save_recording
from triage.result import TriageResult
from triage.service import asr_hotwords, clean_text, triage_text

NEEDS_LISTENING = "needs_listening"
UNREAD_TEXT = "（来电有语音，但未能识别出文字，请听录音）"
INTERRUPTED = "call_interrupted"
INTERRUPTED_NOTE = (
    "通话中断，服务进程重启: the process serving this call died mid-call; the ticket was made "
    "from the audio saved until then. Listen to the recording and check it before dispatch"
)
NOTHING_SAVED_TEXT = "（通话中断，服务进程退出前未保存到可用的语音，请回拨客户）"
UNREAD_NOTE = (
    "needs_listening: the VAD heard speech but the recogniser read none of it; "
    "listen to the recording and fill the ticket in"
)


def decode_or_reject(data: bytes) -> DecodedAudio:
    """Decode an upload; unusable audio becomes a 4xx with the reason."""
    try:
        return decode_upload(data)
    except AudioError as exc:
        status = 413 if exc.code == "audio_too_long" else 422
        raise ApiError(status, exc.code, exc.message) from exc


def transcribe_decoded(
    decoded: DecodedAudio, *, mix: bool = False, on_progress: Callable[[float], None] | None = None
) -> Transcript:
    """Transcribe decoded audio the way every audio door does (clean text, KB hotwords when
    HOTLINE_ASR_KB_HOTWORDS is on)."""
    hotwords = asr_hotwords() if get_settings().asr_kb_hotwords else None
    return transcribe_audio(
        decoded, fix_text=clean_text, mix=mix, on_progress=on_progress, hotwords=hotwords
    )


def transcribe_upload(data: bytes, *, mix: bool = False) -> Transcript:
    """Decode and transcribe an upload."""
    return transcribe_decoded(decode_or_reject(data), mix=mix)


def ticket_from_transcript(
    *,
    db: Session,
    segments: list[dict[str, Any]],
    notes: list[str],
    duration: float,
    channel: str,
    actor: str,
    heard_speech: bool,
    call: CallFacts | None = None,
    interrupted: bool = False,
    started_at: datetime | None = None,
) -> Ticket:
    """Triage what the customer said in a call into a ticket that keeps the whole transcript.

    A call is refused as no_speech only when the VAD heard no speech at all (heard_speech
    False): speech the recogniser could not read still becomes a ticket, held for a person to
    listen to its recording. call: the phone system's facts (caller number, line, call id).
    interrupted: the call was cut off by the death of the process serving it; its ticket is
    always made (even from nothing: someone calls back) and held for a quality check.
    started_at: when the call began, the ticket's created/reported time (recorded calls).
    """
    said = "，".join(s["text"] for s in segments if s["speaker"] == "customer")
    if said.strip():
        result = triage_text(said)
        hold = None
    elif heard_speech:
        result = _unread_triage()
        hold = NEEDS_LISTENING
    elif interrupted:
        result = _unread_triage(NOTHING_SAVED_TEXT)
    else:
        raise ApiError(
            422,
            "no_speech",
            "No speech was heard from the customer (silence, noise or music); "
            "no ticket was created.",
            {"duration": duration, "notes": notes},
        )
    if interrupted:
        result.fields[INTERRUPTED] = True
        result.fields[NEEDS_LISTENING] = True
        hold = INTERRUPTED
    if call is not None:
        calls.fill_triage(result, call)
    ticket = tickets.create_from_triage(
        db=db,
        triage=result,
        channel=channel,
        actor=actor,
        transcript=segments,
        source=calls.source(call) if call else None,
        hold_for_qc=hold,
        asked_at=started_at,
    )
    if interrupted:
        notes = [*notes, INTERRUPTED_NOTE]
    elif hold:
        notes = [*notes, UNREAD_NOTE]
    if notes:
        tickets.add_note(db=db, ticket=ticket, actor="system:asr", note="; ".join(notes))
    if call is not None:
        calls.link_ticket(db=db, call=call, ticket=ticket, actor=actor)
    return ticket


def join_call_ticket(
    *,
    db: Session,
    ticket_id: int,
    segments: list[dict[str, Any]],
    seconds: float,
    how: str,
    actor: str,
) -> Ticket:
    """One call id, one ticket: more audio of a call that already has its ticket (a second
    connection, a recovered part) goes into that ticket's history as a note, never into a
    second ticket. how: where the audio came from."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    said = "，".join(s["text"] for s in segments if s["speaker"] == "customer")
    note = f"more audio of this call ({seconds:.1f} s) {how}: {said or '(no words read)'}"
    tickets.add_note(db=db, ticket=ticket, actor=actor, note=note)
    return ticket


def _unread_triage(text: str = UNREAD_TEXT) -> TriageResult:
    """A triage result for a call whose speech could not be read: nothing extracted, no
    diagnosis, flagged so the ticket waits for someone to listen."""
    result = triage_text(text)
    diagnosis = result.diagnosis
    result.diagnosis = {
        "no_match": True,
        "confidence": 0.0,
        "threshold": diagnosis.get("threshold"),
        "kb_id": None,
        "candidates": [],
        "calibration": diagnosis.get("calibration"),
    }
    result.fields["needs_listening"] = True
    return result


def heard_speech(decoded: DecodedAudio) -> bool:
    """Whether the VAD finds any speech on the customer's side of a recording."""
    customer = get_settings().customer_channel if len(decoded.channels) == 2 else 0
    return bool(speech_spans(decoded.channels[customer], threshold=ANY_SPEECH_THRESHOLD))


def ticket_from_audio(
    *,
    db: Session,
    decoded: DecodedAudio,
    data: bytes,
    channel: str,
    actor: str,
    call: CallFacts | None = None,
) -> Ticket:
    """Transcribe decoded audio, triage what the customer said into a ticket, and keep the
    recording with the ticket (reviewers listen to it)."""
    t = transcribe_decoded(decoded)
    ticket = ticket_from_transcript(
        db=db,
        segments=t.segments,
        notes=t.notes,
        duration=t.duration,
        channel=channel,
        actor=actor,
        heard_speech=bool(t.segments) or heard_speech(decoded),
        call=call,
        started_at=call.started_at if call else None,
    )
    save_recording(ticket.id, data)
    return ticket


def intake_audio(*, db: Session, data: bytes, channel: str, actor: str) -> Ticket:
    """Transcribe a recording and triage what the customer said into a ticket."""
    decoded = decode_or_reject(data)
    return ticket_from_audio(db=db, decoded=decoded, data=data, channel=channel, actor=actor)
