"""The process's live search index: loaded once, kept in step with published KB entries.

Every process (API workers, CLI, background workers) holds its own index. It starts from the
copy persisted on disk (so a restart does not re-embed the KB) and reconciles with the
database: a cheap checksum over published entries' `index_seq` tells whether anything was
published or retired anywhere since, and only the changed entries are re-indexed.
"""

import fcntl
import logging
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.db import get_engine
from core.settings import get_settings
from knowledge_base.embeddings import Encoder, load_encoder
from knowledge_base.index import HybridIndex
from knowledge_base.models import KBEntry
from knowledge_base.tokens import KBTokenizer

log = logging.getLogger("hotline.kb")

_lock = threading.RLock()
_state: dict = {"index": None, "checksum": None, "checked_at": 0.0, "engine": None}
_encoders: dict[str, Encoder] = {}


def encoder(spec: str | None = None) -> Encoder:
    """The loaded encoder for spec (default: the configured one), loaded once per process."""
    spec = spec or get_settings().embedding_model
    with _lock:
        if spec not in _encoders:
            _encoders[spec] = load_encoder(spec, get_settings().encoder_threads)
        return _encoders[spec]


def is_loaded() -> bool:
    """Whether this process has built its index yet."""
    return _state["index"] is not None


def get_index(bind: Engine | None = None) -> HybridIndex:
    """The live index, built or loaded on first use and synced at most every interval."""
    settings = get_settings()
    with _lock:
        if _state["index"] is None:
            engine = bind or get_engine()
            enc = encoder()
            tok = KBTokenizer()
            index = HybridIndex.load(settings.index_dir, enc, tok) or HybridIndex(enc, tok)
            _state.update(index=index, engine=engine, checksum=None, checked_at=0.0)
            _sync(engine, force=True)
        elif time.monotonic() - _state["checked_at"] >= settings.index_sync_interval_s:
            _sync(_state["engine"], force=False)
        return _state["index"]


def sync_now(bind: Engine | None = None) -> None:
    """Reconcile with the database immediately (called after a publish commits)."""
    with _lock:
        if _state["index"] is not None:
            _sync(bind or _state["engine"], force=False)


def reset() -> None:
    """Forget the live index (tests, or after the data directory changes)."""
    with _lock:
        _state.update(index=None, checksum=None, checked_at=0.0, engine=None)


def _checksum(db: Session) -> tuple[int, int]:
    row = db.execute(
        select(func.count(), func.coalesce(func.sum(KBEntry.index_seq), 0)).where(
            KBEntry.status == "published"
        )
    ).one()
    return int(row[0]), int(row[1])


def _sync(engine: Engine, *, force: bool) -> None:
    index: HybridIndex = _state["index"]
    with Session(engine) as db:
        checksum = _checksum(db)
        _state["checked_at"] = time.monotonic()
        if not force and checksum == _state["checksum"]:
            return
        live = dict(
            db.execute(
                select(KBEntry.id, KBEntry.index_seq).where(KBEntry.status == "published")
            ).all()
        )
        stale = [k for k, seq in live.items() if index.entry_seq.get(k) != seq]
        gone = [k for k in index.entries if k not in live]
        changed = bool(stale or gone)
        if gone:
            index.remove(gone)
        for start in range(0, len(stale), 512):
            chunk = stale[start : start + 512]
            rows = db.execute(
                select(KBEntry.id, KBEntry.published, KBEntry.index_seq).where(
                    KBEntry.id.in_(chunk)
                )
            ).all()
            index.upsert([r.published for r in rows], seqs=[r.index_seq for r in rows])
        _state["checksum"] = checksum
    if changed:
        log.info("KB index synced: %d updated, %d removed", len(stale), len(gone))
        _persist(index, get_settings().index_dir)


def _persist(index: HybridIndex, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            index.save(folder)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
