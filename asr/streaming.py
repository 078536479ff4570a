"""Live calls: PCM chunks in, partial and stable final text out, with bounded memory per call.

Policy. Audio is cut into utterances by voice activity (Silero VAD, bundled with
faster-whisper): an utterance ends after `end_silence_s` without speech, or is cut at
`max_utterance_s` so a call that never pauses still uses bounded memory. Only a finished
utterance produces *final* text, decoded once, in order. While the caller speaks the open
utterance is re-decoded for *partials*; of two consecutive hypotheses only their common
prefix is reported as `stable` (LocalAgreement-2), the rest as tentative. Audio with no
speech is never decoded, so silence and line noise cannot turn into invented text.

Load. Every live call shares one decode thread per model: finished utterances go before
partials, a call never has more than one partial waiting (a newer one replaces it), partials
are skipped while the decoder is busy more than 80 % of the time. Partials, and finals while
another call is live, are decoded over the utterance's own length instead of Whisper's 30 s
window (about 4x faster, as accurate on telephone audio); a lone call's finals get the full
window, and a final with other finals queued behind it a greedy search. Under load partials
get rarer while final text keeps up.
"""

import atexit
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from asr.audio import SAMPLE_RATE
from asr.transcribe import Transcriber

FINAL, PARTIAL = 0, 1
SATURATED = 0.8  # decoder busy share above which partials are skipped
VAD_WINDOW_S = 1.5  # trailing audio re-checked for speech after each chunk
VAD_EVERY_S = 0.2
PAUSE_S = 0.25  # silence after speech from which no partial is started
LIVE_S = 10.0  # a call that asked for a decode this recently counts as live
# Lower than the VAD's cutting threshold (0.5): deciding "nobody spoke" must not miss quiet
# or noisy speech, since that decision loses the call (docs/pbx.md).
ANY_SPEECH_THRESHOLD = 0.3
# Rates a live call may send (telephony's, AudioSocket's); all are resampled to 16 kHz.
SAMPLE_RATES = (8000, 12000, 16000, 24000, 32000, 44100, 48000)
STUCK_S = 120.0  # one decode running longer than this: the decoder is stuck


@dataclass
class StreamConfig:
    """Endpointing and partial-result settings of a live call."""

    end_silence_s: float = 0.5
    max_utterance_s: float = 20.0
    partial_every_s: float = 0.8
    max_idle_s: float = 2.0  # leading non-speech kept before an utterance starts


@dataclass
class Utterance:
    """A finished stretch of speech waiting for its final decode."""

    index: int
    start: float
    end: float
    samples: np.ndarray


class DecodeScheduler:
    """One decode thread for every live call on a model, finals first."""

    def __init__(self, transcriber: Transcriber) -> None:
        self.transcriber = transcriber
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._seq = itertools.count()
        self._waiting_partial: dict[str, Future] = {}
        self._spans: deque[tuple[float, float]] = deque(maxlen=64)  # recent decode times
        self._last_seen: dict[str, float] = {}  # call → when it last asked for a decode
        self._lock = threading.Lock()
        self._decoding_since: float | None = None
        self._thread = threading.Thread(target=self._run, name="asr-stream-decoder", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the decoder thread once the decode in progress ends. Registered for process
        exit: a thread still inside the model while the interpreter shuts down aborts the
        process ("terminate called without an active exception")."""
        self._queue.put((-1, next(self._seq), "", None, 0, None))  # sorts before any work
        self._thread.join(timeout_s)

    def problem(self) -> str | None:
        """Why this decoder cannot serve live calls (thread gone, a decode hung), or None."""
        if not self._thread.is_alive():
            return "decoder thread stopped"
        since = self._decoding_since
        if since is not None and time.monotonic() - since > STUCK_S:
            return f"one decode running for {time.monotonic() - since:.0f} s"
        return None

    def busy(self, window_s: float = 5.0) -> float:
        """Share of the last window_s seconds the decoder spent decoding."""
        now = time.monotonic()
        since = now - window_s
        with self._lock:
            spans = list(self._spans)
        spent = sum(max(0.0, min(b, now) - max(a, since)) for a, b in spans)
        return spent / window_s

    def submit(self, call_id: str, kind: int, samples: np.ndarray, beam_size: int) -> Future:
        """Queue a decode; for partials, drop this call's older partial still waiting, and
        refuse partials outright while the decoder is nearly saturated (finals come first)."""
        fut: Future = Future()
        now = time.monotonic()
        with self._lock:
            self._last_seen = {c: t for c, t in self._last_seen.items() if now - t < LIVE_S}
            self._last_seen[call_id] = now
        if kind == PARTIAL and self.busy() > SATURATED:
            fut.cancel()
            return fut
        with self._lock:
            if kind == PARTIAL:
                older = self._waiting_partial.pop(call_id, None)
                if older is not None:
                    older.cancel()
                self._waiting_partial[call_id] = fut
        self._queue.put((kind, next(self._seq), call_id, samples, beam_size, fut))
        return fut

    def _run(self) -> None:
        while True:
            kind, _seq, call_id, samples, beam_size, fut = self._queue.get()
            if fut is None:
                return  # closed
            with self._lock:
                if kind == PARTIAL and self._waiting_partial.get(call_id) is fut:
                    del self._waiting_partial[call_id]
                # Other calls are live: every call's final text must keep up, not just this one's.
                now = time.monotonic()
                live = sum(1 for t in self._last_seen.values() if now - t < LIVE_S)
                shared = live > 1 or self._queue.qsize() > 0
                with self._queue.mutex:
                    finals_waiting = any(item[0] == FINAL for item in self._queue.queue)
            if kind == FINAL and finals_waiting:
                # Callers stopped at the same moment: a greedy decode (about half the time of
                # a beam search) keeps the last of them within the latency target.
                beam_size = 1
            if not fut.set_running_or_notify_cancel():
                continue
            started = self._decoding_since = time.monotonic()
            try:
                text = self.transcriber.decode_utterance(
                    samples, beam_size=beam_size, short_context=kind == PARTIAL or shared
                )
                fut.set_result(text)
            except Exception as exc:  # handed to the call that asked
                fut.set_exception(exc)
            self._decoding_since = None
            with self._lock:
                self._spans.append((started, time.monotonic()))


_schedulers: dict[int, DecodeScheduler] = {}
_schedulers_lock = threading.Lock()


def get_scheduler(transcriber: Transcriber) -> DecodeScheduler:
    """The shared scheduler of a loaded model."""
    with _schedulers_lock:
        key = id(transcriber)
        if key not in _schedulers:
            _schedulers[key] = DecodeScheduler(transcriber)
        return _schedulers[key]


def health_check() -> str:
    """Readiness: every live-call decoder started in this process is alive and not hung."""
    with _schedulers_lock:
        schedulers = list(_schedulers.values())
    problems = [p for p in (s.problem() for s in schedulers) if p]
    if problems:
        raise RuntimeError("; ".join(problems))
    return f"{len(schedulers)} decoder(s) running" if schedulers else "no live call yet"


def _vad_model() -> Any:
    from faster_whisper.vad import get_vad_model

    return get_vad_model()


def speech_spans(samples: np.ndarray, *, threshold: float = 0.5) -> list[tuple[float, float]]:
    """(start, end) seconds of speech in 16 kHz samples (threshold: Silero's speech
    probability from which a frame counts as speech)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    _vad_model()  # loaded once, cached by faster-whisper
    samples = np.asarray(samples, dtype=np.float32)
    opts = VadOptions(
        threshold=threshold,
        min_silence_duration_ms=150,
        speech_pad_ms=60,
        min_speech_duration_ms=120,
    )
    return [
        (ts["start"] / SAMPLE_RATE, ts["end"] / SAMPLE_RATE)
        for ts in get_speech_timestamps(samples, opts)
    ]


def common_prefix(a: str, b: str) -> str:
    """The longest shared beginning of two hypotheses."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


@dataclass
class StreamSession:
    """The state of one live call: what is buffered, what is final."""

    sample_rate: int
    config: StreamConfig = field(default_factory=StreamConfig)
    speaker: str = "customer"
    buf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    buf_start: float = 0.0  # call time (s) of buf[0]
    received_s: float = 0.0
    speech_end: float | None = None  # call time of the last speech in the open utterance
    speech_start: float | None = None
    vad_checked_at: float = 0.0
    partial_from: float = 0.0  # buffer length (s) at the last partial
    last_hypothesis: str = ""
    stable: str = ""
    pending: deque = field(default_factory=deque)
    finals: list[dict[str, Any]] = field(default_factory=list)
    cut_count: int = 0  # utterances closed so far; the open one has this index
    _resampler: Any = None

    def __post_init__(self) -> None:
        if self.sample_rate not in SAMPLE_RATES:
            raise ValueError(f"sample_rate must be one of {', '.join(map(str, SAMPLE_RATES))}")
        if self.sample_rate != SAMPLE_RATE:
            self._resampler = av.audio.resampler.AudioResampler(
                format="s16", layout="mono", rate=SAMPLE_RATE
            )

    def feed(self, pcm: bytes) -> None:
        """Append little-endian 16-bit mono PCM; cut finished utterances into `pending`."""
        if len(pcm) % 2:
            raise ValueError("PCM chunks must hold whole 16-bit samples (an even byte count)")
        samples = np.frombuffer(pcm, dtype="<i2")
        if self._resampler is not None and samples.size:
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = self.sample_rate
            out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
            samples = np.concatenate(out) if out else np.zeros(0, dtype=np.int16)
        chunk = samples.astype(np.float32) / 32768.0
        self.buf = np.concatenate([self.buf, chunk])
        self.received_s = self.buf_start + len(self.buf) / SAMPLE_RATE
        if self.received_s - self.vad_checked_at >= VAD_EVERY_S:
            self._endpoint()

    def _endpoint(self) -> None:
        cfg = self.config
        self.vad_checked_at = self.received_s
        window = int(VAD_WINDOW_S * SAMPLE_RATE)
        tail_start = max(0, len(self.buf) - window)
        offset = self.buf_start + tail_start / SAMPLE_RATE
        spans = speech_spans(self.buf[tail_start:])
        if spans:
            start, end = spans[0][0] + offset, spans[-1][1] + offset
            if self.speech_start is None:
                self.speech_start = start
            self.speech_end = max(self.speech_end or 0.0, end)
        if self.speech_end is None:
            # Nothing said yet: keep only a short lead-in so silence costs no memory.
            keep = int(cfg.max_idle_s * SAMPLE_RATE)
            if len(self.buf) > keep:
                drop = len(self.buf) - keep
                self.buf = self.buf[drop:]
                self.buf_start += drop / SAMPLE_RATE
            return
        if self.received_s - self.speech_end >= cfg.end_silence_s:
            self._cut(self.speech_end + 0.2)
        elif self.received_s - self.buf_start >= cfg.max_utterance_s:
            self._cut(self.received_s)

    def _cut(self, at: float) -> None:
        """Close the open utterance at call time `at` and queue it for its final decode."""
        n = min(len(self.buf), max(0, int((at - self.buf_start) * SAMPLE_RATE)))
        start = max(self.buf_start, (self.speech_start or self.buf_start) - 0.2)
        s0 = int((start - self.buf_start) * SAMPLE_RATE)
        self.pending.append(Utterance(self.cut_count, start, at, self.buf[s0:n].copy()))
        self.cut_count += 1
        self.buf = self.buf[n:]
        self.buf_start += n / SAMPLE_RATE
        self.speech_start = self.speech_end = None
        self.partial_from = 0.0
        self.last_hypothesis = self.stable = ""

    def flush(self) -> None:
        """The call ended: whatever speech is still open becomes an utterance."""
        if len(self.buf) and self.speech_end is None:
            self._endpoint()
        if self.speech_end is not None:
            self._cut(self.received_s)

    def partial_audio(self) -> np.ndarray | None:
        """The open utterance, when enough new speech arrived since the last partial."""
        if self.speech_start is None:
            return None
        if self.speech_end is not None and self.received_s - self.speech_end > PAUSE_S:
            return None  # the caller paused: keep the decoder free for the final coming next
        length = len(self.buf) / SAMPLE_RATE
        if length - self.partial_from < self.config.partial_every_s:
            return None
        self.partial_from = length
        s0 = int(max(0.0, self.speech_start - 0.2 - self.buf_start) * SAMPLE_RATE)
        return self.buf[s0:].copy()

    def partial(self, text: str) -> dict[str, Any]:
        """A partial message. What two consecutive hypotheses agree on becomes stable and is
        never taken back within the utterance (LocalAgreement-2); the rest is tentative."""
        agreed = common_prefix(self.last_hypothesis, text)
        if len(agreed) > len(self.stable) and agreed.startswith(self.stable):
            self.stable = agreed
        self.last_hypothesis = text
        shared = len(common_prefix(self.stable, text))
        return {
            "type": "partial",
            "utterance": self.cut_count,
            "stable": self.stable,
            "text": self.stable + text[shared:],
        }

    def final(self, utt: Utterance, raw: str, fix_text: Callable[[str], str]) -> dict | None:
        """Record an utterance's final text; None when nothing was recognised in it."""
        text = fix_text(raw) if raw.strip() else ""
        if not text.strip():
            return None
        segment = {
            "start": round(utt.start, 2),
            "end": round(utt.end, 2),
            "speaker": self.speaker,
            "text": text,
            "raw_text": raw.strip(),
        }
        self.finals.append(segment)
        return segment
