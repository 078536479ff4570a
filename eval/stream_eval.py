"""`hotline eval stream`: live calls through the running service's WebSocket, real-time paced.

A real `hotline serve` is started on a demo workspace; each telephone fixture (8 kHz, μ-law
round trip with line noise) is streamed at real-time pace followed by a second of silence.
Reported per call and as p50/p95:
  first partial  – seconds from the first speech sample sent to the first partial text;
  final latency  – seconds from the last speech sample sent to the call's last final text;
each beside plain faster-whisper run on the whole utterance once the caller stops (what a
non-streaming system can do at best: no partials, text after a full decode). Then the same
with 4 calls at once: whether the service keeps up (final latency and how far behind the
finals arrive).
"""

import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

SPEECH_PAD_S = 1.0  # silence before and after the caller's words


def _calls() -> list[tuple[str, np.ndarray, float, float]]:
    """(name, 8 kHz samples, speech start s, speech end s) per telephone fixture."""
    from asr.audio import decode, resample
    from asr.streaming import speech_spans
    from eval.audio_tools import load, references, telephone

    out = []
    for ref in references():
        tel = decode(telephone(load(ref["file"])), max_seconds=600).mono()
        spans = speech_spans(tel)
        if not spans:
            continue
        pad = np.zeros(int(SPEECH_PAD_S * 16000), dtype=np.float32)
        padded = np.concatenate([pad, tel, pad])
        start, end = spans[0][0] + SPEECH_PAD_S, spans[-1][1] + SPEECH_PAD_S
        out.append((ref["file"][:3], resample(padded, 16000, 8000), start, end))
    return out


def _one(url: str, token: str, call: tuple) -> dict:
    from intake.live_client import stream_call

    name, samples, start, end = call
    result = stream_call(url, token, samples, sample_rate=8000)
    finals = [t for t, m in result.messages if m["type"] == "final"]
    partial = result.first("partial")
    return {
        "call": name,
        "first_partial": None if partial is None else partial - start,
        "final_latency": None if not finals else finals[-1] - end,
        "behind": None if not finals else finals[-1] - result.sent_until,
        "ticket": result.ticket is not None,
    }


def _plain(calls: list[tuple]) -> list[float]:
    """Seconds plain faster-whisper needs for the whole utterance after the caller stops."""
    from faster_whisper import WhisperModel

    from asr.audio import resample
    from eval.asr_eval import model_path

    model = WhisperModel(model_path(), device="cpu", compute_type="int8")
    out = []
    for _name, samples, start, end in calls:
        full = resample(samples, 8000, 16000)
        audio = full[int((start - 0.2) * 16000) : int((end + 0.2) * 16000)]
        t0 = time.perf_counter()
        segs, _ = model.transcribe(audio, language="zh", beam_size=5)
        list(segs)  # decoding happens while the generator is consumed
        out.append(time.perf_counter() - t0)
    return out


def _pct(values: list[float], q: float) -> float:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return float("nan")
    return vals[min(len(vals) - 1, round(q * (len(vals) - 1)))]


def main(concurrency: int = 4) -> None:
    """Run the benchmark and print the comparison."""
    from eval.console_server import running_server

    calls = _calls()
    with (
        tempfile.TemporaryDirectory(prefix="hotline-stream-eval-") as tmp,
        running_server(Path(tmp)) as server,
    ):
        url, token = server.url.replace("http://", "ws://"), server.token
        _one(url, token, calls[0])  # warm the service's model
        single = [_one(url, token, c) for c in calls]
        plain = _plain(calls)
        together: list[dict] = []
        for i in range(0, len(calls) - concurrency + 1, concurrency):
            batch = calls[i : i + concurrency]
            results: list[dict] = [{}] * len(batch)

            def run(k: int, batch: list[tuple] = batch, results: list[dict] = results) -> None:
                results[k] = _one(url, token, batch[k])

            threads = [threading.Thread(target=run, args=(k,)) for k in range(len(batch))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            together.extend(results)
    print(f"{'call':6} {'first partial':>14} {'final after stop':>17} {'plain full decode':>18}")
    for r, p in zip(single, plain, strict=True):
        fp = "-" if r["first_partial"] is None else f"{r['first_partial']:.2f} s"
        fl = "-" if r["final_latency"] is None else f"{r['final_latency']:.2f} s"
        print(f"{r['call']:6} {fp:>14} {fl:>17} {p:17.2f} s")
    finals = sorted(r["final_latency"] for r in together if r["final_latency"] is not None)
    print(f"{concurrency} calls, every final after stop (s):", " ".join(f"{v:.2f}" for v in finals))
    for label, rows in (("1 call", single), (f"{concurrency} calls", together)):
        fp = [r["first_partial"] for r in rows]
        fl = [r["final_latency"] for r in rows]
        print(
            f"{label:8}: first partial p50 {_pct(fp, 0.5):.2f} s p95 {_pct(fp, 0.95):.2f} s; "
            f"final after the caller stops p50 {_pct(fl, 0.5):.2f} s p95 {_pct(fl, 0.95):.2f} s; "
            f"tickets {sum(r['ticket'] for r in rows)}/{len(rows)}"
        )
    print(
        f"plain faster-whisper (no partials; text after a full decode once the caller stops): "
        f"p50 {statistics.median(plain):.2f} s p95 {_pct(plain, 0.95):.2f} s"
    )
