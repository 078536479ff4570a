"""Hostile input gets a 4xx that says what was wrong, never a 500; every page carries the
security headers."""

from tests.conftest import Service

HUGE = str(2**63)


def test_integers_past_64_bits_are_a_client_error(shared_service: Service) -> None:
    admin = shared_service.headers("admin")
    for path in (
        f"/api/v1/dispatch/technicians/{HUGE}",
        f"/api/v1/dispatch/assignments/{HUGE}",
        f"/api/v1/sla/calendars/{HUGE}",
        f"/api/v1/tickets/{HUGE}",
    ):
        r = shared_service.client.get(path, headers=admin)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert r.json()["error"]["code"], path


def test_a_lone_surrogate_in_text_is_refused_cleanly(shared_service: Service) -> None:
    body = '{"text": "门锁坏了\\ud800", "channel": "app"}'
    r = shared_service.client.post(
        "/api/v1/intake/text",
        content=body.encode(),
        headers={**shared_service.headers("agent"), "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"]


def test_security_headers_on_pages_and_api(shared_service: Service) -> None:
    page = shared_service.client.get("/console/login")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    api = shared_service.client.get("/api/v1/kb/entries", headers=shared_service.headers("admin"))
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers  # JSON needs none
