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

from core.db import get_engine, make_engine
from core.settings import get_settings
from knowledge_base.embeddings import Encoder, load_encoder
from knowledge_base.index import HybridIndex
from knowledge_base.models import KBEntry
from knowledge_base.tokens import KBTokenizer

log = logging.getLogger("hotline.kb")

# Why two locks and a connection of its own: requests hold a pooled connection while they ask
# for the index. A sync that held a lock every request waits on while it waited for a pooled
# connection froze the process under a burst (every connection held by a request waiting for
# the lock). Now requests never wait on a sync (they use the index they have while one runs),
# and the sync reads through its own one-connection engine that only the holder of _sync_lock
# uses, so the lock holder never waits for a connection someone else holds.
_sync_lock = threading.Lock()
_encoder_lock = threading.Lock()
_state: dict = {
    "index": None,
    "checksum": None,
    "checked_at": 0.0,
    "engine": None,
    "sync_started": None,
}
_encoders: dict[str, Encoder] = {}
# A sync (or first load) running longer than this makes the readiness check fail.
SYNC_STUCK_S = 30.0


def encoder(spec: str | None = None) -> Encoder:
    """The loaded encoder for spec (default: the configured one), loaded once per process."""
    spec = spec or get_settings().embedding_model
    with _encoder_lock:
        if spec not in _encoders:
            _encoders[spec] = load_encoder(spec, get_settings().encoder_threads)
        return _encoders[spec]


def is_loaded() -> bool:
    """Whether this process has built its index yet."""
    return _state["index"] is not None


def get_index(bind: Engine | None = None) -> HybridIndex:
    """The live index, built or loaded on first use and synced at most every interval.

    Only the first call waits (for the index to exist); later calls start a due sync when
    none is running and otherwise answer with the index as it is."""
    index = _state["index"]
    if index is None:
        with _sync_lock:
            if _state["index"] is None:
                _load(bind or get_engine())
            return _state["index"]
    due = time.monotonic() - _state["checked_at"] >= get_settings().index_sync_interval_s
    if due and _sync_lock.acquire(blocking=False):
        try:
            _sync_guarded(force=False)
        finally:
            _sync_lock.release()
    return index


def sync_now() -> None:
    """Reconcile with the database immediately (called after a publish commits): waits for a
    sync already running, whose read may predate the commit, then syncs again."""
    if _state["index"] is None:
        return
    with _sync_lock:
        if _state["index"] is not None:
            _sync_guarded(force=False)


def reset() -> None:
    """Forget the live index (tests, or after the data directory changes)."""
    with _sync_lock:
        if _state["engine"] is not None:
            _state["engine"].dispose()
        _state.update(index=None, checksum=None, checked_at=0.0, engine=None, sync_started=None)


def health_check() -> str:
    """Readiness: the index is loaded and no sync has been stuck; raises RuntimeError if not.
    Also starts a due sync, so an idle process notices a database it cannot read."""
    started = _state["sync_started"]
    if started is not None and time.monotonic() - started > SYNC_STUCK_S:
        raise RuntimeError(f"index sync running for {time.monotonic() - started:.0f} s")
    index = get_index()
    return f"{len(index)} entries"


def _load(bind: Engine) -> None:
    """First use in this process: the persisted copy (or an empty index), then a full sync.
    Caller holds _sync_lock."""
    settings = get_settings()
    enc = encoder()
    tok = KBTokenizer()
    index = HybridIndex.load(settings.index_dir, enc, tok) or HybridIndex(enc, tok)
    # One connection of its own, used only under _sync_lock (see the comment on the locks).
    engine = make_engine(bind.url.render_as_string(hide_password=False), pool_size=1)
    _state.update(checksum=None, checked_at=0.0)
    _state["sync_started"] = time.monotonic()
    try:
        _sync(engine, index, force=True)
    except Exception:
        engine.dispose()
        raise
    finally:
        _state["sync_started"] = None
    _state.update(index=index, engine=engine)


def _sync_guarded(*, force: bool) -> None:
    """A sync under _sync_lock (held by the caller); a failure keeps the index as it is."""
    _state["sync_started"] = time.monotonic()
    try:
        _sync(_state["engine"], _state["index"], force=force)
    except Exception:
        # Searching a slightly stale index beats failing the request; readiness tells.
        _state["checked_at"] = time.monotonic()
        log.warning("KB index sync failed; keeping the index as it is", exc_info=True)
    finally:
        _state["sync_started"] = None


def _checksum(db: Session) -> tuple[int, int]:
    row = db.execute(
        select(func.count(), func.coalesce(func.sum(KBEntry.index_seq), 0)).where(
            KBEntry.status == "published"
        )
    ).one()
    return int(row[0]), int(row[1])


def _sync(engine: Engine, index: HybridIndex, *, force: bool) -> None:
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
