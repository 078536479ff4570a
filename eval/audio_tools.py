"""Derive test recordings from the committed speech fixtures: telephone codecs, stereo, noise."""

import json
import tempfile
from pathlib import Path

import av
import numpy as np

from core.settings import PACKAGE_ROOT

# The committed Mandarin speech fixtures (see tests/fixtures/audio/generate_fixtures.py).
FIXTURES = PACKAGE_ROOT / "tests" / "fixtures" / "audio"


def references() -> list[dict]:
    """The fixtures' reference texts."""
    lines = (FIXTURES / "references.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def load(name: str) -> np.ndarray:
    """A fixture as 16 kHz mono float32."""
    with av.open(str(FIXTURES / name)) as c:
        frames = [f.to_ndarray().reshape(-1) for f in c.decode(audio=0)]
    return np.concatenate(frames).astype(np.float32) / 32768.0


def encode(
    samples: np.ndarray | list[np.ndarray],
    *,
    rate: int = 16000,
    fmt: str = "wav",
    codec: str = "pcm_s16le",
    out_rate: int | None = None,
    bit_rate: int | None = None,
) -> bytes:
    """Encode mono samples (or [left, right]) at rate into a container/codec, resampling."""
    chans = samples if isinstance(samples, list) else [samples]
    n = min(len(c) for c in chans)
    pcm = np.clip(np.vstack([c[:n] for c in chans]), -1, 1)
    s16 = (pcm * 32767).astype(np.int16)
    layout = "stereo" if len(chans) == 2 else "mono"
    # Some muxers (MP4/M4A) need a seekable real file.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"out.{fmt}"
        with av.open(str(path), mode="w", format=fmt) as out:
            stream = out.add_stream(codec, rate=out_rate or rate)
            stream.layout = layout
            if bit_rate:
                stream.bit_rate = bit_rate
            frame = av.AudioFrame.from_ndarray(s16.T.reshape(1, -1), format="s16", layout=layout)
            frame.sample_rate = rate
            frame.pts = 0
            resampler = av.audio.resampler.AudioResampler(
                format=stream.codec_context.format.name,
                layout=layout,
                rate=out_rate or rate,
                frame_size=stream.codec_context.frame_size or None,
            )
            for f in [*resampler.resample(frame), *resampler.resample(None)]:
                for packet in stream.encode(f):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        return path.read_bytes()


def telephone(
    samples: np.ndarray, *, codec: str = "pcm_mulaw", seed: int = 0, amr_bit_rate: int = 12200
) -> bytes:
    """An 8 kHz telephone-line version: band-limited, a little line noise, μ-law or AMR."""
    rng = np.random.default_rng(seed)
    noisy = samples + rng.normal(0, 0.004, len(samples)).astype(np.float32)
    if codec == "amr_nb":
        # 12.2 kbit/s is AMR-NB's mode for ordinary mobile voice calls (FFmpeg would pick ~5).
        return encode(
            noisy, fmt="amr", codec="libopencore_amrnb", out_rate=8000, bit_rate=amr_bit_rate
        )
    return encode(noisy, fmt="wav", codec=codec, out_rate=8000)


def add_noise(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """samples with white noise at snr_db below the speech's power (a noisy line)."""
    rng = np.random.default_rng(seed)
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    noise = rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), len(samples))
    return np.clip(samples + noise, -1.0, 1.0).astype(np.float32)
