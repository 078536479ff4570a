"""`hotline eval kb-scale`: KB search latency with a synthetic knowledge base of N entries.

Synthetic entries recombine the demo KB's real vocabulary (product types, models, symptoms,
root causes) with new ids and fault codes, so BM25 postings and vector neighbourhoods look
like a large real KB. Queries are the labelled caller utterances. The demo-size KB is timed
in the same run as the baseline.
"""

import random
import time

import numpy as np

from core.settings import PACKAGE_ROOT
from eval import dataset

DEMO_KB = PACKAGE_ROOT / "knowledge_base" / "demo" / "kb.jsonl"


def synthetic_entries(n: int, seed: int = 7) -> list[dict]:
    """n entries recombined from the demo KB's vocabulary."""
    import json

    demo = [json.loads(line) for line in DEMO_KB.read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(seed)
    symptoms = [s for e in demo for s in e["symptoms"]]
    out = []
    for i in range(n):
        base = rng.choice(demo)
        out.append(
            {
                **base,
                "id": f"SYN-{i:06d}",
                "title": base["title"] + rng.choice(["", "（变体）", "-批次问题", "-新款"]),
                "models": [f"{m}-{rng.randint(1, 999)}" for m in base["models"]][:2],
                "symptoms": rng.sample(symptoms, 3),
                "fault_code": f"{rng.choice('EFPH')}{rng.randint(1, 999):03d}",
            }
        )
    return out


def time_queries(index, queries: list[str]) -> dict[str, float]:
    """p50/p95 of full search (encode + BM25 + FAISS + fusion) and of retrieval alone.

    One untimed pass first: BM25 builds a term's scoring array on its first query after a
    change, which a running service pays once, not per query.
    """
    for q in queries:
        index.search(q)
    full, retrieval = [], []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q)
        full.append((time.perf_counter() - t0) * 1000)
        qvec = index.encoder.encode([q])
        terms = index.tokenizer.tokens(q)
        t0 = time.perf_counter()
        index.search_encoded(qvec, terms)
        retrieval.append((time.perf_counter() - t0) * 1000)
    return {
        "full_p50": float(np.percentile(full, 50)),
        "full_p95": float(np.percentile(full, 95)),
        "retrieval_p95": float(np.percentile(retrieval, 95)),
    }


def main(n_entries: int = 100_000, n_queries: int = 300) -> None:
    """Build a demo-size and an n-entry index and time the same queries on both."""
    import json

    from knowledge_base import live_index
    from knowledge_base.index import HybridIndex
    from knowledge_base.tokens import KBTokenizer

    enc = live_index.encoder()
    queries = [it["text"] for it in dataset.load()][:n_queries]
    demo = [json.loads(line) for line in DEMO_KB.read_text(encoding="utf-8").splitlines() if line]
    small = HybridIndex(enc, KBTokenizer())
    small.upsert(demo)
    base = time_queries(small, queries)
    print(f"baseline: {len(small)} entries: {base}")
    big = HybridIndex(enc, KBTokenizer())
    t0 = time.perf_counter()
    entries = synthetic_entries(n_entries)
    for start in range(0, len(entries), 2000):
        big.upsert(entries[start : start + 2000])
    print(f"built {len(big)} entries in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    big.upsert([{**entries[0], "title": entries[0]["title"] + "（修订）"}])
    publish_ms = (time.perf_counter() - t0) * 1000
    print(f"one incremental publish into {len(big)} entries: {publish_ms:.1f} ms")
    scaled = time_queries(big, queries)
    print(f"scaled: {len(big)} entries: {scaled}")
    print(
        f"KB search p95 at {len(big)} entries: {scaled['full_p95']:.2f} ms "
        f"(x{scaled['full_p95'] / base['full_p95']:.2f} of the {len(small)}-entry baseline)"
    )
