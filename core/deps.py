"""FastAPI dependencies shared by the domain routers."""

from collections.abc import Iterator

from sqlalchemy.orm import Session

from core.db import session_factory


def get_db() -> Iterator[Session]:
    """A request-scoped session; commits when the handler returns without error."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
