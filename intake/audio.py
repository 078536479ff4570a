"""The audio door: a call recording becomes a transcript and a pre-diagnosed ticket."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from asr.audio import AudioError, DecodedAudio
from asr.service import Transcript, decode_upload, transcribe_audio
from core.errors import ApiError
from core.settings import get_settings
from tickets import service as tickets
from tickets.models import Ticket
from tickets.recordings import save_recording
from triage.service import asr_hotwords, clean_text, triage_text


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
) -> Ticket:
    """Triage what the customer said in a call into a ticket that keeps the whole transcript."""
    said = "，".join(s["text"] for s in segments if s["speaker"] == "customer")
    if not said.strip():
        raise ApiError(
            422,
            "no_speech",
            "No speech was recognised from the customer (silence, noise or music); "
            "no ticket was created.",
            {"duration": duration, "notes": notes},
        )
    result = triage_text(said)
    ticket = tickets.create_from_triage(
        db=db, triage=result, channel=channel, actor=actor, transcript=segments
    )
    if notes:
        tickets.add_note(db=db, ticket=ticket, actor="system:asr", note="; ".join(notes))
    return ticket


def ticket_from_audio(
    *, db: Session, decoded: DecodedAudio, data: bytes, channel: str, actor: str
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
    )
    save_recording(ticket.id, data)
    return ticket


def intake_audio(*, db: Session, data: bytes, channel: str, actor: str) -> Ticket:
    """Transcribe a recording and triage what the customer said into a ticket."""
    decoded = decode_or_reject(data)
    return ticket_from_audio(db=db, decoded=decoded, data=data, channel=channel, actor=actor)
