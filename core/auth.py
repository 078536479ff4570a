"""API tokens (stored hashed) with roles, and the FastAPI dependency that checks them."""

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.requests import HTTPConnection

from core import clock
from core.db import Base, UTCDateTime
from core.errors import ApiError, not_found

TOKEN_PREFIX = "htl_"


class Role(StrEnum):
    """What a token holder may do (hotline/policy.py says which operations each may call)."""

    admin = "admin"
    agent = "agent"
    knowledge_engineer = "knowledge_engineer"
    supervisor = "supervisor"
    technician = "technician"


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, db: Session, name: str, role: Role, created_by: int | None = None) -> str:
    """Create a token and return its plain value (shown once, never stored)."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(
        ApiToken(
            name=name,
            role=role.value,
            token_hash=hash_token(plain),
            created_at=clock.now(),
            created_by=created_by,
        )
    )
    db.flush()
    return plain


def list_tokens(*, db: Session) -> list[ApiToken]:
    """Every token (revoked ones too), oldest first; their values are never stored."""
    return list(db.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(*, db: Session, token_id: int) -> ApiToken:
    """Revoke a token: it stops working at once (404 for an unknown id)."""
    row = db.get(ApiToken, token_id)
    if row is None:
        raise not_found("token", token_id)
    row.revoked = True
    db.flush()
    return row


def lookup_token(*, db: Session, plain: str) -> ApiToken | None:
    """The live token matching plain, if any."""
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if row is None or row.revoked:
        return None
    return row


class Principal:
    """Who is calling: the token's id, name and role."""

    def __init__(self, token_id: int, name: str, role: Role) -> None:
        self.token_id = token_id
        self.name = name
        self.role = role

    @property
    def actor(self) -> str:
        """How this caller appears in histories."""
        return f"{self.role.value}:{self.name}"


def bearer_token(conn: HTTPConnection) -> str | None:
    """The API token a request or WebSocket carries (Authorization: Bearer, or X-API-Key)."""
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return conn.headers.get("x-api-key") or None


def authorize(*, db: Session, plain: str | None, roles: tuple[Role, ...]) -> Principal:
    """The principal of a plain token, if it holds one of roles; 401/403 ApiError otherwise.
    Admin is a role like the others here: the access policy (core.access) names it where it
    may act."""
    if plain is None:
        raise ApiError(
            401, "unauthenticated", "Missing API token: send 'Authorization: Bearer <token>'."
        )
    row = lookup_token(db=db, plain=plain)
    if row is None:
        raise ApiError(401, "invalid_token", "The API token is unknown or revoked.")
    role = Role(row.role)
    if role not in roles:
        allowed = ", ".join(r.value for r in roles) or "nobody"
        message = f"Role '{role.value}' may not do this; allowed: {allowed}."
        raise ApiError(403, "forbidden", message)
    return Principal(row.id, row.name, role)
