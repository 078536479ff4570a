"""OpenAPI links: which answer gives the id that other operations take in their path.

FastAPI emits no links. This table names, per path parameter, the answers that carry its
value; `add_links` links each of them to every operation whose path takes that parameter
(POST /api/v1/intake/text → GET, PATCH, transition, review … /api/v1/tickets/{ticket_id}).
Clients can follow them, and the stateful schemathesis run (tests/test_api_contract.py) uses
them to chain real ids from one call into the next.
"""

import re
from typing import Any

# path parameter -> (operation, status, JSON pointer of the value in its answer's body)
SOURCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "ticket_id": (
        ("POST /api/v1/intake/text", "201", "/id"),
        ("GET /api/v1/tickets", "200", "/items/0/id"),
    ),
    "attachment_id": (("POST /api/v1/tickets/{ticket_id}/attachments", "201", "/id"),),
    "batch_id": (
        ("POST /api/v1/imports/excel", "201", "/id"),
        ("POST /api/v1/imports/wechat", "201", "/id"),
        ("GET /api/v1/imports", "200", "/items/0/id"),
    ),
    "job_id": (("POST /api/v1/intake/audio", "202", "/job/id"),),
    "call_id": (("POST /api/v1/calls", "201", "/call_id"),),
    "entry_id": (
        ("POST /api/v1/kb/entries", "201", "/id"),
        ("GET /api/v1/kb/entries", "200", "/items/0/id"),
    ),
    "tech_id": (
        ("POST /api/v1/dispatch/technicians", "201", "/id"),
        ("GET /api/v1/dispatch/technicians", "200", "/items/0/id"),
    ),
    "assignment_id": (("POST /api/v1/dispatch/tickets/{ticket_id}/reassign", "200", "/id"),),
    "hardware_id": (("POST /api/v1/dispatch/devices", "201", "/hardware_id"),),
    "warehouse_id": (
        ("POST /api/v1/dispatch/warehouses", "201", "/id"),
        ("GET /api/v1/dispatch/warehouses", "200", "/items/0/id"),
    ),
    "reservation_id": (
        ("POST /api/v1/dispatch/reservations", "201", "/id"),
        ("GET /api/v1/dispatch/reservations", "200", "/items/0/id"),
    ),
    "order_id": (("GET /api/v1/dispatch/transfers", "200", "/items/0/id"),),
    "collaboration_id": (("POST /api/v1/sla/tickets/{ticket_id}/collaborations", "201", "/id"),),
}


def _name(method: str, path: str) -> str:
    """A link's name: the target operation, e.g. 'PATCH /api/v1/tickets/{ticket_id}' →
    'PatchTicketsTicketId'."""
    words = re.findall(r"[A-Za-z0-9]+", path.removeprefix("/api/v1"))
    return method.capitalize() + "".join(w[:1].upper() + w[1:] for w in words)


def add_links(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the links of SOURCES to an OpenAPI document (in place; also returned)."""
    paths: dict[str, dict[str, Any]] = doc["paths"]
    for param, sources in SOURCES.items():
        targets = [
            (method, path, op)
            for path, ops in paths.items()
            if f"{{{param}}}" in path
            for method, op in ops.items()
        ]
        for key, status, pointer in sources:
            method, path = key.split(" ", 1)
            answer = paths[path][method.lower()]["responses"][status]
            known = set(re.findall(r"{(\w+)}", path))
            links = answer.setdefault("links", {})
            for target_method, target_path, target in targets:
                # The target's other path parameters the source also has come from its request.
                values = {f"path.{param}": f"$response.body#{pointer}"}
                for other in set(re.findall(r"{(\w+)}", target_path)) & known - {param}:
                    values[f"path.{other}"] = f"$request.path.{other}"
                links[_name(target_method, target_path)] = {
                    "operationId": target["operationId"],
                    "parameters": values,
                }
    return doc
