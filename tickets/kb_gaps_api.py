"""KB gaps, confusions and entry health for knowledge engineers (tickets.kb_gaps)."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.access import caller
from core.auth import Principal
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses
from core.tasks import enqueue_after_commit
from knowledge_base import service as kb
from knowledge_base.schemas import EntryOut
from tickets import kb_gaps

router = APIRouter(
    prefix="/api/v1/kb", tags=["knowledge base"], responses=error_responses(*GUARDED)
)


class ReportMeta(BaseModel):
    """When the served report was computed and over what."""

    report_id: int | None
    computed_at: datetime | None
    window_days: float
    tickets_seen: int
    unmatched: int
    seconds: float | None


class GapCluster(BaseModel):
    """Calls that matched nothing and belong together: a candidate new entry."""

    id: int
    size: int
    product_type: str | None
    title: str
    keywords: list[str]
    symptoms: list[str]
    not_a_fault: bool
    last_7_days: int
    prior_7_days: int
    trend: str
    first_at: datetime
    last_at: datetime
    cohesion: float
    ticket_ids: list[int]


class GapList(ReportMeta):
    """The newest gap clusters, biggest first."""

    items: list[GapCluster]


class Confusion(BaseModel):
    """Agents corrected triage's `predicted` entry to `corrected` this many times."""

    predicted_kb_id: str
    predicted_title: str | None
    corrected_kb_id: str
    corrected_title: str | None
    count: int
    back: int
    suggested_symptoms: list[str]
    ticket_ids: list[int]


class ConfusionList(ReportMeta):
    """Pairs of entries agents keep correcting between, most frequent first."""

    items: list[Confusion]


class EntryHealthList(ReportMeta):
    """Per published entry: use and corrections; idle entries; coverage by product type."""

    items: list[dict[str, Any]]
    idle_entries: list[dict[str, Any]]
    coverage: list[dict[str, Any]]


class Queued(BaseModel):
    """The report will be recomputed in the background."""

    queued: bool


@router.get("/gaps", response_model=GapList)
def list_gaps(db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Clusters of recent calls that matched nothing (from the newest stored report)."""
    return kb_gaps.report_view(kb_gaps.latest(db=db), "gaps")


@router.post("/gaps/refresh", status_code=202, response_model=Queued)
def refresh_gaps(db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Recompute gaps, confusions and entry health now (in the background)."""
    enqueue_after_commit(db, kb_gaps.compute_task, "on_demand")
    return {"queued": True}


@router.post(
    "/gaps/{cluster_ref}/draft",
    status_code=201,
    response_model=EntryOut,
    responses=error_responses(404, 409),
)
def draft_from_gap(cluster_ref: str, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """Start a draft entry from a cluster (`<report_id>-<cluster id>`)."""
    report_id, _, cluster_id = cluster_ref.partition("-")
    if not (report_id.isdigit() and cluster_id.isdigit()):
        raise ApiError(
            422, "invalid_cluster", "A cluster is named <report_id>-<cluster id>, e.g. 12-3."
        )
    entry = kb_gaps.start_draft(
        db=db, report_id=int(report_id), cluster_id=int(cluster_id), actor=who.actor
    )
    db.flush()  # the answer shows the revision the flush gives the entry
    return kb.entry_view(entry)


@router.get("/confusions", response_model=ConfusionList)
def list_confusions(db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Pairs of entries agents keep correcting between (A → B), with the calls."""
    return kb_gaps.report_view(kb_gaps.latest(db=db), "confusions")


@router.get("/health", response_model=EntryHealthList)
def entry_health(db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Per entry: calls matched, confirmed, corrected away, mean confidence; idle entries."""
    return kb_gaps.report_view(kb_gaps.latest(db=db), "health")
