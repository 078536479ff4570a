"""Repair speech-recognition homophones of KB vocabulary (制文 → 指纹, 充电装 → 充电桩).

A span of the caller's text is replaced by a KB term when both read the same in toneless
pinyin and the span itself is not a common word (so a correct 公式 is never turned into a
KB term that happens to sound alike).
"""

import itertools
import re
from collections.abc import Iterable

from knowledge_base.tokens import HAN, KBTokenizer, char_pinyin

MIN_LEN = 2
MAX_LEN = 5
# A span jieba knows at least this often is a real word the caller meant, not a mishearing.
COMMON_WORD_FREQ = 50
# A dictionary word this long is a real word whatever its frequency (灯不亮 is not 灯不良).
LONG_WORD = 3


def _add_unique(table: dict[tuple[str, ...], str], key: tuple[str, ...], term: str) -> None:
    # Two KB terms reading the same are ambiguous: keep neither.
    table[key] = "" if table.get(key, term) != term else term


def fuzzy_syllable(syllable: str) -> str:
    """A syllable with the distinctions recognisers (and southern speakers) blur removed:
    zh/z, ch/c, sh/s, n/l, final -ng/-n, ü/i (力灯 ~ 绿灯, 充电装 ~ 充电桩)."""
    s = syllable
    for retroflex in ("zh", "ch", "sh"):
        if s.startswith(retroflex):
            s = s[0] + s[2:]
    if s.startswith("n"):
        s = "l" + s[1:]
    if len(s) > 2 and s.endswith("ng") and s[-3] in "aei":
        s = s[:-1]
    return s.replace("v", "i")


class HomophoneFixer:
    """Maps pinyin of KB terms back to the terms."""

    def __init__(self, terms: Iterable[str], tokenizer: KBTokenizer) -> None:
        self._by_pinyin: dict[tuple[str, ...], str] = {}
        self._by_fuzzy: dict[tuple[str, ...], str] = {}
        self._freq = tokenizer.word_freq
        self._tokenizer = tokenizer
        self._terms: set[str] = set()
        for term in terms:
            if MIN_LEN <= len(term) <= MAX_LEN and all(HAN.match(c) for c in term):
                self._terms.add(term)
                key = tuple(char_pinyin(c) for c in term)
                _add_unique(self._by_pinyin, key, term)
                _add_unique(self._by_fuzzy, tuple(fuzzy_syllable(x) for x in key), term)
        self._lengths = sorted({len(k) for k in self._by_pinyin}, reverse=True)

    def _term_for(self, syllables: list[str]) -> str:
        exact = self._by_pinyin.get(tuple(syllables))
        if exact is not None:
            return exact
        return self._by_fuzzy.get(tuple(fuzzy_syllable(x) for x in syllables), "")

    def _real_word_spans(self, text: str) -> list[tuple[int, int]]:
        """Where the caller said a real word: a common one, a long dictionary word, or a word
        the KB itself uses, said right (快充桩的 must not become 快充装得 for the KB's 装得)."""
        spans = []
        pos = 0
        for word in self._tokenizer.cut(text):
            freq = self._freq.get(word, 0)
            if (len(word) >= 2 and freq >= COMMON_WORD_FREQ) or (len(word) >= LONG_WORD and freq):
                spans.append((pos, pos + len(word)))
            pos += len(word)
        for i in range(len(text)):
            for n in self._lengths:
                if text[i : i + n] in self._terms:
                    spans.append((i, i + n))
        return spans

    def fix(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Text with homophones replaced, and the (heard, meant) pairs replaced."""
        if not self._by_pinyin:
            return text, []
        chars = list(text)
        syl = [char_pinyin(c) if HAN.match(c) else None for c in chars]
        protected = self._real_word_spans(text)
        fixes: list[tuple[str, str]] = []
        i = 0
        while i < len(chars):
            for n in self._lengths:
                if i + n > len(chars) or None in syl[i : i + n]:
                    continue
                term = self._term_for(syl[i : i + n])  # type: ignore[arg-type]
                span = "".join(chars[i : i + n])
                if not term or term == span or self._freq.get(span, 0) >= COMMON_WORD_FREQ:
                    continue
                if any(
                    a < i + n
                    and b > i
                    and not (i <= a and b <= i + n)
                    and any(chars[k] != term[k - i] for k in range(max(a, i), min(b, i + n)))
                    for a, b in protected
                ):
                    # Would change a real word it cuts through (地址是 is not 地指示); sharing
                    # an unchanged character is fine (我家门所 → 我家门锁 keeps 家门).
                    continue
                chars[i : i + n] = list(term)
                fixes.append((span, term))
                i += n - 1
                break
            i += 1
        return "".join(chars), fixes


def vocabulary_terms(
    entries: Iterable[dict], synonyms: Iterable[str], tokenizer: KBTokenizer
) -> set[str]:
    """Han words of 2-5 characters the KB uses: product words, titles' and symptoms' words."""
    terms = {s for s in synonyms if all(HAN.match(c) for c in s)}
    for e in entries:
        text = " ".join([e.get("title", ""), *e.get("symptoms", [])])
        for w in tokenizer.words(text):
            if MIN_LEN <= len(w) <= MAX_LEN and all(HAN.match(c) for c in w):
                terms.add(w)
    return terms


# How callers read fault-code letters and digits aloud (toneless pinyin).
LETTER_READINGS: dict[str, tuple[str, ...]] = {
    "A": ("a",), "B": ("bi",), "C": ("xi",), "D": ("di",), "E": ("yi",), "F": ("ai", "fu"),
    "H": ("ai", "qi"), "L": ("ai", "le"), "P": ("pi",), "U": ("you",),
}  # fmt: skip
DIGIT_READINGS: dict[str, tuple[str, ...]] = {
    "0": ("ling", "dong"), "1": ("yi", "yao"), "2": ("er", "liang"), "3": ("san",),
    "4": ("si",), "5": ("wu",), "6": ("liu",), "7": ("qi",), "8": ("ba",), "9": ("jiu",),
}  # fmt: skip
DISPLAY_CUE = re.compile(r"(?:显示|报|代码|故障码|错误码|提示)(?:了|的是|是|出)?[:：]?")
MAX_CODE_SYLLABLES = 6


def code_readings(code: str) -> set[tuple[str, ...]]:
    """Every way a fault code like E21 is read aloud, as syllable tuples
    (yi er yi, yi er shi yi, yi liang yi …)."""
    m = re.fullmatch(r"([A-Z]{1,2})-?(\d{1,3})", code)
    if not m or any(c not in LETTER_READINGS for c in m.group(1)):
        return set()
    letters = [r for c in m.group(1) for r in LETTER_READINGS[c]]
    digits = m.group(2)
    forms = [[DIGIT_READINGS[d] for d in digits]]
    if len(digits) == 2 and digits[0] != "0":  # 21 read as a number: 二十一
        tens = [] if digits[0] == "1" else [DIGIT_READINGS[digits[0]]]
        ones = [] if digits[1] == "0" else [DIGIT_READINGS[digits[1]]]
        forms.append([*tens, ("shi",), *ones])
    out = set()
    for form in forms:
        for combo in itertools.product(*form):
            out.add((*letters, *combo))
    return out


class CodeFixer:
    """Turns a fault code the recogniser wrote as characters (显示衣衣) back into the KB's
    code (显示E1), when the characters after a display cue read exactly like one KB code."""

    def __init__(self, codes: Iterable[str]) -> None:
        by_reading: dict[tuple[str, ...], str] = {}
        for code in codes:
            for reading in code_readings(code.upper()):
                # Two codes read alike are ambiguous: keep neither.
                by_reading[reading] = "" if by_reading.get(reading, code) != code else code
        self._by_reading = {k: v for k, v in by_reading.items() if v}

    def fix(self, text: str) -> str:
        """Text with spoken-as-characters fault codes after display cues replaced."""
        if not self._by_reading:
            return text
        out, pos = [], 0
        for cue in DISPLAY_CUE.finditer(text):
            start = cue.end()
            if start < pos:
                continue
            syllables = []
            # Only characters: digits the recogniser wrote as digits were heard as digits.
            for ch in text[start : start + MAX_CODE_SYLLABLES]:
                if not HAN.match(ch):
                    break
                syllables.append(char_pinyin(ch))
            for n in range(len(syllables), 0, -1):
                code = self._by_reading.get(tuple(syllables[:n]))
                if code:
                    out.append(text[pos:start] + code)
                    pos = start + n
                    break
        out.append(text[pos:])
        return "".join(out)
