"""Speech to text with faster-whisper, guarded against Whisper's known inventions.

Whisper fills silence and music with text it saw in training ("字幕由…提供", "请不吝点赞
订阅") and sometimes loops on a phrase. Silence never reaches the model (loudness check and
VAD), and segments that look like those failure modes are dropped.
"""

import re
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from asr.audio import SAMPLE_RATE, SILENCE_DBFS, dbfs, louder

HALLUCINATION = re.compile(
    r"(字幕|訂閱|订阅|点赞|點贊|打赏|打賞|感谢观看|感謝觀看|谢谢观看|謝謝觀看|请不吝|請不吝|"
    r"Amara|明镜|明鏡|栏目|欢迎收看|歡迎收看|下集|本期|视频|視頻)"
)
LOOP = re.compile(r"(.{1,8}?)\1{3,}")
# A short-context decode encodes an utterance plus this much silence instead of Whisper's
# fixed 30 s window; with less context the model sometimes never ends (docs/asr.md).
SHORT_CONTEXT_PAD_S = 2.0
FRAMES_PER_S = 100  # Whisper's log-mel frames per second
MAX_CHARS_PER_S = 12  # faster than anyone speaks Chinese: the decode ran away


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
        self._prompt: list[int] | None = None

    def decode_utterance(
        self, samples: np.ndarray, *, beam_size: int, short_context: bool = False
    ) -> str:
        """Mandarin text of one stretch of speech already cut at speech boundaries (≤ 30 s,
        live calls).

        short_context: the encoder sees the utterance plus SHORT_CONTEXT_PAD_S of silence,
        not a padded 30 s window — about 4x faster, as good on telephone audio, worse on clean
        16 kHz speech (docs/asr.md). A result that looks wrong for that shortcut — a loop, more
        text than the audio can hold, low probability — is decoded again the ordinary way.
        """
        seconds = samples.size / SAMPLE_RATE
        if samples.size >= SAMPLE_RATE // 10 and dbfs(samples) < SILENCE_DBFS:
            samples = louder(samples)  # the VAD cut it as speech: a faint line, not silence
        quiet = samples.size < SAMPLE_RATE // 10 or dbfs(samples) < SILENCE_DBFS
        if not short_context or quiet or seconds > 29:
            return self._decode_window(samples, beam_size)
        import ctranslate2

        padded = np.concatenate([samples, np.zeros(int(SHORT_CONTEXT_PAD_S * SAMPLE_RATE), "f4")])
        feats = self.model.feature_extractor(padded)
        frames = min(3000, -(-feats.shape[1] // FRAMES_PER_S) * FRAMES_PER_S)
        window = np.full((1, feats.shape[0], frames), feats[:, -1].mean(), dtype=np.float32)
        window[0, :, : min(frames, feats.shape[1])] = feats[:, :frames]
        max_chars = int(seconds * MAX_CHARS_PER_S) + 8
        with self._lock:
            result = self.model.model.generate(
                ctranslate2.StorageView.from_array(window),
                [self._prompt_tokens()],
                beam_size=beam_size,
                max_length=max_chars + 4,
                return_scores=True,
                return_no_speech_prob=True,
            )[0]
        tokens = result.sequences_ids[0]
        text = self.model.hf_tokenizer.decode(tokens).strip()
        seg = RawSegment(0.0, seconds, text, result.scores[0], result.no_speech_prob)
        runaway = len(tokens) >= max_chars or len(text) > max_chars or _compression(text) > 2.2
        if runaway or LOOP.search(text) or seg.avg_logprob < -1.0:
            return self._decode_window(samples, beam_size)
        return "" if is_hallucination(seg) else text

    def _decode_window(self, samples: np.ndarray, beam_size: int) -> str:
        segments = self.transcribe(samples, vad=False, beam_size=beam_size)
        return "".join(s.text.strip() for s in segments)

    def _prompt_tokens(self) -> list[int]:
        if self._prompt is None:
            from faster_whisper.tokenizer import Tokenizer

            tok = Tokenizer(
                self.model.hf_tokenizer,
                self.model.model.is_multilingual,
                task="transcribe",
                language="zh",
            )
            self._prompt = [*tok.sot_sequence, tok.no_timestamps]
        return self._prompt

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


def _compression(text: str) -> float:
    """Whisper's repetition measure: raw bytes per zlib-compressed byte."""
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # no CUDA runtime at all
        return False
