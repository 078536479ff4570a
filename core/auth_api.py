"""Token administration and 'who am I'."""

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core import auth
from core.access import caller
from core.auth import Principal, Role, create_token
from core.deps import DB
from core.errors import GUARDED, error_responses
from core.schemas import ApiModel

router = APIRouter(prefix="/api/v1", tags=["access"], responses=error_responses(*GUARDED))


class TokenIn(BaseModel):
    """A token to create for a person or system."""

    # No control characters: a NUL would reach PostgreSQL, which refuses it with an error.
    name: str = Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")
    role: Role


class MeOut(ApiModel):
    """The caller's token name and role."""

    name: str
    role: Role


class NewToken(MeOut):
    """A new token; `token` is the plain value, shown only once."""

    token: str


class TokenOut(ApiModel):
    """A token, without its value."""

    id: int
    name: str
    role: Role
    revoked: bool
    created_at: datetime


class TokenList(ApiModel):
    """All tokens."""

    items: list[TokenOut]


class Revoked(ApiModel):
    """The token revoked."""

    id: int
    revoked: bool


@router.get("/me", response_model=MeOut)
def me(who: Principal = Depends(caller)) -> dict:
    """The caller's token name and role."""
    return {"name": who.name, "role": who.role.value}


@router.post("/tokens", status_code=201, response_model=NewToken)
def new_token(body: TokenIn, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """Create a token (admin only); the plain value is shown only in this response."""
    plain = create_token(db=db, name=body.name, role=body.role, created_by=who.token_id)
    return {"name": body.name, "role": body.role.value, "token": plain}


@router.get("/tokens", response_model=TokenList)
def list_tokens(db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """All tokens (without their values)."""
    rows = auth.list_tokens(db=db)
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


@router.delete("/tokens/{token_id}", response_model=Revoked, responses=error_responses(404))
def revoke_token(token_id: int, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Revoke a token; it stops working at once."""
    auth.revoke_token(db=db, token_id=token_id)
    return {"id": token_id, "revoked": True}
