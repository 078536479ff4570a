"""Which confidence model applies now: the newest one fitted on this KB, else the shipped prior.

Fits are stored in the database (`triage_calibrations`), so every process — web, worker,
CLI — uses the same model; each process looks for a newer row at most every
`HOTLINE_INDEX_SYNC_INTERVAL_S`, without holding any lock while it asks.
"""

import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import get_engine
from core.settings import get_settings
from knowledge_base.index import HybridIndex
from triage.diagnose import Calibration, load_calibration
from triage.models import TriageCalibration

_lock = threading.Lock()
_state: dict[str, Any] = {"key": None, "row_id": None, "calibration": None, "checked_at": 0.0}


def kb_signature(index: HybridIndex) -> tuple[int, int]:
    """(entries, sum of index_seq) of what the index holds: changes with every publish."""
    with index.lock:
        return len(index.entries), int(sum(index.entry_seq.values()))


def latest(*, db: Session, encoder: str) -> TriageCalibration | None:
    """The newest fit for encoder, if any."""
    stmt = (
        select(TriageCalibration)
        .where(TriageCalibration.encoder == encoder)
        .order_by(TriageCalibration.id.desc())
        .limit(1)
    )
    return db.scalars(stmt).first()


def _source(row: TriageCalibration) -> str:
    return (
        f"fitted on the KB ({row.kb_entries} entries, {row.pseudo_calls} pseudo-calls, "
        f"{row.verdicts} agent verdicts), {_iso(row.fitted_at)}"
    )


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def active(encoder: str) -> Calibration:
    """The calibration triage uses now for encoder."""
    settings = get_settings()
    key = (encoder, str(settings.resolved_database_url))
    now = time.monotonic()
    with _lock:
        if (
            _state["key"] == key
            and _state["calibration"] is not None
            and now - _state["checked_at"] < settings.index_sync_interval_s
        ):
            return _state["calibration"]
        known = _state["row_id"] if _state["key"] == key else None
    with Session(get_engine()) as db:
        newest = db.scalar(
            select(func.max(TriageCalibration.id)).where(TriageCalibration.encoder == encoder)
        )
        row = db.get(TriageCalibration, newest) if newest and newest != known else None
        if row is not None:
            calibration = Calibration(dict(row.weights), row.bias, _source(row), row.threshold)
        elif newest is None:
            calibration = load_calibration(settings.calibration_file, encoder)
        else:
            calibration = None  # unchanged
    with _lock:
        if calibration is not None or _state["key"] != key:
            _state["calibration"] = calibration or load_calibration(
                settings.calibration_file, encoder
            )
            _state["row_id"] = newest
            _state["key"] = key
        _state["checked_at"] = now
        return _state["calibration"]


def reset() -> None:
    """Look again at the next call (a new fit was stored, or the database changed)."""
    with _lock:
        _state.update(key=None, row_id=None, calibration=None, checked_at=0.0)
