"""Repair speech-recognition homophones of KB vocabulary (制文 → 指纹, 充电装 → 充电桩).

A span of the caller's text is replaced by a KB term when both read the same in toneless
pinyin and the span itself is not a common word (so a correct 公式 is never turned into a
KB term that happens to sound alike).
"""

from collections.abc import Iterable

from knowledge_base.tokens import HAN, KBTokenizer, char_pinyin

MIN_LEN = 2
MAX_LEN = 5
# A span jieba knows at least this often is a real word the caller meant, not a mishearing.
COMMON_WORD_FREQ = 50


class HomophoneFixer:
    """Maps pinyin of KB terms back to the terms."""

    def __init__(self, terms: Iterable[str], tokenizer: KBTokenizer) -> None:
        self._by_pinyin: dict[tuple[str, ...], str] = {}
        self._freq = tokenizer.word_freq
        self._tokenizer = tokenizer
        for term in terms:
            if MIN_LEN <= len(term) <= MAX_LEN and all(HAN.match(c) for c in term):
                key = tuple(char_pinyin(c) for c in term)
                # Two KB terms reading the same are ambiguous: keep neither.
                if key in self._by_pinyin and self._by_pinyin[key] != term:
                    self._by_pinyin[key] = ""
                else:
                    self._by_pinyin[key] = term
        self._lengths = sorted({len(k) for k in self._by_pinyin}, reverse=True)

    def _common_word_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        pos = 0
        for word in self._tokenizer.cut(text):
            if len(word) >= 2 and self._freq.get(word, 0) >= COMMON_WORD_FREQ:
                spans.append((pos, pos + len(word)))
            pos += len(word)
        return spans

    def fix(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Text with homophones replaced, and the (heard, meant) pairs replaced."""
        if not self._by_pinyin:
            return text, []
        chars = list(text)
        syl = [char_pinyin(c) if HAN.match(c) else None for c in chars]
        protected = self._common_word_spans(text)
        fixes: list[tuple[str, str]] = []
        i = 0
        while i < len(chars):
            for n in self._lengths:
                if i + n > len(chars) or None in syl[i : i + n]:
                    continue
                term = self._by_pinyin.get(tuple(syl[i : i + n]))  # type: ignore[arg-type]
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
