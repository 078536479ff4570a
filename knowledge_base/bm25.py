"""An incremental BM25 index: documents can be added and removed one at a time.

Postings are kept as dicts for cheap updates; per-term numpy arrays are built on first use
and dropped when a document touching the term changes, so scoring stays vectorised.
"""

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np


class BM25:
    """Okapi BM25 over integer document ids."""

    # In a large KB a term found in more than this share of documents says next to nothing
    # (its idf is near zero) yet costs the most to score: skip it.
    MAX_DF_SHARE = 0.2
    PRUNE_FROM_DOCS = 1000

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.postings: dict[str, dict[int, int]] = {}
        self.doc_terms: dict[int, Counter[str]] = {}
        self.doc_len = np.zeros(1024, dtype=np.float32)
        self.total_len = 0
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.doc_terms)

    def add(self, doc: int, terms: Iterable[str]) -> None:
        """Index doc (replacing any earlier version of it)."""
        if doc in self.doc_terms:
            self.remove(doc)
        counts = Counter(terms)
        self.doc_terms[doc] = counts
        if doc >= len(self.doc_len):
            grown = np.zeros(max(doc + 1, 2 * len(self.doc_len)), dtype=np.float32)
            grown[: len(self.doc_len)] = self.doc_len
            self.doc_len = grown
        length = sum(counts.values())
        self.doc_len[doc] = length
        self.total_len += length
        for term, tf in counts.items():
            self.postings.setdefault(term, {})[doc] = tf
            self._arrays.pop(term, None)

    def remove(self, doc: int) -> None:
        """Drop doc from the index (no-op if absent)."""
        counts = self.doc_terms.pop(doc, None)
        if counts is None:
            return
        self.total_len -= int(self.doc_len[doc])
        self.doc_len[doc] = 0
        for term in counts:
            plist = self.postings.get(term)
            if plist is not None:
                plist.pop(doc, None)
                if not plist:
                    del self.postings[term]
            self._arrays.pop(term, None)

    def idf(self, term: str) -> float:
        """Inverse document frequency (unseen terms get the maximum)."""
        n = len(self.doc_terms)
        df = len(self.postings.get(term, ()))
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def _term_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        arr = self._arrays.get(term)
        if arr is None:
            plist = self.postings.get(term)
            if not plist:
                return None
            ids = np.fromiter(plist.keys(), dtype=np.int64, count=len(plist))
            tfs = np.fromiter(plist.values(), dtype=np.float32, count=len(plist))
            arr = (ids, tfs)
            self._arrays[term] = arr
        return arr

    def score_array(self, query_terms: Iterable[str]) -> np.ndarray | None:
        """BM25 score per internal document id (index = doc id), or None if nothing matches."""
        n = len(self.doc_terms)
        if n == 0:
            return None
        avgdl = max(self.total_len / n, 1e-6)
        max_df = self.MAX_DF_SHARE * n if n >= self.PRUNE_FROM_DOCS else n
        acc: np.ndarray | None = None
        for term in set(query_terms):
            if len(self.postings.get(term, ())) > max_df:
                continue
            arr = self._term_arrays(term)
            if arr is None:
                continue
            ids, tfs = arr
            if acc is None:
                acc = np.zeros(len(self.doc_len), dtype=np.float32)
            norm = self.k1 * (1.0 - self.b + self.b * self.doc_len[ids] / avgdl)
            acc[ids] += self.idf(term) * tfs * (self.k1 + 1.0) / (tfs + norm)
        return acc

    def top(self, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k best (doc, score) pairs of a score_array, best first, zero scores dropped."""
        best = np.argpartition(-scores, k)[:k] if len(scores) > k else np.arange(len(scores))
        best = best[scores[best] > 0]
        best = best[np.argsort(-scores[best])]
        return [(int(d), float(scores[d])) for d in best]

    def max_score(self, query_terms: Iterable[str]) -> float:
        """Upper bound of a document's score for the query (every term at its best)."""
        return sum(self.idf(t) * (self.k1 + 1.0) for t in set(query_terms))

    def state(self) -> dict:
        """Picklable state for persistence."""
        return {
            "k1": self.k1,
            "b": self.b,
            "doc_terms": self.doc_terms,
            "doc_len": self.doc_len,
            "total_len": self.total_len,
        }

    @classmethod
    def from_state(cls, state: dict) -> "BM25":
        """Rebuild from state()."""
        bm = cls(state["k1"], state["b"])
        bm.doc_terms = state["doc_terms"]
        bm.doc_len = state["doc_len"]
        bm.total_len = state["total_len"]
        for doc, counts in bm.doc_terms.items():
            for term, tf in counts.items():
                bm.postings.setdefault(term, {})[doc] = tf
        for term in bm.postings:  # build the scoring arrays now, not on a caller's first query
            bm._term_arrays(term)
        return bm
