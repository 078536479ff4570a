"""OpenAI-compatible speech endpoint, so existing speech clients can use Hotline unchanged."""

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from asr.service import Transcript
from core.access import caller
from core.auth import Principal
from core.errors import GUARDED, ApiError, error_responses
from intake.api import read_upload
from intake.audio import transcribe_upload
from intake.schemas import TranscriptionOut

router = APIRouter(prefix="/v1/audio", tags=["speech (OpenAI-compatible)"])
Format = Literal["json", "text", "verbose_json", "srt", "vtt"]


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def render(transcript: Transcript, fmt: Format) -> Response:
    """The transcript in one of OpenAI's response formats."""
    text = transcript.text()
    segs = transcript.segments
    if fmt == "json":
        return JSONResponse({"text": text})
    if fmt == "text":
        return PlainTextResponse(text)
    if fmt == "verbose_json":
        return JSONResponse(
            {
                "task": "transcribe",
                "language": "chinese",
                "duration": transcript.duration,
                "text": text,
                "segments": [
                    {"id": i, "start": s["start"], "end": s["end"], "text": s["text"]}
                    for i, s in enumerate(segs)
                ],
            }
        )
    if fmt == "srt":
        blocks = [
            f"{i}\n{_stamp(s['start'], ',')} --> {_stamp(s['end'], ',')}\n{s['text']}\n"
            for i, s in enumerate(segs, start=1)
        ]
        return PlainTextResponse("\n".join(blocks), media_type="application/x-subrip")
    cues = [f"{_stamp(s['start'], '.')} --> {_stamp(s['end'], '.')}\n{s['text']}\n" for s in segs]
    return PlainTextResponse("WEBVTT\n\n" + "\n".join(cues), media_type="text/vtt")


@router.post(
    "/transcriptions",
    response_model=TranscriptionOut,
    responses={
        200: {
            "description": "json / verbose_json as the model; text, srt and vtt as plain text.",
            "content": {"text/plain": {}, "application/x-subrip": {}, "text/vtt": {}},
        },
        **error_responses(*GUARDED, 413, 415),
    },
)
async def transcriptions(
    file: UploadFile = File(),
    model: str = Form(default="whisper-1", description="Accepted for compatibility."),
    language: str | None = Form(default=None),
    prompt: str | None = Form(default=None, description="Accepted; KB vocabulary is used anyway."),
    response_format: str = Form(default="json"),
    temperature: float | None = Form(default=None),
    _: Principal = Depends(caller),
) -> Response:
    """Transcribe like OpenAI's /v1/audio/transcriptions (simplified Chinese, numbers as digits)."""
    if response_format not in ("json", "text", "verbose_json", "srt", "vtt"):
        raise ApiError(
            422,
            "invalid_response_format",
            "response_format must be one of json, text, verbose_json, srt, vtt.",
        )
    if language not in (None, "", "zh", "chinese"):
        raise ApiError(422, "unsupported_language", "Hotline transcribes Mandarin Chinese ('zh').")
    data = await read_upload(file)
    return render(transcribe_upload(data, mix=True), response_format)  # type: ignore[arg-type]
