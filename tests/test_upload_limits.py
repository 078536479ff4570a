"""Every upload door has a size limit (413, nothing stored); registry CSVs are capped in rows."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from core.auth import Role
from core.settings import get_settings
from tests.conftest import Service
from tests.test_console import login, make_users

OVER = 60_000  # bytes of each oversized file; the limit is set to 50,000 below


@contextmanager
def limits(**values: Any) -> Iterator[None]:
    settings = get_settings()
    old = {k: getattr(settings, k) for k in values}
    for k, v in values.items():
        setattr(settings, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(settings, k, v)


def _ticket(svc: Service) -> int:
    r = svc.client.post(
        "/api/v1/intake/text",
        json={"text": "空调不制冷，电话13900139000", "channel": "app"},
        headers=svc.headers("agent"),
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _technicians(svc: Service) -> set[str]:
    r = svc.client.get("/api/v1/dispatch/technicians", headers=svc.headers("supervisor"))
    return {t["name"] for t in r.json()["items"]}


def _csv(rows: int, pad: int = 0) -> bytes:
    lines = ["name,phone,home_lat,home_lon,skills"]
    lines += [f"师傅{i},1390000{i:04d},30.2,120.1,空调{'x' * pad}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_registry_csv_capped_in_bytes_and_rows(shared_service: Service) -> None:
    svc, h = shared_service, shared_service.headers("supervisor")
    url = "/api/v1/dispatch/import/technicians"
    with limits(registry_import_max_bytes=2_000):
        r = svc.client.post(url, files={"file": ("t.csv", _csv(5, pad=500))}, headers=h)
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    assert "HOTLINE_REGISTRY_IMPORT_MAX_BYTES" in r.json()["error"]["message"]
    with limits(registry_import_max_rows=3):
        r = svc.client.post(url, files={"file": ("t.csv", _csv(4))}, headers=h)
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_rows", r.text
        assert "师傅0" not in _technicians(svc)  # the rows before the cap were rolled back
        r = svc.client.post(url, files={"file": ("t.csv", _csv(3))}, headers=h)
        assert r.status_code == 200 and r.json()["written"] == 3, r.text
    gbk = "name,home_lat,home_lon\n王师傅,30.2,120.1\n".encode("gbk")
    r = svc.client.post(url, files={"file": ("t.csv", gbk)}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_encoding"
    assert "王师傅" not in _technicians(svc)


@pytest.mark.parametrize(
    "door",
    [
        "audio",
        "transcriptions",
        "excel",
        "wechat",
        "kb",
        "call_recording",
        "console_import",
        "console_kb",
    ],
)
def test_every_upload_door_is_limited(shared_service: Service, door: str) -> None:
    svc = shared_service
    big = b"\0" * OVER
    with limits(max_upload_bytes=50_000):
        if door == "audio":
            r = svc.client.post(
                "/api/v1/intake/audio",
                files={"file": ("c.wav", big)},
                headers=svc.headers("agent"),
            )
        elif door == "transcriptions":
            r = svc.client.post(
                "/v1/audio/transcriptions",
                files={"file": ("c.wav", big)},
                data={"model": "whisper-1"},
                headers=svc.headers("agent"),
            )
        elif door in ("excel", "wechat"):
            name = "sheet.csv" if door == "excel" else "chat.txt"
            r = svc.client.post(
                f"/api/v1/imports/{door}",
                files={"file": (name, big)},
                headers=svc.headers("agent"),
            )
        elif door == "kb":
            r = svc.client.post(
                "/api/v1/kb/import",
                files={"file": ("kb.jsonl", big)},
                headers=svc.headers("knowledge_engineer"),
            )
        elif door == "call_recording":
            r = svc.client.post(
                "/api/v1/sla/callbacks/call",
                data={
                    "call_id": "c-big",
                    "ticket_id": str(_ticket(svc)),
                    "direction": "outbound",
                    "callee": "13900139000",
                    "status": "answered",
                    "duration_s": "30",
                },
                files={"recording": ("r.wav", big)},
                headers=svc.headers("agent"),
            )
        elif door == "console_kb":
            make_users(("curator", Role.knowledge_engineer))
            csrf = login(svc.client, "curator")
            r = svc.client.post(
                "/console/kb/transfer",
                data={"csrf_token": csrf},
                files={"file": ("kb.jsonl", big)},
            )
            svc.client.cookies.clear()
        else:
            make_users(("importer", Role.agent))
            csrf = login(svc.client, "importer")
            r = svc.client.post(
                "/console/imports/excel",
                data={"csrf_token": csrf},
                files={"file": ("sheet.csv", big)},
            )
            svc.client.cookies.clear()
    assert r.status_code == 413, r.text[:300]
    if not door.startswith("console"):
        assert r.json()["error"]["code"] in ("file_too_large", "recording_too_large")


def test_attachments_limited_to_10_mb(shared_service: Service) -> None:
    svc = shared_service
    ticket_id = _ticket(svc)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)
    r = svc.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        files={"file": ("p.png", png)},
        headers=svc.headers("agent"),
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    make_users(("desk-agent", Role.agent))
    csrf = login(svc.client, "desk-agent")
    r = svc.client.post(
        f"/console/tickets/{ticket_id}/attachments",
        data={"csrf_token": csrf},
        files={"file": ("p.png", png)},
    )
    svc.client.cookies.clear()
    assert r.status_code == 413, r.text[:300]
    listed = svc.client.get(
        f"/api/v1/tickets/{ticket_id}/attachments", headers=svc.headers("agent")
    ).json()
    assert listed["items"] == []


def test_any_body_over_the_ceiling_is_refused_as_it_arrives(shared_service: Service) -> None:
    """JSON bodies have no route limit of their own (a field photo, device logs): the
    service-wide ceiling (upload limit + 1 MB) refuses them, declared or chunked."""
    svc = shared_service
    h = {**svc.headers("agent"), "content-type": "application/json"}
    body = b'{"text": "' + b"a" * 1_200_000 + b'", "channel": "app"}'
    with limits(max_upload_bytes=100_000):
        r = svc.client.post("/api/v1/intake/text", content=body, headers=h)
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large", r.text
        chunks = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
        r = svc.client.post("/api/v1/intake/text", content=chunks, headers=h)
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large", r.text
        assert "HOTLINE_MAX_UPLOAD_BYTES" in r.json()["error"]["message"]
    assert svc.client.get("/healthz").status_code == 200
