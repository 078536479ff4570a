"""“Try a query”: how a caller sentence ranks against the published KB and with drafts applied.

The draft index is a copy of the live index (persisted and reloaded with its own tokenizer, so
draft words never leak into live matching) with every pending draft upserted. It is cached
until the live index or any draft changes; for the demo KB a rebuild costs well under a second
(measured in docs/console.md).
"""

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base import live_index
from knowledge_base.index import HybridIndex
from knowledge_base.models import KBEntry
from knowledge_base.tokens import KBTokenizer
from triage.result import TriageResult
from triage.service import triage_text

_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "index": None}


def _drafts(db: Session) -> list[tuple[str, int, dict[str, Any]]]:
    # A cleared draft is stored as JSON null, not SQL NULL, so it is filtered here.
    rows = db.execute(
        select(KBEntry.id, KBEntry.revision, KBEntry.draft)
        .where(KBEntry.status != "retired")
        .order_by(KBEntry.id)
    ).all()
    return [(r.id, r.revision, r.draft) for r in rows if r.draft]


def draft_index(db: Session) -> tuple[HybridIndex, list[str], float]:
    """The index with drafts applied, the ids of draft entries, and the build time in ms
    (0 when served from cache)."""
    live = live_index.get_index()
    drafts = _drafts(db)
    key = (id(live), live.generation, tuple((k, rev) for k, rev, _ in drafts))
    with _lock:
        if _cache["key"] == key:
            return _cache["index"], [k for k, _, _ in drafts], 0.0
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="hotline-draft-") as tmp:
            live.save(Path(tmp))
            copy = HybridIndex.load(Path(tmp), live.encoder, KBTokenizer())
        assert copy is not None  # just written with the same encoder
        copy.upsert([content for _, _, content in drafts])
        _cache.update(key=key, index=copy)
        return copy, [k for k, _, _ in drafts], (time.perf_counter() - started) * 1000


def _ranked(result: TriageResult) -> list[dict[str, Any]]:
    return [
        {"kb_id": c["kb_id"], "title": c["title"], "confidence": c["confidence"], "rank": i}
        for i, c in enumerate(result.diagnosis["candidates"], start=1)
    ]


def compare(db: Session, text: str) -> dict[str, Any]:
    """Ranked candidates for text on the published KB and on the KB with drafts applied."""
    current = triage_text(text)
    index, draft_ids, build_ms = draft_index(db)
    started = time.perf_counter()
    drafted = triage_text(text, index=index)
    draft_ms = (time.perf_counter() - started) * 1000
    before = {c["kb_id"]: c["rank"] for c in _ranked(current)}
    after = _ranked(drafted)
    for c in after:
        c["was"] = before.get(c["kb_id"])
        c["is_draft"] = c["kb_id"] in draft_ids
    return {
        "text": text,
        "fields": {k: v for k, v in current.fields.items() if v},
        "current": {
            "no_match": current.diagnosis["no_match"],
            "ranked": _ranked(current),
            "ms": current.latency_ms,
        },
        "draft": {
            "no_match": drafted.diagnosis["no_match"],
            "ranked": after,
            "ms": round(draft_ms, 1),
            "build_ms": round(build_ms, 1),
            "drafts": len(draft_ids),
        },
    }
