"""Shared fixtures: a configured service on SQLite (and PostgreSQL when available)."""

import atexit
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from eval.console_server import Server as Served
from eval.console_server import running_server


def _worker_database(url: str | None) -> str | None:
    """The PostgreSQL database of this test process. Tests empty every table, so parallel
    workers (pytest-xdist, `make test`) each get a database of their own, created on first use."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _worker_database(os.environ.get("HOTLINE_TEST_PG_URL"))
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
DEMO_KB = Path(__file__).resolve().parent.parent / "knowledge_base" / "demo" / "kb.jsonl"


def configure(data_dir: Path, db_url: str) -> None:
    """Point every cached singleton at a fresh data dir and database."""
    from core import tasks
    from core.db import get_engine
    from core.settings import get_settings
    from hotline import registry
    from knowledge_base import live_index
    from triage import confidence
    from triage.rules import get_rules

    os.environ["HOTLINE_DATA_DIR"] = str(data_dir)
    os.environ["HOTLINE_DATABASE_URL"] = db_url
    # The fake WeCom and other outside systems listen on loopback, which webhooks refuse
    # unless allow-listed (test_webhook_targets shows the refusal without this).
    os.environ["HOTLINE_WEBHOOK_ALLOW_PRIVATE"] = "127.0.0.0/8,::1/128"
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_rules.cache_clear()
    live_index.reset()
    confidence.reset()
    # PostgreSQL tests reuse one database (emptied, ids restarted): no cache may outlive a test.
    from sla.config import forget_all_specs

    forget_all_specs()
    registry.install()
    tasks.configure()


# Built once per test session, copied per test: a migration and the KB's embeddings cost
# seconds, a file copy milliseconds. Each holds hotline.db (and data/ for a started service).
_templates: dict[str, Path] = {}
_template_tokens: dict[str, str] = {}
_pg_template_tokens: dict[str, str] = {}
_pg_migrated: set[str] = set()


def _template_dir(name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"hotline-{name}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _copy_sqlite(src: Path, dst: Path) -> str:
    """A consistent copy of the template database, with what is still in its WAL (a process
    may hold a connection to it open, e.g. the KB index's sync engine)."""
    dst.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src / "hotline.db") as source, sqlite3.connect(dst / "hotline.db") as out:
        source.backup(out)
    return f"sqlite:///{dst / 'hotline.db'}"


def fresh_database(backend: str, tmp: Path) -> str:
    """An empty, migrated database of the given backend: SQLite a copy of one migrated once
    per session; PostgreSQL migrated once per session, then every table emptied."""
    from core.migrate import upgrade

    if backend == "sqlite":
        if "migrated" not in _templates:
            folder = _template_dir("migrated")
            upgrade(f"sqlite:///{folder / 'hotline.db'}")
            _templates["migrated"] = folder
        return _copy_sqlite(_templates["migrated"], tmp)
    assert PG_URL
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        if PG_URL in _pg_migrated:
            # Migrations insert no rows, so empty tables with restarted ids are a fresh database.
            tables = conn.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).all()
            names = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    if PG_URL not in _pg_migrated:
        upgrade(PG_URL)
        _pg_migrated.add(PG_URL)
    return PG_URL


_demo_fit: list = []


def store_demo_calibration() -> None:
    """Store the demo KB's confidence fit, computed once per session: the same KB always
    fits the same way (seeded), so the refit queued by the import finds it done and skips."""
    from core.db import session_scope
    from knowledge_base import live_index
    from triage import calibration, confidence

    index = live_index.get_index()
    if not _demo_fit:
        _demo_fit.append(calibration.fit(index))
    with session_scope() as db:
        calibration.store(
            db=db,
            fit=_demo_fit[0],
            encoder=index.encoder.name,
            trigger="init",
            signature=confidence.kb_signature(index),
        )


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


def _seed(backend: str, tmp: Path) -> dict[str, str]:
    """Migrate, load and publish the demo KB, create one token per role; the tokens."""
    from core.auth import Role, create_token
    from core.db import session_scope
    from knowledge_base import service as kb

    url = fresh_database(backend, tmp)
    configure(tmp / "data", url)
    with session_scope() as db:
        report = kb.import_entries(
            db=db, data=DEMO_KB.read_bytes(), fmt="jsonl", actor="test", publish=True
        )
        assert report.ok, report.errors
        tokens = {r.value: create_token(db=db, name=f"{r.value}-1", role=r) for r in Role}
    store_demo_calibration()
    return tokens


def _seeded_sqlite(tmp: Path) -> dict[str, str]:
    """A copy of the session's seeded SQLite database and its persisted KB index."""
    from core.db import get_engine
    from knowledge_base import live_index

    if "seeded" not in _templates:
        folder = _template_dir("seeded")
        _template_tokens.update(_seed("sqlite", folder))
        live_index.get_index()  # embeds the KB once and persists the index under data/
        get_engine().dispose()
        _templates["seeded"] = folder
    folder = _templates["seeded"]
    url = _copy_sqlite(folder, tmp)
    shutil.copytree(folder / "data" / "index", tmp / "data" / "index")
    configure(tmp / "data", url)
    return dict(_template_tokens)


@contextmanager
def seeded_server(folder: Path) -> Iterator[Served]:
    """A served app (eval.console_server.running_server: a uvicorn process) on a copy of the
    session's seeded database, as `hotline init` leaves one (demo KB published, its index and
    confidence fit, the SLA defaults), with the console users made here: no init and no user
    subprocesses, which took 15-25 s per server on two busy cores."""
    from core.db import get_engine, session_scope
    from eval.console_server import create_users
    from sla.config import install_defaults

    tokens = _seeded_sqlite(folder)
    with session_scope() as db:
        install_defaults(db=db)
    create_users()
    get_engine().dispose()
    url = f"sqlite:///{folder / 'hotline.db'}"
    with running_server(folder / "data", database_url=url, admin_token=tokens["admin"]) as srv:
        yield srv


def _copy_pg_database(source: str, target: str) -> None:
    """Replace PostgreSQL database `target` with a copy of `source` (CREATE DATABASE …
    TEMPLATE copies files: well under a second, where seeding again takes 3-15 s)."""
    assert PG_URL
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # A template must have no sessions; engines of a finished test may still hold some.
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname IN (:s, :t) AND pid <> pg_backend_pid()"
            ),
            {"s": source, "t": target},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))
    admin.dispose()


def _seeded_postgresql(tmp: Path) -> dict[str, str]:
    """This process's PostgreSQL database replaced by a copy of one seeded once per session,
    and the persisted KB index copied, as for SQLite."""
    from core.db import get_engine
    from knowledge_base import live_index

    assert PG_URL
    name = make_url(PG_URL).database
    assert name
    template = f"{name}_seeded"
    if "pg-seeded" not in _templates:
        folder = _template_dir("pg-seeded")
        _pg_template_tokens.update(_seed("postgresql", folder))
        live_index.get_index()
        get_engine().dispose()
        live_index.reset()  # its sync engine may hold a session on the database
        _copy_pg_database(name, template)
        _templates["pg-seeded"] = folder
    else:
        _copy_pg_database(template, name)
    folder = _templates["pg-seeded"]
    shutil.copytree(folder / "data" / "index", tmp / "data" / "index")
    configure(tmp / "data", PG_URL)
    return dict(_pg_template_tokens)


def start_service(backend: str, tmp: Path) -> Service:
    """A migrated database with the demo KB published and one token per role, and the app
    started on it (loaded models are process-wide, so only the first test loads them)."""
    from hotline.app import create_app

    tokens = _seeded_sqlite(tmp) if backend == "sqlite" else _seeded_postgresql(tmp)
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

        def record(event: events.Event, *, db: object) -> None:
            got.append(event.payload())

        events.subscribe(name)(record)
        added.append((name, record))
        return got

    yield _listen
    for name, fn in added:
        events.unsubscribe(name, fn)


# The longest test files start first: with one file per process at a time (--dist loadfile),
# a long file handed out last keeps one process busy while the others sit idle.
LONGEST_FIRST = (
    "test_api_contract.py",
    "test_faults.py",
    "test_live_recovery.py",
    "test_console_browser.py",
    "test_cli.py",
    "test_field_browser.py",
    "test_console_desk_browser.py",
    "test_sla_escalation.py",
    "test_wechat_conversation.py",
    "test_kb_gaps_browser.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the collected tests so the longest files run first (stable otherwise)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
