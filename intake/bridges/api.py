"""Bridge endpoints: what the connected systems said about a ticket, and a manual re-run."""

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from core.access import caller
from core.auth import Principal
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses
from intake.bridges.connectors import ConnectorError, load_connectors
from intake.bridges.service import enrich, ticket_bridges
from intake.schemas import ConnectorList, TicketBridges

router = APIRouter(prefix="/api/v1", tags=["bridges"], responses=error_responses(*GUARDED))


@router.get(
    "/tickets/{ticket_id}/enrichments", response_model=TicketBridges, responses=error_responses(404)
)
def get_enrichments(ticket_id: str, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Every connector outcome for the ticket (timeouts and errors included) and the advice."""
    return ticket_bridges(db, ticket_id)


@router.post(
    "/tickets/{ticket_id}/enrich", response_model=TicketBridges, responses=error_responses(404)
)
def post_enrich(ticket_id: str, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Call the connectors for the ticket now (in this request) and return the outcomes."""
    enrich(db=db, ticket_id=ticket_id)
    return ticket_bridges(db, ticket_id)


@router.get("/bridges/connectors", response_model=ConnectorList)
def get_connectors(_: Principal = Depends(caller)) -> dict:
    """The configured, enabled connectors (a 422 names a malformed connector file)."""
    try:
        connectors = load_connectors()
    except ConnectorError as exc:
        raise ApiError(422, "bad_connector", str(exc)) from exc
    return {
        "items": [
            {
                "name": c.name,
                "system": c.system,
                "method": c.method,
                "url": c.url,
                "product_types": list(c.product_types),
                "for_each": c.for_each,
                "fields": c.fields,
            }
            for c in connectors
        ]
    }
