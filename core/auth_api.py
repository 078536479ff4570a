"""Token administration and 'who am I'."""

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import caller
from core.auth import ApiToken, Principal, Role, create_token
from core.deps import get_db
from core.errors import not_found

router = APIRouter(prefix="/api/v1", tags=["access"])


class TokenIn(BaseModel):
    """A token to create for a person or system."""

    name: str = Field(min_length=1, max_length=120)
    role: Role


@router.get("/me")
def me(who: Principal = Depends(caller)) -> dict:
    """The caller's token name and role."""
    return {"name": who.name, "role": who.role.value}


@router.post("/tokens", status_code=201)
def new_token(
    body: TokenIn, db: Session = Depends(get_db), who: Principal = Depends(caller)
) -> dict:
    """Create a token (admin only); the plain value is shown only in this response."""
    plain = create_token(db=db, name=body.name, role=body.role, created_by=who.token_id)
    db.commit()
    return {"name": body.name, "role": body.role.value, "token": plain}


@router.get("/tokens")
def list_tokens(db: Session = Depends(get_db), _: Principal = Depends(caller)) -> dict:
    """All tokens (without their values)."""
    rows = db.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    return {
        "items": [
            {
                "id": t.id,
                "name": t.name,
                "role": t.role,
                "revoked": t.revoked,
                "created_at": t.created_at,
            }
            for t in rows
        ]
    }


@router.delete("/tokens/{token_id}")
def revoke_token(
    token_id: int, db: Session = Depends(get_db), _: Principal = Depends(caller)
) -> dict:
    """Revoke a token; it stops working at once."""
    row = db.get(ApiToken, token_id)
    if row is None:
        raise not_found("token", token_id)
    row.revoked = True
    db.commit()
    return {"id": token_id, "revoked": True}
