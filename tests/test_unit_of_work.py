"""One commit owner: a request's session commits once, before its answer is sent; routes,
pages and services never commit (docs/architecture.md, "Transactions")."""

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from core import clock
from core.auth import ApiToken
from core.db import session_scope
from core.deps import DB, get_db
from tests.conftest import Service
from tests.sla_support import make_ticket
from tickets.models import TicketEvent

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = "core asr knowledge_base triage tickets dispatch sla intake console hotline".split()
# Who may call commit: the two units of work, and a batch import's chunk checkpoints (a job
# of its own, run only by its owners: the import task and the CLI, never in a request).
OWNERS = {"core/db.py", "core/deps.py", "intake/importer.py"}


def _commits(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_only_the_units_of_work_commit() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for package in PRODUCTION
        for path in (ROOT / package).rglob("*.py")
        if str(path.relative_to(ROOT)) not in OWNERS
        for line in _commits(path)
    }
    assert not found, f"commit outside a unit of work (let the request commit): {sorted(found)}"


def _dependants(app: ASGIApp) -> Iterator[tuple[str, Dependant]]:
    """Every route's dependency tree, as the app resolves it (included routers carry the
    app's own dependencies, the access guard, on their effective routes)."""

    def walk(routes: list) -> Iterator[tuple[str, Dependant]]:
        for route in routes:
            if isinstance(route, Mount):
                yield from walk(getattr(route.app, "routes", []))
            elif hasattr(route, "effective_candidates"):  # an included router
                yield from walk(route.effective_candidates())
            elif getattr(route, "dependant", None) is not None:
                yield route.path, route.dependant

    yield from walk(getattr(app, "routes", []))


def _sessions(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        if sub.call is get_db:
            yield sub
        yield from _sessions(sub)


def test_every_route_session_commits_before_the_answer(service: Service) -> None:
    app = service.client.app
    assert isinstance(app, FastAPI)
    checked = 0
    for path, dependant in _dependants(app):
        for dep in _sessions(dependant):
            checked += 1
            assert dep.scope == "function", (
                f"{path}: its session commits after the answer is sent; use core.deps.DB"
            )
    assert checked > 100


def _answering(app: ASGIApp, probe: Callable[[], int], seen: list[int]) -> ASGIApp:
    """app, with probe() run in a session of its own when the answer starts to go out."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def spy(message: dict) -> None:
            if message["type"] == "http.response.start":
                seen.append(probe())
            await send(message)

        await app(scope, receive, spy)

    return wrapped


def _count(stmt: object) -> Callable[[], int]:
    def probe() -> int:
        with session_scope() as db:
            return int(db.scalar(stmt) or 0)  # type: ignore[call-overload]

    return probe


def test_a_write_is_committed_before_its_answer_is_sent(service: Service) -> None:
    """A client that reads right after a write's answer finds the write (FastAPI's default
    ran the commit of a yield dependency only after the answer had been sent)."""
    seen: list[int] = []
    tokens = select(func.count()).select_from(ApiToken).where(ApiToken.name == "uow-probe")
    client = TestClient(_answering(service.client.app, _count(tokens), seen))
    r = client.post(
        "/api/v1/tokens",
        json={"name": "uow-probe", "role": "agent"},
        headers=service.headers("admin"),
    )
    assert r.status_code == 201, r.text
    assert seen == [1]

    ticket_id = make_ticket()
    notes = (
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "note")
    )
    seen.clear()
    client = TestClient(_answering(service.client.app, _count(notes), seen))
    r = client.post(
        f"/api/v1/tickets/{ticket_id}/notes",
        json={"note": "回访客户"},
        headers=service.headers("agent"),
    )
    assert r.status_code == 201, r.text
    assert seen == [1]


def test_an_error_after_a_write_leaves_nothing(service: Service) -> None:
    """A handler that wrote and then failed answers its error with nothing kept: the
    rollback, too, runs before the answer goes out."""
    probe_app = FastAPI()

    @probe_app.post("/fail")
    def fail(db: Session = DB) -> None:
        db.add(
            ApiToken(name="uow-partial", role="agent", token_hash="x" * 64, created_at=clock.now())
        )
        db.flush()
        raise HTTPException(409, "refused after a write")

    seen: list[int] = []
    tokens = select(func.count()).select_from(ApiToken).where(ApiToken.name == "uow-partial")
    r = TestClient(_answering(probe_app, _count(tokens), seen)).post("/fail")
    assert r.status_code == 409
    assert seen == [0]
    assert _count(tokens)() == 0
