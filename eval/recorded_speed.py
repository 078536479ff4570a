"""Recorded calls: CPU seconds per audio second and CER, Hotline's decoding (VAD, silence never
decoded, beam 5, hallucination filter) against plain faster-whisper (beam 5), same calls,
same run.

    PYTHONPATH=. python -m eval.recorded_speed

The 16 fixtures are joined four by four into recorded calls (2.5 s of silence between the
sentences, 1 s at each end) and sent through the telephone (8 kHz μ-law with line noise).
CPU time is the process's (every decoder thread), so the figure does not depend on how many
cores the machine lends; CER is normalised as in `hotline eval asr`.
"""

import json
import time

import numpy as np

GAP_S, END_S = 2.5, 1.0


def _recorded_calls() -> list[tuple[np.ndarray, str]]:
    from asr.audio import decode
    from eval.asr_eval import FIXTURES
    from eval.audio_tools import load, telephone

    refs = [json.loads(x) for x in (FIXTURES / "references.jsonl").read_text().splitlines() if x]
    calls = []
    for i in range(0, len(refs), 4):
        group = refs[i : i + 4]
        parts = [np.zeros(int(END_S * 16000), dtype=np.float32)]
        for ref in group:
            parts += [load(ref["file"]), np.zeros(int(GAP_S * 16000), dtype=np.float32)]
        samples = np.concatenate(parts)
        tel = decode(telephone(samples), max_seconds=600).mono()
        calls.append((tel, "，".join(r["text"] for r in group)))
    return calls


def main() -> dict:
    """Run the three decoders over the calls; print and return the comparison."""
    from faster_whisper import WhisperModel

    from asr.service import get_transcriber
    from eval.asr_eval import cer, model_path
    from eval.workspace import demo_workspace
    from triage.normalize import get_normalizer
    from triage.service import clean_text

    demo_workspace()
    norm = get_normalizer()
    calls = _recorded_calls()
    audio_s = sum(len(c) / 16000 for c, _ in calls)
    ours = get_transcriber()
    plain = WhisperModel(model_path(), device="cpu", compute_type="int8")

    def plain_text(samples: np.ndarray) -> str:
        segs, _ = plain.transcribe(samples, language="zh", beam_size=5)
        return "".join(s.text for s in segs)

    def window(samples: np.ndarray) -> str:
        return "".join(clean_text(s.text) for s in ours.transcribe(samples))

    plain_text(calls[0][0][: 16000 * 3])  # load both models before timing
    window(calls[0][0][: 16000 * 3])
    out = {}
    decoders = (
        ("plain faster-whisper beam 5", plain_text),
        ("ours, VAD + beam 5", window),
    )
    for name, fn in decoders:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        hyps = [fn(samples) for samples, _ in calls]
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        errors = [cer(norm(h), norm(ref)) for h, (_, ref) in zip(hyps, calls, strict=True)]
        out[name] = {
            "cpu_s_per_audio_s": round(cpu / audio_s, 3),
            "wall_rtf": round(wall / audio_s, 3),
            "norm_cer": round(float(np.mean(errors)), 4),
        }
    print(f"{len(calls)} recorded calls, {audio_s:.1f} s of audio (8 kHz μ-law)")
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return out


if __name__ == "__main__":
    main()
