"""False no_speech on noisy and faint 8 kHz calls: how many calls with speech would be refused
by the old rule (nothing recognised → no_speech) and by the new one (no speech heard by the
VAD at all → no_speech; speech not read → a needs_listening ticket). Every fixture is sent as
an 8 kHz μ-law telephone call with white noise at 5 and 0 dB SNR, and at -60 dBFS (below the
old loudness gate); noise alone must still be no_speech.

    PYTHONPATH=. python -m eval.no_speech_eval
"""

import json

import numpy as np

from asr.audio import dbfs, decode
from eval.audio_tools import FIXTURES, add_noise, encode, load, telephone
from intake.audio import heard_speech, transcribe_decoded


def _variants(samples: np.ndarray, seed: int) -> dict[str, bytes]:
    faint = samples * 10 ** ((-60 - dbfs(samples)) / 20)
    return {
        "snr5": telephone(add_noise(samples, 5, seed), seed=seed),
        "snr0": telephone(add_noise(samples, 0, seed), seed=seed),
        "faint-60dBFS": encode(faint.astype(np.float32), codec="pcm_s16le", out_rate=8000),
    }


def main() -> dict:
    """Counts per condition; prints them as JSON."""
    from eval.workspace import demo_workspace

    demo_workspace()
    names = sorted(p.name for p in FIXTURES.glob("c*.wav"))
    out: dict[str, dict[str, int]] = {}
    for i, name in enumerate(names):
        for cond, data in _variants(load(name), i).items():
            decoded = decode(data, max_seconds=600)
            t = transcribe_decoded(decoded)
            row = out.setdefault(cond, {"calls": 0, "old_no_speech": 0, "new_no_speech": 0})
            row["calls"] += 1
            row["old_no_speech"] += not t.segments
            row["new_no_speech"] += not t.segments and not heard_speech(decoded)
            row.setdefault("needs_listening", 0)
            row["needs_listening"] += not t.segments and heard_speech(decoded)
    rng = np.random.default_rng(7)
    noise_only = {"calls": 0, "new_no_speech": 0}
    for level in (0.003, 0.02, 0.08):
        noise = rng.normal(0, level, 16000 * 5).astype(np.float32)
        decoded = decode(telephone(noise), max_seconds=600)
        t = transcribe_decoded(decoded)
        noise_only["calls"] += 1
        noise_only["new_no_speech"] += not t.segments and not heard_speech(decoded)
    out["noise_only"] = noise_only
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
