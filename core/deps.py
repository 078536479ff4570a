"""FastAPI dependencies shared by the domain routers."""

from collections.abc import Iterator

from fastapi import Depends
from sqlalchemy.orm import Session

from core.db import session_factory


def get_db() -> Iterator[Session]:
    """A request's unit of work: one session, committed when the handler returns without
    error, rolled back when it raises. Routes and pages never commit themselves (a test holds
    them to it); what must happen after the commit is queued with
    `core.tasks.enqueue_after_commit` or written to the outbox (`core.notify.defer`)."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


# A route's session (`db: Session = DB`). Scope "function": the commit runs when the handler
# has returned and its answer is built, before the answer is sent. FastAPI's default for a
# yield dependency ("request") runs it after the client has the answer, so a client reading
# right after a write could miss it. Every dependency names this one object: sessions are
# shared per scope, so the access guard and the route see the same transaction.
DB = Depends(get_db, scope="function")
