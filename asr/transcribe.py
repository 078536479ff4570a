"""Speech to text with faster-whisper, guarded against Whisper's known inventions.

Whisper fills silence and music with text it saw in training ("字幕由…提供", "请不吝点赞
订阅") and sometimes loops on a phrase. Silence never reaches the model (loudness check and
VAD), and segments that look like those failure modes are dropped.
"""

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from asr.audio import SAMPLE_RATE, SILENCE_DBFS, dbfs

HALLUCINATION = re.compile(
    r"(字幕|訂閱|订阅|点赞|點贊|打赏|打賞|感谢观看|感謝觀看|谢谢观看|謝謝觀看|请不吝|請不吝|"
    r"Amara|明镜|明鏡|栏目|欢迎收看|歡迎收看|下集|本期|视频|視頻)"
)
LOOP = re.compile(r"(.{1,8}?)\1{3,}")


@dataclass
class RawSegment:
    """One recognised stretch of speech, before normalisation."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float


def is_hallucination(seg: RawSegment) -> bool:
    """Whether a segment looks invented rather than heard."""
    text = seg.text.strip()
    if not text:
        return True
    if HALLUCINATION.search(text):
        return True
    if seg.no_speech_prob > 0.6 and seg.avg_logprob < -0.8:
        return True
    return seg.avg_logprob < -1.5


def collapse_loops(text: str) -> str:
    """Cut a phrase repeated four or more times in a row down to one."""
    return LOOP.sub(r"\1", text)


class Transcriber:
    """A loaded Whisper model; thread-safe (one decode at a time per model instance)."""

    def __init__(self, model_path: str, *, device: str, compute_type: str, beam_size: int) -> None:
        from faster_whisper import WhisperModel

        if device == "auto":
            device = "cuda" if _cuda_available() else "cpu"
        self.device = device
        self.beam_size = beam_size
        self.model = WhisperModel(
            model_path,
            device=device,
            compute_type=compute_type if device == "cpu" else "float16",
            cpu_threads=0,
        )
        self._lock = threading.Lock()

    def transcribe(
        self,
        samples: np.ndarray,
        *,
        language: str = "zh",
        prompt: str | None = None,
        hotwords: str | None = None,
        vad: bool = True,
        beam_size: int | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> list[RawSegment]:
        """Segments of speech in samples (16 kHz mono float32); [] for silence.

        vad=False when the caller already cut the audio at speech boundaries (live calls);
        on_progress receives the seconds decoded so far after each segment.
        """
        if samples.size < SAMPLE_RATE // 10 or dbfs(samples) < SILENCE_DBFS:
            return []
        with self._lock:
            segments, _info = self.model.transcribe(
                samples,
                language=language,
                beam_size=beam_size or self.beam_size,
                vad_filter=vad,
                # Generous padding: tighter cuts clipped words on 8 kHz calls (eval asr).
                vad_parameters={"min_silence_duration_ms": 1000, "speech_pad_ms": 400},
                initial_prompt=prompt,
                hotwords=hotwords,
                condition_on_previous_text=False,
                temperature=[0.0, 0.2, 0.4],
                compression_ratio_threshold=2.2,
                no_speech_threshold=0.6,
                log_prob_threshold=-1.0,
            )
            raw = []
            for s in segments:  # a generator: decoding happens while we iterate
                raw.append(
                    RawSegment(
                        s.start, s.end, collapse_loops(s.text), s.avg_logprob, s.no_speech_prob
                    )
                )
                if on_progress is not None:
                    on_progress(s.end)
        return [s for s in raw if not is_hallucination(s)]


def _cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # no CUDA runtime at all
        return False
