"""Engine, sessions and the declarative base shared by every domain's tables."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import JSON, DateTime, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.settings import Settings, get_settings

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        # SQLite keeps no offset: store every aware time as UTC so it reads back right.
        from datetime import UTC

        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        from datetime import UTC

        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base of all Hotline tables."""


def pool_size_for(settings: Settings) -> int:
    """Connections a service process needs at once: each request in flight holds one, each
    embedded worker thread one, plus a few for readiness checks and start-up work (the KB
    index syncs through a connection of its own). No limit: as many as the 40 threads that
    run FastAPI's blocking handlers."""
    return (settings.max_in_flight or 40) + settings.embedded_workers + 4


def make_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for url; SQLite gets WAL and foreign keys so it behaves like a server DB.
    pool_size defaults to what the configured process needs (pool_size_for); a caller that
    waits longer than HOTLINE_DB_POOL_TIMEOUT_S for a connection gets an error (answered 503)
    instead of queueing without end."""
    settings = get_settings()
    size = pool_size or pool_size_for(settings)
    # A few more for bursts beyond the plan; not 2x: several processes share a PostgreSQL.
    pool = {"pool_size": size, "max_overflow": 4, "pool_timeout": settings.db_pool_timeout_s}
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "savepoint")
        def _begin_first(conn, _name):  # type: ignore[no-untyped-def]
            # pysqlite only opens a transaction before INSERT/UPDATE/DELETE. A SAVEPOINT issued
            # before any of them starts one itself, and its RELEASE then COMMITS: rows written
            # in a "savepoint" became visible (and durable) before the session committed.
            if not conn.connection.dbapi_connection.in_transaction:
                conn.exec_driver_sql("BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    settings = get_settings()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.resolved_database_url)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """A sessionmaker bound to engine (default: the configured one)."""
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


# Structures the models cannot describe (an SQLite FTS5 table with its shadow tables,
# PostgreSQL trigram indexes) are made by raw DDL in a migration and carry this prefix.
RAW_DDL_PREFIX = "search_"


def include_in_autogenerate(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's include_name: leave the raw-DDL search structures out of comparisons."""
    return not (name or "").startswith(RAW_DDL_PREFIX)


LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching text anywhere, its own % and _ taken literally (use with
    `escape=LIKE_ESCAPE`): a user searching for 50% or a_b means those characters."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
