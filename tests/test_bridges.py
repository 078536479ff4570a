"""Bridges: IoT/CRM/ERP connectors served by a local HTTP server (one fast, one slow, one
failing) enrich a ticket after it is created, never blocking it, and raise advice."""

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.conftest import BACKENDS, Service, start_service

ELEVATOR = "电梯运行时抖动，钢丝绳打滑，型号TE-1000，设备编号EL20260001，地址杭州市上城区解放路5号"


class Systems(BaseHTTPRequestHandler):
    """IoT answers at once, the CRM too late, the ERP with an error; requests are recorded."""

    calls: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        Systems.calls.append((self.path, dict(self.headers)))
        if self.path.startswith("/iot/devices/"):
            body = {
                "data": {
                    "totalRuns": 250000,
                    "runsSinceMaintenance": 12850,
                    "lastStop": {"durationMinutes": 42},
                }
            }
            self._json(200, body)
        elif self.path.startswith("/crm/"):
            time.sleep(2.0)
            self._json(200, {"customer": {"id": "C-1"}})
        elif self.path.startswith("/erp/stock/"):
            self._json(500, {"error": "database down"})
        else:
            self._json(404, {})

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the slow CRM's caller gave up already

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def systems() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Systems)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Systems.calls = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _connectors(folder: Path, base: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    demo = Path(__file__).resolve().parent.parent / "intake" / "bridges" / "demo"
    for name in ("iot.yaml", "crm.yaml", "erp.yaml", "advice.yaml"):
        text = (demo / name).read_text(encoding="utf-8")
        text = text.replace("http://127.0.0.1:18081", base).replace("timeout_s: 3\n", "")
        (folder / name).write_text(text, "utf-8")  # HOTLINE_BRIDGE_TIMEOUT_S applies


@pytest.fixture(params=BACKENDS)
def bridged(
    request: pytest.FixtureRequest, tmp_path: Path, systems: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Service]:
    folder = tmp_path / "bridges"
    _connectors(folder, systems)
    monkeypatch.setenv("HOTLINE_BRIDGES_DIR", str(folder))
    monkeypatch.setenv("HOTLINE_BRIDGE_TIMEOUT_S", "0.5")
    monkeypatch.setenv("HOTLINE_IOT_API_KEY", "k-123")
    svc = start_service(request.param, tmp_path)
    try:
        yield svc
    finally:
        svc.client.__exit__(None, None, None)
        from core.db import get_engine

        get_engine().dispose()
    os.environ.pop("HOTLINE_BRIDGES_DIR", None)


def _wait_enriched(svc: Service, ticket_id: int, n: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = svc.client.get(
            f"/api/v1/tickets/{ticket_id}/enrichments", headers=svc.headers("agent")
        ).json()
        if len(got["enrichments"]) >= n:
            return got
        time.sleep(0.2)
    raise AssertionError(f"ticket {ticket_id} not enriched: {got}")


def test_bridges_enrich_after_creation_and_show_failures(bridged: Service) -> None:
    r = bridged.client.post(
        "/api/v1/intake/text", json={"text": ELEVATOR}, headers=bridged.headers("agent")
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["device"]["hardware_id"] == "EL20260001"
    assert ticket["diagnosis"]["kb_id"] == "ELV-SHEAVE-WEAR"
    # The bridges run after the ticket is made (an outbox job): the enrichments arrive later.
    # How long a slow CRM may take is a benchmark's business, not a timed test's.

    got = _wait_enriched(bridged, ticket["id"], 3)
    by = {e["connector"]: e for e in got["enrichments"]}
    assert by["iot"]["status"] == "ok"
    assert by["iot"]["data"] == {
        "run_count": 250000,
        "runs_since_service": 12850,
        "last_stop_minutes": 42,
        "last_seen": None,
    }
    assert by["crm"]["status"] == "timeout" and "0.5" in by["crm"]["error"]
    assert by["erp"]["status"] == "error" and "500" in by["erp"]["error"]
    assert {f["connector"] for f in got["failures"]} == {"crm", "erp"}
    rules = {a["rule"]: a for a in got["advice"]}
    sheave = rules["kb:ELV-SHEAVE-WEAR"]  # 12,850 runs ≥ the KB entry's min_run_count 12,000
    assert "曳引轮" in sheave["advice"] and sheave["evidence"]["min_run_count"] == 12000
    assert "42" in rules["long-stop"]["advice"]
    paths = {p for p, _ in Systems.calls}
    assert "/iot/devices/EL20260001/stats" in paths
    assert "/erp/stock/ELV-SHV-01" in paths  # one call per diagnosed part
    iot_headers = next(h for p, h in Systems.calls if p.startswith("/iot/"))
    assert iot_headers.get("X-Api-Key") == "k-123"  # ${ENV} filled in

    history = bridged.client.get(
        f"/api/v1/tickets/{ticket['id']}/history", headers=bridged.headers("agent")
    ).json()["items"]
    assert any("crm: timeout" in (h["reason"] or "") for h in history)
    ticket_now = bridged.client.get(
        f"/api/v1/tickets/{ticket['id']}", headers=bridged.headers("agent")
    ).json()
    assert ticket_now["status"] == "triaged"  # failures changed nothing on the ticket

    # a manual re-run adds outcomes and keeps one copy of each advice
    again = bridged.client.post(
        f"/api/v1/tickets/{ticket['id']}/enrich", headers=bridged.headers("agent")
    ).json()
    assert len(again["enrichments"]) == 6 and len(again["advice"]) == len(got["advice"])


def test_without_device_code_only_part_stock_is_asked(bridged: Service) -> None:
    r = bridged.client.post(
        "/api/v1/intake/text",
        json={"text": "空调不制冷了，型号KFR-35GW"},
        headers=bridged.headers("agent"),
    )
    assert r.status_code == 201
    # No device code: the IoT and CRM connectors do not apply; the ERP one (parts) does.
    got = _wait_enriched(bridged, r.json()["id"], 1)
    assert [e["connector"] for e in got["enrichments"]] == ["erp"]
    assert not [p for p, _ in Systems.calls if p.startswith(("/iot/", "/crm/"))]
    assert (
        bridged.client.get(
            "/api/v1/tickets/99999/enrichments", headers=bridged.headers("agent")
        ).status_code
        == 404
    )
    names = bridged.client.get(
        "/api/v1/bridges/connectors", headers=bridged.headers("agent")
    ).json()["items"]
    assert {c["name"] for c in names} == {"iot", "crm", "erp"}


def test_broken_connector_file_does_not_block_tickets(bridged: Service, tmp_path: Path) -> None:
    (tmp_path / "bridges" / "broken.yaml").write_text("name: [unclosed", "utf-8")
    r = bridged.client.post(
        "/api/v1/intake/text", json={"text": ELEVATOR}, headers=bridged.headers("agent")
    )
    assert r.status_code == 201
    listed = bridged.client.get("/api/v1/bridges/connectors", headers=bridged.headers("agent"))
    assert listed.status_code == 422 and "broken.yaml" in listed.json()["error"]["message"]
