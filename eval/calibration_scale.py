"""`hotline eval calibration-scale`: how long the KB's own confidence fit takes as the KB grows.

The fit runs after every publish, so it must stay well under the issue's 30 s at 1,000
entries. Synthetic entries come from kb-scale's generator (the demo KB's vocabulary
recombined); the demo-size KB is fitted in the same run as the baseline.
"""

import json
import time

from eval.kb_scale import DEMO_KB, synthetic_entries


def main(sizes: tuple[int, ...] = (1000, 3000)) -> None:
    """Fit on the demo KB and on synthetic KBs of the given sizes; print time and threshold."""
    from knowledge_base import live_index
    from knowledge_base.index import HybridIndex
    from knowledge_base.tokens import KBTokenizer
    from triage import calibration

    enc = live_index.encoder()
    demo = [json.loads(line) for line in DEMO_KB.read_text(encoding="utf-8").splitlines() if line]
    kbs = [("demo", demo)] + [(str(n), synthetic_entries(n)) for n in sizes]
    print(f"{'KB':>6} {'entries':>8} {'index s':>8} {'fit s':>6} {'calls':>6} {'threshold':>9}")
    for label, entries in kbs:
        started = time.perf_counter()
        index = HybridIndex(enc, KBTokenizer())
        index.upsert(entries)
        built = time.perf_counter() - started
        fit = calibration.fit(index)
        print(
            f"{label:>6} {len(entries):>8} {built:8.1f} {fit.seconds:6.1f} {fit.pseudo_calls:>6} "
            f"{fit.threshold:9.2f}"
        )
