"""Shared fixtures: a configured service on SQLite (and PostgreSQL when available)."""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("HOTLINE_TEST_PG_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
DEMO_KB = Path(__file__).resolve().parent.parent / "knowledge_base" / "demo" / "kb.jsonl"


def configure(data_dir: Path, db_url: str) -> None:
    """Point every cached singleton at a fresh data dir and database."""
    from core import tasks
    from core.db import get_engine
    from core.settings import get_settings
    from hotline import registry
    from knowledge_base import live_index
    from triage.rules import get_rules

    os.environ["HOTLINE_DATA_DIR"] = str(data_dir)
    os.environ["HOTLINE_DATABASE_URL"] = db_url
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_rules.cache_clear()
    live_index.reset()
    registry.install()
    tasks.configure()


def fresh_database(backend: str, tmp: Path) -> str:
    """An empty, migrated database of the given backend."""
    from core.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'hotline.db'}"
    else:
        assert PG_URL
        url = PG_URL
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


@dataclass
class Service:
    """A running app with the demo KB published and one token per role."""

    client: TestClient
    tokens: dict[str, str]
    backend: str
    data_dir: Path

    def headers(self, role: str) -> dict[str, str]:
        """Authorization header for role."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def start_service(backend: str, tmp: Path) -> Service:
    """Migrate, load the demo KB, create tokens, start the app."""
    from core.auth import Role, create_token
    from core.db import session_scope
    from hotline.app import create_app
    from knowledge_base import service as kb

    url = fresh_database(backend, tmp)
    configure(tmp / "data", url)
    with session_scope() as db:
        report = kb.import_entries(
            db=db, data=DEMO_KB.read_bytes(), fmt="jsonl", actor="test", publish=True
        )
        assert report.ok, report.errors
        tokens = {r.value: create_token(db=db, name=f"{r.value}-1", role=r) for r in Role}
    client = TestClient(create_app(warm_up=True))
    client.__enter__()
    return Service(client=client, tokens=tokens, backend=backend, data_dir=tmp / "data")


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """A fresh service per test, on each configured database backend."""
    svc = start_service(request.param, tmp_path)
    try:
        yield svc
    finally:
        svc.client.__exit__(None, None, None)
        from core.db import get_engine

        get_engine().dispose()


@pytest.fixture(scope="module")
def shared_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One SQLite service shared by read-mostly tests of a module."""
    svc = start_service("sqlite", tmp_path_factory.mktemp("svc"))
    try:
        yield svc
    finally:
        svc.client.__exit__(None, None, None)


@pytest.fixture
def listen() -> Iterator[Callable[[str], list[dict]]]:
    """listen(name) → a list that receives the payload of every `name` event until the test
    ends (then the listener is removed, so no test hears another's events)."""
    from core import events

    added: list[tuple[str, Callable[..., None]]] = []

    def _listen(name: str) -> list[dict]:
        got: list[dict] = []

        def record(db: object, **payload: object) -> None:
            got.append(payload)

        events.subscribe(name)(record)
        added.append((name, record))
        return got

    yield _listen
    for name, fn in added:
        events.unsubscribe(name, fn)
