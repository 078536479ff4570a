"""Decoding call recordings of any common format into 16 kHz float32 channels.

PyAV bundles FFmpeg, so WAV, MP3, M4A/AAC, AMR, OGG/Opus and telephone μ-law all decode
without system packages. Stereo recordings keep their channels apart (agent and customer
are usually on separate ones); everything is resampled to the 16 kHz Whisper expects.
"""

import io
from dataclasses import dataclass, field

import av
import numpy as np

SAMPLE_RATE = 16_000
SILENCE_DBFS = -55.0  # RMS below this over the whole call: nothing was said


class AudioError(ValueError):
    """The upload cannot be used; the message says why and what to send instead."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class DecodedAudio:
    """A recording as float32 mono channels at 16 kHz."""

    channels: list[np.ndarray]
    source_rate: int
    codec: str
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.channels[0]) / SAMPLE_RATE if self.channels else 0.0

    def mono(self) -> np.ndarray:
        """All channels mixed down."""
        if len(self.channels) == 1:
            return self.channels[0]
        return np.mean(np.vstack(self.channels), axis=0).astype(np.float32)


def pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] → 16-bit little-endian PCM bytes (what live clients send)."""
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def louder(samples: np.ndarray, target_dbfs: float = -25.0) -> np.ndarray:
    """Quiet speech raised to target_dbfs RMS (peaks clipped): a faint line is still a call,
    and Whisper reads it once it is loud enough."""
    level = dbfs(samples)
    if not np.isfinite(level):
        return samples
    gain = 10 ** ((target_dbfs - level) / 20)
    return np.clip(samples * gain, -1.0, 1.0).astype(np.float32)


def dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to full scale (-inf for digital silence)."""
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def decode(data: bytes, *, max_seconds: float) -> DecodedAudio:
    """Decode an uploaded file; raise AudioError with a clear reason if it is unusable."""
    if not data:
        raise AudioError("empty_audio", "The uploaded file is empty (0 bytes).")
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.FFmpegError, ValueError) as exc:
        raise AudioError(
            "unsupported_audio",
            "The file is not a readable audio recording (send WAV, MP3, M4A, AMR or OGG/Opus): "
            f"{exc}",
        ) from exc
    with container:
        streams = container.streams.audio
        if not streams:
            raise AudioError("no_audio_stream", "The file contains no audio stream.")
        stream = streams[0]
        n_channels = 2 if (stream.channels or 1) >= 2 else 1
        resampler = av.audio.resampler.AudioResampler(
            format="s16", layout="stereo" if n_channels == 2 else "mono", rate=SAMPLE_RATE
        )
        chunks: list[np.ndarray] = []
        total = 0
        truncated = False
        limit = int(max_seconds * SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += len(arr) // n_channels
                if total > limit:
                    raise AudioError(
                        "audio_too_long",
                        f"The recording is longer than {max_seconds:.0f} s "
                        "(HOTLINE_MAX_AUDIO_SECONDS); split it or raise the limit.",
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except (av.error.InvalidDataError, av.error.FFmpegError, EOFError):
            truncated = True  # keep what decoded; the caller is told
        codec = stream.codec_context.name if stream.codec_context else "unknown"
        source_rate = stream.rate or SAMPLE_RATE
    if not chunks:
        raise AudioError(
            "undecodable_audio", "No audio could be decoded: the file is corrupt or truncated."
        )
    interleaved = np.concatenate(chunks).astype(np.float32) / 32768.0
    channels = [interleaved[c::n_channels] for c in range(n_channels)]
    decoded = DecodedAudio(
        channels=channels, source_rate=source_rate, codec=codec, truncated=truncated
    )
    if truncated:
        decoded.notes.append("the file ended early or is damaged; only the readable part was used")
    if decoded.duration < 0.1:
        raise AudioError("audio_too_short", "The recording is shorter than 0.1 s.")
    return decoded


def resample(samples: np.ndarray, rate: int, out_rate: int) -> np.ndarray:
    """Float samples at rate → out_rate (polyphase filter)."""
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, out_rate)
    return resample_poly(samples, out_rate // g, rate // g).astype(np.float32)
