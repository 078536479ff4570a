"""The audio door: a call recording becomes a transcript and a pre-diagnosed ticket."""

from sqlalchemy.orm import Session

from asr.audio import AudioError
from asr.service import Transcript, decode_upload, transcribe_audio
from core.errors import ApiError
from tickets import service as tickets
from tickets.models import Ticket
from triage.service import clean_text, triage_text


def transcribe_upload(data: bytes, *, mix: bool = False) -> Transcript:
    """Decode and transcribe an upload; unusable audio becomes a 4xx with the reason."""
    try:
        decoded = decode_upload(data)
    except AudioError as exc:
        status = 413 if exc.code == "audio_too_long" else 422
        raise ApiError(status, exc.code, exc.message) from exc
    return transcribe_audio(decoded, fix_text=clean_text, mix=mix)


def intake_audio(*, db: Session, data: bytes, channel: str, actor: str) -> Ticket:
    """Transcribe a recording and triage what the customer said into a ticket."""
    transcript = transcribe_upload(data)
    said = transcript.text("customer")
    if not said.strip():
        raise ApiError(
            422,
            "no_speech",
            "No speech was recognised in the recording (silence, noise or music); "
            "no ticket was created.",
            {"duration": transcript.duration, "notes": transcript.notes},
        )
    result = triage_text(said)
    ticket = tickets.create_from_triage(
        db=db, triage=result, channel=channel, actor=actor, transcript=transcript.segments
    )
    if transcript.notes:
        tickets.add_note(db=db, ticket=ticket, actor="system:asr", note="; ".join(transcript.notes))
    return ticket
