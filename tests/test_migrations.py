"""Migrations create exactly the schema the models describe, on every backend."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from core.db import Base, include_in_autogenerate
from hotline.registry import import_models
from tests.conftest import BACKENDS, fresh_database


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_match_models(backend: str, tmp_path: Path) -> None:
    import_models()
    url = fresh_database(backend, tmp_path)
    engine = create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_name": include_in_autogenerate}
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {"tickets", "ticket_events", "kb_entries", "kb_revisions", "api_tokens"} <= tables
    engine.dispose()
