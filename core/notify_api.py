"""Dead letters of outgoing notifications: what could not be delivered, and sending it again."""

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import notify
from core.access import caller
from core.auth import Principal
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses

router = APIRouter(
    prefix="/api/v1/notifications", tags=["notifications"], responses=error_responses(*GUARDED)
)


class DeliveryOut(BaseModel):
    """One delivery as admins see it."""

    id: int
    kind: str
    channel: str
    recipient: str
    url: str
    ref_type: str | None
    ref_id: str | None
    status: str
    attempts: int
    created_at: datetime
    last_error: str | None
    idempotency_key: str


class DeliveryList(BaseModel):
    """A page of deliveries, oldest first."""

    items: list[DeliveryOut]


def _out(d: notify.NotificationDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        kind=d.kind,
        channel=d.channel,
        recipient=d.recipient,
        url=d.url,
        ref_type=d.ref_type,
        ref_id=d.ref_id,
        status=d.status,
        attempts=d.attempts,
        created_at=d.created_at,
        last_error=d.last_error,
        idempotency_key=notify.delivery_key(d.id),
    )


@router.get("/dead", response_model=DeliveryList)
def list_dead(
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    channel: str | None = Query(
        default=None, description="webhook (push cards, alerts) or task (outbox jobs)"
    ),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> DeliveryList:
    """Deliveries that failed every try: push cards and alerts, and outbox jobs (geocoding,
    bridges, imports; kind `task.<handler>`, last_error says why): the dead-letter list."""
    query = select(notify.NotificationDelivery).where(notify.NotificationDelivery.status == "dead")
    if channel is not None:
        query = query.where(notify.NotificationDelivery.channel == channel)
    rows = db.scalars(query.order_by(notify.NotificationDelivery.id).limit(limit).offset(offset))
    return DeliveryList(items=[_out(d) for d in rows])


@router.post(
    "/{delivery_id}/retry", response_model=DeliveryOut, responses=error_responses(404, 409)
)
def retry_dead(
    delivery_id: int,
    db: Session = DB,
    _: Principal = Depends(caller),
) -> DeliveryOut:
    """Send a dead delivery again (same Idempotency-Key), e.g. after its receiver was fixed."""
    delivery = notify.revive(db=db, delivery_id=delivery_id)
    if delivery is None:
        raise ApiError(404, "not_found", f"No dead delivery with id {delivery_id}.")
    return _out(delivery)
