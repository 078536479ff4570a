"""Console tables: user accounts, login sessions and who is looking at a ticket."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class ConsoleUser(Base):
    """A person who logs in to the console; the role is one of core.auth.Role."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(32))
    # "scrypt$n$r$p$salt_hex$hash_hex": parameters travel with the hash so they can be raised.
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A technician's login opens their field app (/console/tech) for this technician row.
    technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("technicians.id"), nullable=True, unique=True
    )


class ConsoleSession(Base):
    """A logged-in browser: only the SHA-256 of the cookie value is stored."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class TicketPresence(Base):
    """Who has a ticket open in the console, and since when (the collision hint)."""

    __tablename__ = "console_ticket_presence"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    actor: Mapped[str] = mapped_column(String(160), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
