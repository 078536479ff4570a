"""What the caller says is wrong, without what they say still works.

"面板盖子裂了一道缝，现在充电都好好的" is about a cracked cover; its second clause, said to
reassure, is the one most like the KB's charging faults. Matching the call without the clauses
that report normal operation keeps a minor fault the KB does not cover from matching an entry
about the part that works.
"""

import re

from triage.normalize import CLAUSE

# Within a clause (triage's own split: punctuation and the spaces of ASR output), the turns
# callers use before the part that works.
_TURN = re.compile(r"(?=但是|不过)")
# A clause that reports normal operation ends in one of these, not negated (不正常).
_NORMAL = re.compile(
    r"(?<![不没非])(正常|没问题|没有问题|问题没有|一点问题没有|没什么问题|没事|都没事|好好的|挺好|"
    r"没毛病|不影响|没影响)[的了啊呢吧呀]*$"
)
_MIN_LEFT = 4  # characters of complaint that must remain for the cut to apply


def without_normal(text: str) -> str:
    """text without its clauses that report normal operation (all of it if nothing else
    would remain)."""
    # CLAUSE keeps its separators (every other piece); a decimal point is no clause end.
    clauses = [p for c in CLAUSE.split(text)[::2] for p in _TURN.split(c) if p]
    kept = [c for c in clauses if not _NORMAL.search(c)]
    left = "，".join(kept)
    if len(kept) == len(clauses) or len(re.sub(r"\W", "", left)) < _MIN_LEFT:
        return text
    return left
