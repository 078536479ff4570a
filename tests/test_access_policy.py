"""The access policy, tested from the OpenAPI document: every operation as every role, as no
one, and as a technician on another technician's objects; and every console page as every
role's console login and as no one."""

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute

from console import accounts
from console.app import PAGES
from console.web import COOKIE, NAV, PREFIX
from core import access
from core.access import Rule
from core.auth import Role, create_token, lookup_token
from core.db import session_scope
from dispatch.requirements import active_assignment
from hotline import policy, registry
from tests.conftest import Service
from tests.sla_support import field_technician, give, make_ticket, wav_bytes

TECH = "technician"
STRANGER = "stranger"  # another technician, acting on the first one's objects
CALLERS = (None, STRANGER, TECH, "agent", "knowledge_engineer", "supervisor", "admin")
HW = "HW-POLICY-1"


def operations(app: FastAPI) -> set[str]:
    """Every operation the app serves: the OpenAPI document's, its WebSockets, and the
    documents themselves."""
    keys = {
        f"{method.upper()} {path}" for path, ops in app.openapi()["paths"].items() for method in ops
    }
    for router in registry.routers():
        for route in router.routes:
            if isinstance(route, APIWebSocketRoute):
                keys.add(f"WEBSOCKET {route.path}")
    return keys | {"GET /openapi.json", "GET /docs", "GET /redoc"}


def pages() -> set[str]:
    """Every console page ('GET /console/review/{ticket_id}')."""
    return {
        f"{method} {PREFIX}{route.path}"
        for module in PAGES
        for route in module.router.routes
        for method in route.methods  # type: ignore[attr-defined]
    }


def test_every_operation_has_exactly_one_policy_entry(service: Service) -> None:
    served = operations(service.client.app) | pages()  # type: ignore[arg-type]
    assert served - set(policy.POLICY) == set(), "routes without a policy entry"
    assert set(policy.POLICY) - served == set(), "policy entries naming no route"
    # A console page opens with a console login only, and no API operation does.
    for key, rule in policy.POLICY.items():
        assert rule.page or rule.public if key in pages() else not rule.page, key


def test_a_route_added_without_an_entry_is_refused_and_flagged(service: Service) -> None:
    app: FastAPI = service.client.app  # type: ignore[assignment]

    @app.get("/api/v1/unlisted")
    def unlisted() -> dict:
        return {}

    try:
        assert "GET /api/v1/unlisted" in operations(app) - set(policy.POLICY)
        resp = service.client.get("/api/v1/unlisted", headers=service.headers("admin"))
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "no_policy"
    finally:
        app.router.routes.pop()
        app.openapi_schema = None


def seed_objects(svc: Service) -> dict[str, Any]:
    """Technician 李师傅 (the "technician" token) holds a ticket, its device, a reservation
    and a transfer order; another technician gets a token of their own."""
    from dispatch.models import TransferOrder
    from tickets.models import Ticket

    sup = svc.headers("supervisor")
    assert svc.client.post("/api/v1/sla/defaults", headers=svc.headers("admin")).status_code == 200
    tech_id = field_technician(svc.client, sup, svc.tokens[TECH], "李师傅")
    with session_scope() as db:
        stranger = create_token(db=db, name="stranger", role=Role.technician)
    field_technician(svc.client, sup, stranger, "王师傅")
    svc.tokens[STRANGER] = stranger
    ticket_id = make_ticket()
    give(svc.client, sup, ticket_id, tech_id, svc.tokens[TECH])
    with session_scope() as db:
        ticket = db.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.hardware_id = HW
    post = {
        "/devices": {"hardware_id": HW, "model": "X1", "address": "深圳市南山区科技园1栋"},
        "/warehouses": {"id": "W-P", "name": "南山仓", "lat": 22.54, "lon": 114.05},
        "/skus": {"sku": "SKU-P", "part": "P-1"},
    }
    for path, body in post.items():
        resp = svc.client.post(f"/api/v1/dispatch{path}", headers=sup, json=body)
        assert resp.status_code == 201, resp.text
    resp = svc.client.post(
        "/api/v1/dispatch/stock",
        headers=sup,
        json={"warehouse_id": "W-P", "sku": "SKU-P", "on_hand": 5},
    )
    assert resp.status_code == 200, resp.text
    resp = svc.client.post(
        "/api/v1/dispatch/reservations",
        headers=sup,
        json={"ticket_id": ticket_id, "sku": "SKU-P", "qty": 1, "warehouse_id": "W-P"},
    )
    assert resp.status_code == 201, resp.text
    reservation_id = resp.json()["id"]
    now = datetime.now(UTC)
    with session_scope() as db:
        order = TransferOrder(
            reservation_id=reservation_id,
            ticket_id=ticket_id,
            sku="SKU-P",
            qty=1,
            from_warehouse_id="W-P",
            to_technician_id=tech_id,
            status="created",
            created_at=now,
            updated_at=now,
        )
        db.add(order)
        db.flush()
        order_id = order.id
    with session_scope() as db:
        assignment = active_assignment(db, ticket_id)
        assert assignment is not None
        assignment_id = assignment.id
    ticket = svc.client.get(f"/api/v1/tickets/{ticket_id}", headers=sup).json()
    with session_scope() as db:
        spare = create_token(db=db, name="spare", role=Role.agent)
        spare_id = lookup_token(db=db, plain=spare).id  # type: ignore[union-attr]
    return {
        "ticket_id": ticket_id,
        "assignment_id": assignment_id,
        "reservation_id": reservation_id,
        "order_id": order_id,
        "tech_id": tech_id,
        "hardware_id": HW,
        "token": ticket["customer_link"].rstrip("/").rsplit("/", 1)[-1],
        "token_id": spare_id,
        "entry_id": "LOCK-FP-231",
        "warehouse_id": "W-P",
        "kind": "skus",
        "year": 2026,
        "region": "深圳",
    }


def _refusal(rule: Rule, caller: str | None, path: str) -> int | None:
    """The status the policy demands for caller, or None where it lets them through."""
    if rule.public:
        return None
    if caller is None:
        return 401
    role = Role.technician if caller == STRANGER else Role(caller)
    if role not in rule.roles:
        return 403
    names = set(re.findall(r"{(\w+)}", path))
    if caller == STRANGER and role in rule.own and names & set(policy.OBJECT_CHECKS):
        return 403
    return None


def test_every_operation_as_every_role_follows_the_policy(service: Service) -> None:
    app: FastAPI = service.client.app  # type: ignore[assignment]
    values = seed_objects(service)
    doc = app.openapi()
    failures: list[str] = []
    calls = 0
    for path, ops in doc["paths"].items():
        url = re.sub(r"{(\w+)}", lambda m: str(values.get(m.group(1), 1)), path)
        for method, op in ops.items():
            rule = policy.POLICY[f"{method.upper()} {path}"]
            # An invalid body: the policy answers before validation, an allowed caller gets
            # a 422 and changes nothing; operations without a body really run.
            body = (
                {"json": []}
                if "application/json" in op.get("requestBody", {}).get("content", {})
                else {}
            )
            for caller in CALLERS:
                headers = {"Authorization": f"Bearer {service.tokens[caller]}"} if caller else {}
                resp = service.client.request(method.upper(), url, headers=headers, **body)
                calls += 1
                want = _refusal(rule, caller, path)
                got = resp.status_code
                ok = got == want if want else got not in (401, 403) and got < 500
                if not ok:
                    failures.append(f"{method.upper()} {url} as {caller}: {got} (policy: {want})")
    # The documents themselves: any signed-in role, nobody without a token.
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert service.client.get(path).status_code == 401
        for caller in CALLERS[1:]:
            headers = {"Authorization": f"Bearer {service.tokens[caller]}"}
            assert service.client.get(path, headers=headers).status_code == 200
    assert calls > 7 * 100
    assert not failures, "\n".join(failures)


def test_a_technician_cannot_touch_another_technician_s_work(service: Service) -> None:
    """Issue 13's five: another's SLA clock, first-call record, part reservation, transfer
    order and device, each with a request that would succeed for the holder."""
    values = seed_objects(service)
    stranger = {"Authorization": f"Bearer {service.tokens[STRANGER]}"}
    holder = service.headers(TECH)
    ticket_id = values["ticket_id"]
    pause = f"/api/v1/sla/tickets/{ticket_id}/pauses"
    call = {
        "data": {
            "call_id": "c-1",
            "ticket_id": str(ticket_id),
            "direction": "outbound",
            "callee": "13800138000",
            "status": "answered",
            "duration_s": "30",
        },
        "files": {"recording": ("c.wav", wav_bytes(), "audio/wav")},
    }
    consume = f"/api/v1/dispatch/reservations/{values['reservation_id']}/consume"
    transfer = f"/api/v1/dispatch/transfers/{values['order_id']}"
    device = {"hardware_id": HW, "model": "X1", "address": "别处", "lat": 23.1, "lon": 113.3}
    refused = [
        service.client.post(pause, headers=stranger, json={"action": "start"}),
        service.client.post("/api/v1/sla/callbacks/call", headers=stranger, **call),
        service.client.post(consume, headers=stranger),
        service.client.post(transfer, headers=stranger, json={"status": "arrived"}),
        service.client.post("/api/v1/dispatch/devices", headers=stranger, json=device),
    ]
    for resp in refused:
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["code"] == "not_assigned"

    # Lists show a technician only their own: the holder sees the reservation and the
    # transfer order, the stranger neither (nor by asking for the holder's id).
    def listed(path: str, headers: dict[str, str]) -> list[int]:
        resp = service.client.get(path, headers=headers)
        assert resp.status_code == 200, resp.text
        return [row["id"] for row in resp.json()["items"]]

    assert values["reservation_id"] in listed("/api/v1/dispatch/reservations", holder)
    assert listed("/api/v1/dispatch/reservations", stranger) == []
    assert int(values["order_id"]) in listed("/api/v1/dispatch/transfers", holder)
    assert listed("/api/v1/dispatch/transfers", stranger) == []
    holder_id = service.client.get("/api/v1/dispatch/me", headers=holder).json()["id"]
    asked = f"/api/v1/dispatch/transfers?technician_id={holder_id}"
    assert listed(asked, stranger) == []
    # Nothing of it happened.
    state = service.client.get(f"/api/v1/sla/tickets/{ticket_id}", headers=holder).json()
    assert state["paused"] is False and not state["pauses"]
    assert not [e for e in state["evidence"] if e["kind"] == "first_call"]
    sup = service.headers("supervisor")
    dev = service.client.get(f"/api/v1/dispatch/devices/{HW}", headers=sup).json()
    assert dev["address"] == "深圳市南山区科技园1栋" and dev["site_changes"] == []
    # Even the holder only confirms receipt of a transfer; the warehouse ships it.
    resp = service.client.post(transfer, headers=holder, json={"status": "shipped"})
    assert resp.status_code == 403
    assert service.client.post(transfer, headers=sup, json={"status": "shipped"}).status_code == 200
    # The holder may do each, and moving the device keeps where it was.
    assert service.client.post(pause, headers=holder, json={"action": "start"}).status_code == 201
    assert service.client.post(consume, headers=holder).status_code == 200
    resp = service.client.post(transfer, headers=holder, json={"status": "arrived"})
    assert resp.status_code == 200, resp.text
    resp = service.client.post("/api/v1/dispatch/devices", headers=holder, json=device)
    assert resp.status_code == 201, resp.text
    dev = service.client.get(f"/api/v1/dispatch/devices/{HW}", headers=sup).json()
    assert dev["address"] == "别处"
    (change,) = dev["site_changes"]
    assert (
        change["before"]["address"] == "深圳市南山区科技园1栋" and change["before"]["lat"] is None
    )
    assert change["after"]["lat"] == 23.1 and change["actor"].startswith("technician:")
    # A technician holding no ticket still registers a new device at installation.
    new = {"hardware_id": "HW-NEW-9", "model": "X1"}
    resp = service.client.post("/api/v1/dispatch/devices", headers=stranger, json=new)
    assert resp.status_code == 201, resp.text
    # The policy declares these rules, so the test above is not the only place they live.
    for key in (
        "POST /api/v1/sla/tickets/{ticket_id}/pauses",
        "POST /api/v1/dispatch/reservations/{reservation_id}/consume",
        "POST /api/v1/dispatch/transfers/{order_id}",
        "GET /api/v1/dispatch/devices/{hardware_id}",
    ):
        assert Role.technician in policy.POLICY[key].own


def test_docs_show_the_policy_as_it_is() -> None:
    text = (Path(__file__).parents[1] / "docs" / "security.md").read_text(encoding="utf-8")
    table = text.split("<!-- policy-table:start -->\n")[1].split("<!-- policy-table:end -->")[0]
    assert table == policy.markdown(), "docs/security.md: paste `hotline access-policy` again"


def _console_logins(values: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """A console login per role (the technician's linked to 李师傅, who holds the ticket):
    role -> (cookie, CSRF token)."""
    logins = {}
    with session_scope() as db:
        for role in Role:
            user = accounts.create_user(
                db=db,
                username=f"page-{role.value.replace('_', '-')}",
                role=role,
                password="pw-longenough1",
                technician_id=values["tech_id"] if role is Role.technician else None,
            )
            cookie = accounts.start_session(db=db, user=user)
            found = accounts.lookup_session(db=db, token=cookie)
            assert found is not None
            logins[role.value] = (cookie, found[0].csrf_token)
    return logins


def test_every_console_page_as_every_role_follows_the_policy(service: Service) -> None:
    """Each page as no one (public pages open, the rest send to the login), as each role's
    console login (403 page where the policy does not name the role): the console reads the
    same table as the API. GETs use real ids; POSTs ids that do not exist, so an admitted
    POST finds nothing to change."""
    values = seed_objects(service)
    values["entry_id"] = "LOCK-FP-231"
    logins = _console_logins(values)
    client = service.client

    def to_login(resp: Any) -> bool:
        return resp.headers.get("location", "").startswith(f"{PREFIX}/login?next=")

    # Logging out ends the session: last.
    keys = sorted(pages(), key=lambda k: (k.endswith("/logout"), k))
    failures: list[str] = []
    for key in keys:
        method, path = key.split(" ", 1)
        fill = (lambda m: str(values.get(m.group(1), 999999))) if method == "GET" else "999999"
        url = re.sub(r"{(\w+)}", fill, path)
        rule = policy.POLICY[key]
        client.cookies.clear()
        resp = client.request(method, url, follow_redirects=False)
        anonymous_ok = (
            resp.status_code < 500  # the login form (a wrong password is a 401)
            if rule.public
            else resp.status_code == 303 and to_login(resp)
        )
        if not anonymous_ok:
            failures.append(f"{key} as no one: {resp.status_code}")
        for role in Role:
            cookie, csrf = logins[role.value]
            client.cookies.set(COOKIE, cookie)
            resp = client.request(
                method, url, headers={"X-CSRF-Token": csrf}, follow_redirects=False
            )
            got = resp.status_code
            refused = got == 403 and "无权访问" in resp.text
            if rule.public or role in rule.roles:
                # GETs open (200; the home page redirects to the role's own), or find no
                # record for an id the test has none of (404).
                ok = not refused and not to_login(resp) and got < 500
                if method == "GET":
                    ok = ok and got in ((200, 303) if "{" not in path else (200, 404))
            else:
                ok = refused
            if not ok:
                failures.append(f"{key} as {role.value}: {got} (policy: {sorted(rule.roles)})")
    client.cookies.clear()
    assert len(keys) >= 50
    assert not failures, "\n".join(failures)


def test_the_console_nav_shows_the_areas_the_policy_opens(service: Service) -> None:
    logins = _console_logins({"tech_id": seed_objects(service)["tech_id"]})
    for role in Role:
        service.client.cookies.set(COOKIE, logins[role.value][0])
        html = service.client.get(f"{PREFIX}/me").text
        nav = html.split("<nav>", 1)[1].split("</nav>", 1)[0]
        shown = set(re.findall(r'href="/console(/[a-z]+)"', nav))
        opened = {p for p in NAV.values() if access.page_admits(f"GET {PREFIX}{p}", role)}
        assert shown == opened, role
        assert opened or role is Role.technician  # every office role has somewhere to go
    service.client.cookies.clear()
