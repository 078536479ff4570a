"""The technician app (mobile web, 375 px first): today's jobs, an offer to accept or decline
(where the push card's links lead), and the job on site — call, navigate, arrive with GPS,
start, pause, resolve with photos, the customer's signature and the parts used.

A technician logs in with a console account linked to their technician row (the admin's
users page, `hotline user create NAME --role technician --technician ID` or
`hotline user link-technician NAME ID`). Actions go to
`POST /console/tech/actions` as JSON with an id the page generated; the page queues them in
localStorage and resends until answered, and `dispatch.field` does each id once.
"""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from console.web import Viewer, render, signed_in
from core import phone_reads
from core.deps import DB
from core.errors import ApiError
from dispatch import field
from dispatch.models import Technician
from dispatch.schemas import ActionIn

router = APIRouter(prefix="/tech")


class PageAction(ActionIn):
    """An action posted by the app's page: which offer or job it is for."""

    assignment_id: int


def technician_of(db: Session, viewer: Viewer) -> Technician:
    """The technician row the logged-in account is linked to, or a 403."""
    tech = db.get(Technician, viewer.user.technician_id) if viewer.user.technician_id else None
    if tech is None or not tech.active:
        raise ApiError(
            403,
            "not_a_technician",
            "此账号未关联技术员（请管理员在“系统管理 → 用户”中关联）。",
        )
    return tech


@router.get("")
def jobs(request: Request, db: Session = DB, viewer: Viewer = Depends(signed_in)) -> Response:
    """My jobs today: open offers first, then the jobs in hand."""
    tech = technician_of(db, viewer)
    items = [field.job_view(db, a) for a in field.jobs_today(db, tech)]
    items.sort(key=lambda j: (j["assignment"]["status"] != "offered", -j["assignment"]["id"]))
    return render(request, "tech/jobs.html", viewer, tech=tech, jobs=items)


@router.get("/offers/{assignment_id}")
def job(
    assignment_id: int,
    request: Request,
    answer: str | None = None,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """One offer or job (the push card's links open this page; `answer` highlights the button
    the technician tapped on the card — the page still asks before it acts)."""
    tech = technician_of(db, viewer)
    shown = field.job_view(db, field.own_job(db, tech, assignment_id))
    if shown["ticket"]["phone"]:  # an accepted job shows the customer's number
        door = "console GET /console/tech/offers/{id}"
        phone_reads.record(db, viewer, door, tickets=[shown["ticket"]["id"]])
    return render(
        request,
        "tech/job.html",
        viewer,
        tech=tech,
        j=shown,
        answer=answer if answer in ("accept", "decline") else None,
        pause_reasons=field.PAUSE_REASONS,
    )


@router.post("/actions")
async def action(
    request: Request, db: Session = DB, viewer: Viewer = Depends(signed_in)
) -> Response:
    """One queued app action (JSON); errors come back as JSON for the page's queue."""
    try:
        body = PageAction.model_validate(await request.json())
    except (ValidationError, ValueError) as exc:
        return JSONResponse(
            {"error": {"code": "invalid_action", "message": f"无效的操作：{exc}"}}, status_code=422
        )

    def run() -> dict[str, Any]:
        return field.perform(
            db,
            technician=technician_of(db, viewer),
            assignment_id=body.assignment_id,
            kind=body.kind,
            action_id=body.action_id,
            data=body.data,
            actor=viewer.actor,
        )

    try:
        out = await run_in_threadpool(run)
    except ApiError as exc:
        await run_in_threadpool(db.rollback)
        return JSONResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status
        )
    return JSONResponse(jsonable_encoder(out))
