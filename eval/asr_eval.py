"""`hotline eval asr`: Hotline's speech pipeline against plain faster-whisper, same files, same run.

For every committed speech fixture and its telephone versions (8 kHz μ-law with line noise,
8 kHz AMR-NB) it reports character error rate — raw (as written) and normalised (both sides
through the same simplification/number normalisation, punctuation dropped) — and the
real-time factor; then diagnosis top-1 from the audio against the same sentences typed.
"""

import json
import re
import time

import numpy as np

from core.settings import PACKAGE_ROOT

FIXTURES = PACKAGE_ROOT / "tests" / "fixtures" / "audio"
PUNCT = re.compile(r"[\s,，。.!！?？、:：;；\"'“”《》()（）\-]")


def cer(hyp: str, ref: str) -> float:
    """Character error rate (edit distance / reference length), punctuation ignored."""
    h, r = PUNCT.sub("", hyp), PUNCT.sub("", ref)
    prev = list(range(len(h) + 1))
    for i, rc in enumerate(r, start=1):
        cur = [i]
        for j, hc in enumerate(h, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rc != hc)))
        prev = cur
    return prev[-1] / max(len(r), 1)


def variants(samples: np.ndarray, name: str) -> list[tuple[str, bytes]]:
    """The 16 kHz original and two telephone versions of a fixture."""
    from eval.audio_tools import encode, telephone

    return [
        (f"{name}/16k", encode(samples)),
        (f"{name}/8k-ulaw", telephone(samples)),
        (f"{name}/8k-amr", telephone(samples, codec="amr_nb")),
    ]


def main() -> None:
    """Run both pipelines on every file variant and print the comparison."""
    from faster_whisper import WhisperModel

    from asr.audio import decode
    from asr.service import get_transcriber, transcribe_audio
    from eval.audio_tools import load
    from eval.workspace import demo_workspace
    from triage.normalize import get_normalizer
    from triage.service import asr_hotwords, clean_text, triage_text

    demo_workspace()
    refs = [json.loads(x) for x in (FIXTURES / "references.jsonl").read_text().splitlines() if x]
    get_transcriber()  # load ours before timing
    plain = WhisperModel(model_path(), device="cpu", compute_type="int8")
    norm = get_normalizer()
    rows = []
    typed_hits = audio_hits = labelled = 0
    for ref in refs:
        samples = load(ref["file"])
        seconds = len(samples) / 16000
        typed = triage_text(ref["text"]).diagnosis
        for label, data in variants(samples, ref["file"][:3]):
            decoded = decode(data, max_seconds=600)
            t0 = time.perf_counter()
            transcript = transcribe_audio(decoded, fix_text=clean_text)
            ours_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            segs, _ = plain.transcribe(decoded.mono(), language="zh", beam_size=5)
            plain_text = "".join(s.text for s in segs)
            plain_s = time.perf_counter() - t0
            hyp = transcript.text()
            hinted = None
            if label.endswith("8k-ulaw"):  # KB vocabulary as hotwords, on the telephone files
                with_hw = transcribe_audio(decoded, fix_text=clean_text, hotwords=asr_hotwords())
                hinted = cer(norm(with_hw.text()), norm(ref["text"]))
            rows.append(
                {
                    "file": label,
                    "ours_raw": cer(hyp, ref["normalized"]),
                    "plain_raw": cer(plain_text, ref["normalized"]),
                    "ours_norm": cer(norm(hyp), norm(ref["text"])),
                    "ours_hotwords_norm": hinted,
                    "plain_norm": cer(norm(plain_text), norm(ref["text"])),
                    "ours_rtf": ours_s / seconds,
                    "plain_rtf": plain_s / seconds,
                }
            )
            if label.endswith("8k-ulaw") and ref.get("expected_kb_id") is not None:
                labelled += 1
                typed_hits += typed["kb_id"] == ref["expected_kb_id"]
                heard = triage_text(hyp).diagnosis if hyp.strip() else {"kb_id": None}
                audio_hits += heard["kb_id"] == ref["expected_kb_id"]
    _print(rows, typed_hits, audio_hits, labelled)


def model_path() -> str:
    """The Whisper model folder Hotline uses (the plain baseline decodes with the same)."""
    from asr.model_store import ensure_model
    from core.settings import get_settings

    s = get_settings()
    return ensure_model(s.asr_model, s.models_dir)


def _print(rows: list[dict], typed_hits: int, audio_hits: int, labelled: int) -> None:
    def mean(key: str, suffix: str = "") -> float:
        vals = [r[key] for r in rows if r["file"].endswith(suffix)]
        return float(np.mean(vals)) if vals else float("nan")

    print(
        f"{'file':16} {'CER ours':>9} {'plain':>7} {'normCER ours':>13} {'plain':>7} "
        f"{'RTF ours':>9} {'plain':>7}"
    )
    for r in rows:
        print(
            f"{r['file']:16} {r['ours_raw']:9.1%} {r['plain_raw']:7.1%} {r['ours_norm']:13.1%} "
            f"{r['plain_norm']:7.1%} {r['ours_rtf']:9.3f} {r['plain_rtf']:7.3f}"
        )
    for suffix in ("16k", "8k-ulaw", "8k-amr"):
        print(
            f"mean {suffix:11} {mean('ours_raw', suffix):9.1%} {mean('plain_raw', suffix):7.1%} "
            f"{mean('ours_norm', suffix):13.1%} {mean('plain_norm', suffix):7.1%} "
            f"{mean('ours_rtf', suffix):9.3f} {mean('plain_rtf', suffix):7.3f}"
        )
    hinted = [r["ours_hotwords_norm"] for r in rows if r["ours_hotwords_norm"] is not None]
    print(
        f"normalised CER on 8k-ulaw with the KB vocabulary as Whisper hotwords: "
        f"{np.mean(hinted):.1%} (without: {mean('ours_norm', '8k-ulaw'):.1%})"
    )
    print(
        f"diagnosis top-1 from 8 kHz audio: {audio_hits}/{labelled}; "
        f"same sentences typed: {typed_hits}/{labelled}"
    )
