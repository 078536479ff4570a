"""Alembic environment: the URL comes from Hotline's settings unless the caller passes one."""

import importlib

from alembic import context
from sqlalchemy import engine_from_config, pool

from core.db import Base, UTCDateTime, include_in_autogenerate
from core.settings import get_settings

config = context.config
# Autogenerate compares every table with the database; the composition root knows the table
# modules (alembic.ini names it). Applying migrations needs none of them.
if registry := config.get_main_option("table_registry"):
    importlib.import_module(registry).import_models()
url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
config.set_main_option("sqlalchemy.url", url)


def run_migrations_offline() -> None:
    """Emit SQL without a database connection."""
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations to the database."""
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    # Migrations must not import the app: render our column types as plain SQLAlchemy ones.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        include_name=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
