"""Tokens for BM25: jieba words (with a user dictionary built from the KB) plus pinyin.

Calls arrive through speech recognition, which swaps characters for homophones (制文 for 指纹).
Pinyin syllable bigrams of the Han text match across such swaps and across segmentation
differences, so every text is indexed and queried as words *and* pinyin bigrams.
"""

import itertools
import logging
import re
import threading
from collections.abc import Iterable
from functools import lru_cache

import jieba
from pypinyin import Style, lazy_pinyin

jieba.setLogLevel(logging.WARNING)

HAN = re.compile(r"[\u4e00-\u9fff]")
WORDISH = re.compile(r"[\w\u4e00-\u9fff]")
PINYIN_PREFIX = "py:"

# Fillers and function words callers use that carry no fault meaning.
STOPWORDS = frozenset(
    """的 了 呢 吧 啊 呀 嗯 哦 哈 嘛 吗 么 那个 这个 就是 就是说 然后 然后呢
    那 这 我 我们 你 你们 他 她 它 是 有 在 和 跟 也 都 就 还 又 很 太
    好像 好象 感觉 一下 一直 已经 现在 今天 昨天 刚才 刚刚 请问 你好 您好 麻烦
    师傅 帮 帮忙 看看 看 一个 个 家 我家 咱家 这边 那边 什么 怎么 怎么办
    怎么回事 为什么 能不能 可以 能 要 想 说 问 问下 问一下 下 给 把 被 让 对
    啊呀 哎 哎呀 诶 喂 额 呃 嗯嗯 对对 是的 谢谢 好的 还是 或者 但是 可是
    所以 因为 如果 的话 之后 以后 时候 有点 有些 一点 一些 比较 特别 非常 真的
    确实 其实 反正 不过 而且""".split()
)


@lru_cache(maxsize=65536)
def char_pinyin(ch: str) -> str:
    """Toneless pinyin of one Han character (first reading)."""
    return lazy_pinyin(ch, style=Style.NORMAL)[0]


def pinyin_of(text: str) -> list[str]:
    """Toneless pinyin syllable per Han character of text (non-Han characters dropped)."""
    return [char_pinyin(c) for c in text if HAN.match(c)]


def pinyin_bigrams(text: str) -> list[str]:
    """Pinyin syllable bigrams within each run of Han characters."""
    out: list[str] = []
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        syl = [char_pinyin(c) for c in run]
        out.extend(f"{PINYIN_PREFIX}{a}_{b}" for a, b in itertools.pairwise(syl))
    return out


class KBTokenizer:
    """A jieba tokenizer of its own (not jieba's global one) that knows the KB's terms."""

    def __init__(self) -> None:
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self._lock = threading.Lock()
        self.user_words: set[str] = set()

    @property
    def word_freq(self) -> dict[str, int]:
        """jieba's dictionary: word → frequency (0 for words only we added)."""
        return self._jieba.FREQ

    def add_words(self, words: Iterable[str]) -> None:
        """Teach jieba the KB's models, fault codes and product terms so they stay whole."""
        with self._lock:
            for w in words:
                w = w.strip()
                if w and w not in self.user_words:
                    self._jieba.add_word(w, freq=200000)
                    self.user_words.add(w)

    def cut(self, text: str) -> list[str]:
        """jieba's segmentation of text, every character kept."""
        return self._jieba.lcut(text, HMM=True)

    def words(self, text: str) -> list[str]:
        """Meaningful words of text, lower-cased, fillers and punctuation dropped."""
        out = []
        for w in self.cut(text):
            w = w.strip().lower()
            if not w or w in STOPWORDS or not WORDISH.search(w):
                continue
            if len(w) == 1 and HAN.match(w) and w in STOPWORDS:
                continue
            out.append(w)
        return out

    def tokens(self, text: str) -> list[str]:
        """BM25 tokens: words plus pinyin bigrams."""
        return self.words(text) + pinyin_bigrams(text)


def kb_terms(entry: dict) -> list[str]:
    """Words from an entry that jieba must keep whole: models, fault code, product type."""
    terms = [*entry.get("models", []), entry.get("product_type", "")]
    if entry.get("fault_code"):
        terms.append(entry["fault_code"])
    return [t for t in terms if t]
