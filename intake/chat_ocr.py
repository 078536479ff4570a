"""WeChat chat screenshots → the text export layout, read offline by RapidOCR (PP-OCR models
bundled in the rapidocr-onnxruntime wheel), so screenshots go through the same request
detection and gathering as text exports.

A group-chat screen reads top to bottom: centred time stamps (09:02, 昨天 09:02,
2026年1月5日 09:02), a sender's name in small grey text above each of their left-hand bubbles,
the phone owner's own bubbles on the right (sender "我"). Lines of one bubble are joined.
"""

import re
import threading
from datetime import date, datetime
from typing import Any

from core.errors import ApiError

PNG, JPEG = b"\x89PNG", b"\xff\xd8\xff"
STAMP = re.compile(
    r"^(?:(?P<y>\d{4})年)?(?:(?P<m>\d{1,2})月(?P<d>\d{1,2})日)?\s*(?:昨天|星期.|上午|下午|晚上)?"
    r"\s*(?P<h>\d{1,2}):(?P<min>\d{2})$"
)
NAME_MAX = 16  # characters of a display name line
OWNER = "我"

_engine: Any = None
_lock = threading.Lock()


def is_image(data: bytes) -> bool:
    """A PNG or JPEG screenshot."""
    return data.startswith((PNG, JPEG))


def _ocr() -> Any:
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR()
        return _engine


def read_lines(data: bytes) -> tuple[list[tuple[float, float, float, float, str]], int]:
    """Text lines of a screenshot as (left, top, right, bottom, text), top to bottom, and the
    image width."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ApiError(422, "not_an_image", "The screenshot cannot be decoded (PNG or JPEG).")
    found, _ = _ocr()(image)
    lines = []
    for box, text, _score in found or []:
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        lines.append((min(xs), min(ys), max(xs), max(ys), text.strip()))
    return sorted(lines, key=lambda b: (b[1], b[0])), int(image.shape[1])


def to_export(screens: list[bytes], day: date) -> str:
    """Screenshots, in order, as one text export (see wechat_import); `day` dates the time
    stamps that carry no date."""
    messages: list[tuple[str, datetime, list[str]]] = []  # sender, time, bubble lines
    when = datetime.combine(day, datetime.min.time())
    for data in screens:
        lines, width = read_lines(data)
        sender: str | None = None
        open_bubble: list[str] | None = None
        last_bottom = last_left = 0.0
        for i, (left, top, right, bottom, text) in enumerate(lines):
            height = bottom - top
            centred = abs((left + right) / 2 - width / 2) < width * 0.12
            m = STAMP.match(text.replace(" ", ""))
            if m and (centred or len(text) <= 12):
                when, open_bubble = _stamp(m, when), None
                continue
            continues = (
                open_bubble is not None
                and abs(left - last_left) < 20
                and top - last_bottom < height * 0.8
            )
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            is_name = (
                len(text) <= NAME_MAX
                and nxt is not None
                and abs(nxt[0] - left) < 40
                and nxt[1] - bottom < height * 1.5
                and left < width * 0.4
            )
            if not continues and is_name:
                sender, open_bubble = text, None
                continue
            if not continues:
                if left > width * 0.3 and right > width * 0.75:
                    sender = OWNER  # the phone owner's own bubble, on the right
                open_bubble = []
                if sender:
                    messages.append((sender, when, open_bubble))
            assert open_bubble is not None
            open_bubble.append(text)
            last_bottom, last_left = bottom, left
    if not messages:
        raise ApiError(422, "not_a_chat_export", "No chat messages were read from the screenshots.")
    return "".join(f"{at:%Y-%m-%d %H:%M:%S} {who}\n{''.join(b)}\n" for who, at, b in messages)


def _stamp(m: re.Match[str], current: datetime) -> datetime:
    year = int(m.group("y")) if m.group("y") else current.year
    month = int(m.group("m")) if m.group("m") else current.month
    day = int(m.group("d")) if m.group("d") else current.day
    return datetime(year, month, day, int(m.group("h")) % 24, int(m.group("min")))
