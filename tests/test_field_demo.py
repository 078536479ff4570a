"""The field demo `make run` seeds (`hotline init --demo-technicians`): a new user who signs in
as the demo technician sees the technician app with a job and an offer in it."""

from sqlalchemy import func, select

from core.db import session_scope
from dispatch.models import Assignment, Technician
from hotline.demo import TECHNICIANS, seed_field_demo
from tests.conftest import Service
from tests.test_console import login


def test_demo_technician_sees_a_job_and_an_offer(service: Service) -> None:
    with session_scope() as db:
        seeded = seed_field_demo(db=db)
    assert sorted(seeded["logins"]) == sorted(t.login for t in TECHNICIANS)
    assert len(seeded["tickets"]) == 2
    with session_scope() as db:
        roster = db.scalars(select(Technician).order_by(Technician.id)).all()
        assert [t.name for t in roster] == [t.name for t in TECHNICIANS]
        assert all(t.skills and t.shifts and t.regions for t in roster)
        held = db.scalars(select(Assignment).where(Assignment.technician_id == roster[0].id)).all()
    assert sorted(a.status for a in held) == ["accepted", "offered"]
    job = next(a for a in held if a.status == "accepted")
    offer = next(a for a in held if a.status == "offered")

    c = service.client
    login(c, "technician", seeded["logins"]["technician"])
    assert c.get("/console/", follow_redirects=False).headers["location"] == "/console/tech"
    page = c.get("/console/tech")
    assert page.status_code == 200
    assert f'data-assignment="{job.id}"' in page.text
    assert f'data-assignment="{offer.id}"' in page.text
    assert "科苑路15号" in page.text and "海德三道88号" in page.text and "待接单" in page.text
    on_site = c.get(f"/console/tech/offers/{job.id}")
    assert on_site.status_code == 200
    assert 'href="tel:13800138000"' in on_site.text  # the accepted job: call the customer
    waiting = c.get(f"/console/tech/offers/{offer.id}")
    assert waiting.status_code == 200 and 'id="accept"' in waiting.text

    # another demo login works its own (empty) list; a second run adds nothing
    login(c, "technician-2", seeded["logins"]["technician-2"])
    other = c.get("/console/tech")
    assert other.status_code == 200 and 'id="no-jobs"' in other.text
    with session_scope() as db:
        assert seed_field_demo(db=db) == {"logins": {}, "tickets": []}
        assert db.scalar(select(func.count()).select_from(Technician)) == len(TECHNICIANS)
