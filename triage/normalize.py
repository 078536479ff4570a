"""Text normalisation: full-width → half-width, traditional → simplified, spoken numbers → digits.

OpenCC does the script conversion and WeTextProcessing's inverse text normalisation turns
spoken numbers into digits (二点三点一 → 2.3.1, 幺三八… → 138…). A few hotline-specific
forms it leaves alone are handled here: letters followed by spoken digits (E零四 → E04,
X三 → X3) and digits spoken one by one inside house numbers (三栋 → 3栋).
"""

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import opencc

DIGIT = {
    "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "二": "2", "两": "2", "三": "3",
    "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}  # fmt: skip
SPOKEN_DIGITS = "".join(DIGIT)
# How Chinese speakers say Latin letters; only rewritten right before a digit (艾克斯3 → X3).
# Whisper also writes the 斯 of 艾克斯 as a digit (爱克4-3 for 艾克斯三); only a 4 that is followed
# by another digit is taken for 斯.
SPOKEN_LETTER = re.compile(
    rf"(艾克斯|爱克斯|艾克思|诶克斯|(?:艾克|爱克)(?:[4四][-－ ]?)?)(?=[\d{SPOKEN_DIGITS}])"
)
# A letter code followed by spoken digits: E零四, X三, F三, P二 (fault codes and models).
LETTER_CODE = re.compile(
    rf"(?<![A-Za-z])([A-Za-z]{{1,3}})[-－ ]?([{SPOKEN_DIGITS}]{{1,4}})(?![十百千万])"
)
# A whole spoken number (no 百/千 inside, ITN handles those) before an address unit: 三栋, 十二楼.
ADDRESS_UNIT = re.compile(
    rf"(?<![{SPOKEN_DIGITS}十百千万])([{SPOKEN_DIGITS}十]{{1,4}})(栋|幢|单元|楼|层|室|号楼|号)"
)
LOWER_CODE = re.compile(r"(?<![A-Za-z])([a-z]{1,3})(\d{1,4})(?![A-Za-z])")
# ITN sometimes leaves a phone number spoken digit by digit with pauses: 幺三八 一二三四 …
SPACED_DIGITS = re.compile(r"(?<=\d)[\s\-－—]+(?=\d)")
CLAUSE = re.compile(r"([,，。;；!！?？、\s]+)")
# OpenCC keeps 著 (valid in simplified text), but after a verb speech recognisers mean 着.
ZHE = re.compile(r"著(?![名作者称述录])")
# 幺 (one, in phone numbers) is often heard as 要 right before the digits.
YAO_PHONE = re.compile(
    r"((?:电话|手机|号码|联系方式)(?:号码)?(?:是|为|:|：)?)要(?=([\d幺一二三四五六七八九零]))"
)
NUMERAL = re.compile(r"[零〇幺一二两三四五六七八九十百千万亿点]")
TEN = re.compile(r"^(?:([一二两三四五六七八九])?十([一二三四五六七八九])?)$")


class Normalizer:
    """Turns a transcript or typed text into the canonical form triage works on."""

    def __init__(self) -> None:
        self._cc = opencc.OpenCC("t2s")
        from itn.chinese.inverse_normalizer import InverseNormalizer

        logging.getLogger("wetext").setLevel(logging.WARNING)

        # WeTextProcessing ships prebuilt grammars; loading them takes ~0.3 s once.
        self._itn = InverseNormalizer()
        self._lock = threading.Lock()

    def __call__(self, text: str, before_numbers: Callable[[str], str] | None = None) -> str:
        """Normalise text (idempotent). `before_numbers` sees the simplified text before spoken
        numbers become digits: a fault code heard as characters (显示一二十一 for E21) is only
        recognisable while its digits are still spoken."""
        text = unicodedata.normalize("NFKC", text)
        # Zero-width and direction marks (category Cf) inside 138\u200b1234… would hide a
        # phone number or a model from extraction.
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
        text = self._cc.convert(text)
        text = ZHE.sub("着", text)
        if before_numbers is not None:
            text = before_numbers(text)
        text = YAO_PHONE.sub(lambda m: m.group(1) + ("1" if m.group(2).isdigit() else "幺"), text)
        text = re.sub(r"\s+", " ", text).strip()
        text = SPOKEN_LETTER.sub("X", text)
        text = LETTER_CODE.sub(_letter_code, text)
        text = LOWER_CODE.sub(lambda m: m.group(1).upper() + m.group(2), text)
        text = ADDRESS_UNIT.sub(_address_unit, text)
        text = "".join(self._itn_clause(c) for c in CLAUSE.split(text))
        text = _join_phone_digits(text)
        return text

    def _itn_clause(self, clause: str) -> str:
        # The FST tagger costs ~0.2 ms per character; most clauses have no number to convert.
        if not NUMERAL.search(clause):
            return clause
        with self._lock:  # the FST normaliser is not documented as thread-safe
            return self._itn.normalize(clause)


def _spoken_int(s: str) -> str:
    m = TEN.match(s)
    if "十" in s and m:
        tens = DIGIT.get(m.group(1) or "一", "1")
        ones = DIGIT.get(m.group(2) or "零", "0")
        return str(int(tens) * 10 + int(ones))
    if "十" in s:
        return s
    return "".join(DIGIT[c] for c in s)


def _letter_code(m: re.Match[str]) -> str:
    digits = "".join(DIGIT[c] for c in m.group(2))
    return m.group(1).upper() + digits


def _address_unit(m: re.Match[str]) -> str:
    return _spoken_int(m.group(1)) + m.group(2)


def _join_phone_digits(text: str) -> str:
    """Join digit groups separated by spaces/dashes when together they form a phone number."""

    def fix(m: re.Match[str]) -> str:
        joined = re.sub(r"[\s\-－—]", "", m.group(0))
        # Twelve digits are a landline with its area code; a mobile and the building
        # number after it (13912345678 5幢) stay apart.
        twelve = len(joined) == 12 and joined.startswith("0")
        return joined if len(joined) in (7, 8, 11) or twelve else m.group(0)

    # Not from the tail of a version (固件2.1.0 134…: that 0 is no area code).
    return re.sub(r"(?<![\d.．])\d[\d\s\-－—]{6,18}\d", fix, text)


@lru_cache
def get_normalizer() -> Normalizer:
    """The process-wide normaliser (loads OpenCC and the ITN grammars once)."""
    return Normalizer()
