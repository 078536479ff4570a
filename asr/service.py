"""Call recordings to speaker-labelled, simplified, normalised transcripts."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asr.audio import SAMPLE_RATE, SILENCE_DBFS, DecodedAudio, dbfs, decode, louder
from asr.model_store import ensure_model
from asr.streaming import ANY_SPEECH_THRESHOLD, speech_spans
from asr.transcribe import Transcriber
from core.settings import get_settings

_lock = threading.Lock()
_transcriber: dict[str, Transcriber] = {}


def get_transcriber() -> Transcriber:
    """The process's Whisper model, assembled and loaded on first use."""
    settings = get_settings()
    key = f"{settings.asr_model}|{settings.asr_device}|{settings.asr_compute_type}"
    with _lock:
        if key not in _transcriber:
            path = ensure_model(settings.asr_model, settings.models_dir)
            _transcriber[key] = Transcriber(
                path,
                device=settings.asr_device,
                compute_type=settings.asr_compute_type,
                beam_size=settings.asr_beam_size,
            )
        return _transcriber[key]


@dataclass
class Transcript:
    """What was said in a call, per speaker, with times in seconds."""

    segments: list[dict[str, Any]]
    duration: float
    channels: int
    codec: str
    notes: list[str] = field(default_factory=list)

    def text(self, speaker: str | None = None) -> str:
        """The words of one speaker (or everyone), in time order."""
        return "，".join(
            s["text"] for s in self.segments if speaker is None or s["speaker"] == speaker
        )


def transcribe_audio(
    decoded: DecodedAudio,
    *,
    fix_text: Callable[[str], str],
    mix: bool = False,
    on_progress: Callable[[float], None] | None = None,
    hotwords: str | None = None,
) -> Transcript:
    """Transcribe every channel (stereo: agent and customer apart, unless mix) in order;
    on_progress gets the share of the work done (0..1) as decoding goes."""
    settings = get_settings()
    model = get_transcriber()
    if mix:
        tracks = [("speaker", decoded.mono())]
    elif len(decoded.channels) == 2:
        customer = settings.customer_channel
        speakers = {customer: "customer", 1 - customer: "agent"}
        tracks = [(speakers[c], decoded.channels[c]) for c in (0, 1)]
    else:
        tracks = [("customer", decoded.channels[0])]
    segments = []
    for n, (speaker, samples) in enumerate(tracks):
        if dbfs(samples) < SILENCE_DBFS and speech_spans(samples, threshold=ANY_SPEECH_THRESHOLD):
            samples = louder(samples)  # a faint line, not silence
        seconds = max(len(samples) / SAMPLE_RATE, 1e-6)

        def progress(t: float, n: int = n, seconds: float = seconds) -> None:
            if on_progress is not None:
                on_progress((n + min(t / seconds, 1.0)) / len(tracks))

        for seg in model.transcribe(samples, on_progress=progress, hotwords=hotwords):
            text = fix_text(seg.text)
            if text.strip():
                segments.append(
                    {
                        "start": round(seg.start, 2),
                        "end": round(seg.end, 2),
                        "speaker": speaker,
                        "text": text,
                        "raw_text": seg.text.strip(),
                    }
                )
    segments.sort(key=lambda s: (s["start"], s["speaker"]))
    notes = list(decoded.notes)
    if not segments:
        notes.append("no speech was recognised (silence, noise or music)")
    return Transcript(
        segments=segments,
        duration=round(len(decoded.channels[0]) / SAMPLE_RATE, 2),
        channels=len(decoded.channels),
        codec=decoded.codec,
        notes=notes,
    )


def decode_upload(data: bytes) -> DecodedAudio:
    """Decode an upload within the configured size and length limits."""
    return decode(data, max_seconds=get_settings().max_audio_seconds)
