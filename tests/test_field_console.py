"""The technician app's pages: a technician login linked to its technician row sees only its
own offers and jobs, and acts on them through the page's JSON action endpoint."""

import uuid

from console import accounts
from core.auth import Role
from core.db import session_scope
from tests.conftest import Service
from tests.dispatch_support import SITE, north
from tests.field_support import PHONE, customer_ticket, offer_of, resolve_data, tech_with_token
from tests.test_console import PASSWORD, login


def _login_for(name: str, tech_id: int | None) -> None:
    with session_scope() as db:
        accounts.create_user(
            db=db, username=name, role=Role.technician, password=PASSWORD, technician_id=tech_id
        )


def test_technician_app_pages_and_actions(service: Service) -> None:
    c = service.client
    tech_id, _ = tech_with_token(service, "李师傅", north(0.5))
    other_id, _ = tech_with_token(service, "赵师傅", north(3.0))
    _login_for("li.tech", tech_id)
    _login_for("zhao.tech", other_id)
    _login_for("nobody.tech", None)
    tid = customer_ticket()
    aid = offer_of(service, tid)

    # the push card's accept link opens the offer page (a GET changes nothing)
    csrf = login(c, "li.tech")
    assert c.get("/console/", follow_redirects=False).headers["location"] == "/console/tech"
    jobs = c.get("/console/tech")
    assert jobs.status_code == 200 and f'data-assignment="{aid}"' in jobs.text
    offer = c.get(f"/console/tech/offers/{aid}?answer=accept")
    assert offer.status_code == 200 and 'id="accept"' in offer.text and "btn hot" in offer.text
    assert PHONE not in offer.text  # the customer's phone only once the job is taken

    def post(kind: str, data: dict | None = None, action_id: str | None = None, token: str = csrf):
        return c.post(
            "/console/tech/actions",
            json={
                "assignment_id": aid,
                "action_id": action_id or uuid.uuid4().hex,
                "kind": kind,
                "data": data or {},
            },
            headers={"X-CSRF-Token": token},
        )

    assert post("accept", token="forged").status_code == 403  # CSRF
    first = post("accept", action_id="page-accept-1")
    assert first.status_code == 200 and first.json()["assignment_status"] == "accepted"
    assert post("accept", action_id="page-accept-1").json()["replayed"] is True
    job = c.get(f"/console/tech/offers/{aid}")
    assert PHONE in job.text and f'href="tel:{PHONE}"' in job.text
    assert "uri.amap.com/navigation" in job.text and "锁体" in job.text  # the KB resolution
    bad = post("on_way", {"eta_minutes": 0})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_eta"
    assert post("arrive", {"lat": SITE[0], "lon": SITE[1]}).json()["evidence"]["accepted"]
    assert post("start").json()["ticket_status"] == "in_progress"
    assert post("resolve", resolve_data()).json()["ticket_status"] == "resolved"
    assert "已完成" in c.get(f"/console/tech/offers/{aid}").text

    # another technician cannot read or act on it; an unlinked login is told why
    csrf2 = login(c, "zhao.tech")
    assert c.get(f"/console/tech/offers/{aid}").status_code == 403
    r = c.post(
        "/console/tech/actions",
        json={"assignment_id": aid, "action_id": uuid.uuid4().hex, "kind": "start"},
        headers={"X-CSRF-Token": csrf2},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_yours"
    login(c, "nobody.tech")
    assert "未关联技术员" in c.get("/console/tech").text
