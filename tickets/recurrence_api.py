"""Recurring-fault prediction endpoints: the pattern report, a scan now, the alerts raised."""

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import caller
from core.auth import Principal
from core.deps import DB
from core.errors import GUARDED, error_responses
from tickets import recurrence
from tickets.schemas import AlertsOut, RecurringReport, ScanOut

router = APIRouter(
    prefix="/api/v1/predictions", tags=["prediction"], responses=error_responses(*GUARDED)
)


@router.get("/recurring", response_model=RecurringReport)
def get_recurring(
    min_count: int | None = Query(default=None, ge=2, le=100),
    window_days: float | None = Query(default=None, gt=0, le=365),
    min_probability: float | None = Query(default=None, ge=0, le=1),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Recurring patterns per model (same model + fault code, N within D days) with the
    learned probability of another occurrence within D days, its features, and whether it
    reaches the gate for a preventive ticket (default HOTLINE_RECURRENCE_MIN_PROBABILITY)."""
    return recurrence.report(db, min_count, window_days, min_probability)


@router.post("/recurring/scan", response_model=ScanOut)
def post_scan(
    min_count: int | None = Query(default=None, ge=2, le=100),
    window_days: float | None = Query(default=None, gt=0, le=365),
    min_probability: float | None = Query(default=None, ge=0, le=1),
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Scan now and raise preventive-maintenance tickets for active patterns whose learned
    probability reaches the gate (default HOTLINE_RECURRENCE_MIN_PROBABILITY)."""
    alerts = recurrence.detect(db, min_count, window_days, actor=who.actor, min_p=min_probability)
    return {"created": [recurrence.alert_view(a) for a in alerts]}


@router.get("/alerts", response_model=AlertsOut)
def list_alerts(
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Recurring-fault alerts, newest first, with their evidence and preventive ticket."""
    rows = db.scalars(
        select(recurrence.RecurrenceAlert)
        .order_by(recurrence.RecurrenceAlert.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return {"items": [recurrence.alert_view(a) for a in rows]}
