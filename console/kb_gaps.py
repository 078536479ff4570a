"""What to write next: the knowledge engineer's gaps, confusions and entry-health pages.

The report is computed in the background (tickets.kb_gaps); these pages read the stored one.
"""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from console.web import Viewer, redirect, render, signed_in
from core.deps import DB
from core.tasks import enqueue_after_commit
from tickets import kb_gaps

router = APIRouter(prefix="/kb")
TRENDS = {"rising": "上升", "falling": "下降", "steady": "持平"}


def _page(request: Request, db: Session, viewer: Viewer, template: str, part: str) -> Response:
    row = kb_gaps.latest(db=db)
    return render(
        request,
        template,
        viewer,
        kbtab=part,
        report=kb_gaps.report_view(row, part),
        trends=TRENDS,
    )


@router.get("/gaps")
def gaps_page(request: Request, db: Session = DB, viewer: Viewer = Depends(signed_in)) -> Response:
    """Clusters of recent calls that matched nothing, each a candidate entry."""
    return _page(request, db, viewer, "kb_gaps.html", "gaps")


@router.post("/gaps/refresh")
def refresh(db: Session = DB, viewer: Viewer = Depends(signed_in)) -> Response:
    """Recompute the report in the background; the page shows the new one when it is done."""
    enqueue_after_commit(db, kb_gaps.compute_task, "on_demand")
    return redirect("/kb/gaps?queued=1")


@router.post("/gaps/{report_id}/{cluster_id}/draft")
def draft_from_cluster(
    report_id: int,
    cluster_id: int,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Start a draft from the cluster (symptoms filled in) and open it for editing."""
    entry = kb_gaps.start_draft(
        db=db, report_id=report_id, cluster_id=cluster_id, actor=viewer.actor
    )
    return redirect(f"/kb/{entry.id}?from_gap=1")


@router.get("/confusions")
def confusions_page(
    request: Request, db: Session = DB, viewer: Viewer = Depends(signed_in)
) -> Response:
    """Pairs of entries agents keep correcting between, with what the callers said."""
    return _page(request, db, viewer, "kb_confusions.html", "confusions")


@router.get("/health")
def health_page(
    request: Request, db: Session = DB, viewer: Viewer = Depends(signed_in)
) -> Response:
    """Per entry: calls matched, confirmed, corrected away; idle entries; coverage."""
    return _page(request, db, viewer, "kb_health.html", "health")
