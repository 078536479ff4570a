"""The OpenAPI document holds for the ticket, KB, intake and dispatch APIs: schemathesis sends
generated requests (valid and invalid) to the app on a seeded database and checks that none
gets a 5xx, every status is documented and every answer matches its documented schema."""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Service, start_service

pytestmark = pytest.mark.contract

TARGETS = r"^/api/v1/(tickets|reviews|kb|intake|imports|triage|calls|dispatch)(/|$)"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# 20 generated requests per operation: mostly valid ones, some invalid (each must get a 4xx).
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 5}


def _seed(svc: Service) -> None:
    """A few real records for generated ids to find: tickets, a technician, parts."""
    sup = svc.headers("supervisor")
    for text in ("门锁指纹没反应，电话13800138000", "充电桩充不进电，故障码E07"):
        r = svc.client.post("/api/v1/intake/text", json={"text": text}, headers=sup)
        assert r.status_code == 201, r.text
    tech = {"name": "张师傅", "home_lat": 22.54, "home_lon": 114.05, "skills": ["门锁"]}
    assert svc.client.post("/api/v1/dispatch/technicians", json=tech, headers=sup).is_success
    wh = {"id": "WH1", "lat": 22.5, "lon": 114.0}
    assert svc.client.post("/api/v1/dispatch/warehouses", json=wh, headers=sup).is_success
    sku = {"sku": "SKU-1", "part": "main_board", "models": ["X1"]}
    assert svc.client.post("/api/v1/dispatch/skus", json=sku, headers=sup).is_success


@pytest.fixture(scope="module")
def contract_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One seeded service for every generated case of this module."""
    svc = start_service("sqlite", tmp_path_factory.mktemp("contract"))
    _seed(svc)
    try:
        yield svc
    finally:
        svc.client.__exit__(None, None, None)


def _check(
    operation: APIOperation, mode: GenerationMode, svc: Service, examples: int, seen: Counter[str]
) -> None:
    """Send `examples` generated requests of one operation; raise on the first broken check.
    `seen` counts the answers' status classes per operation (e.g. "GET /x 2xx")."""
    session = ASGIClient(svc.client.app)
    # The admin token passes every role check, so generated requests reach the handlers.
    headers = svc.headers("admin")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same cases on every run: CI does not flake on a new draw
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(session=session, headers=headers, checks=CHECKS)
        seen[f"{operation.label} {response.status_code // 100}xx"] += 1

    run()


def test_ticket_kb_intake_and_dispatch_apis_keep_their_contract(
    contract_service: Service,
) -> None:
    app = contract_service.client.app
    schema = schemathesis.openapi.from_dict(app.openapi())  # type: ignore[attr-defined]
    schema.app = app
    failures: list[str] = []
    seen: Counter[str] = Counter()
    operations = 0
    for result in schema.include(path_regex=TARGETS).get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in EXAMPLES.items():
            try:
                _check(operation, mode, contract_service, examples, seen)
            except Unsatisfiable:
                continue  # nothing in the request can be made invalid (no body, free strings)
            # Every operation is tried and every failure reported (schemathesis raises a group).
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert operations >= 60, operations  # the filter still selects the four APIs
    assert not failures, "\n\n".join(failures)
    # The requests reached the handlers (a broken token would answer 401s, all documented).
    # (38 of 84 operations answer a 2xx to generated data; random ids mostly miss.)
    answered = {key.rsplit(" ", 1)[0] for key in seen if key.endswith(" 2xx")}
    assert len(answered) >= 30, sorted(seen.items())


def _described(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether a JSON schema says what the answer holds (not just "an object")."""
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return bool(target.get("properties")) or _described(target, components)
    if schema.get("type") == "array":
        return _described(schema.get("items", {}), components)
    if "anyOf" in schema:
        return all(_described(s, components) or s.get("type") == "null" for s in schema["anyOf"])
    return schema.get("type") in ("string", "integer", "number", "boolean")


def test_every_operation_documents_its_answer_and_its_errors() -> None:
    from hotline.app import create_app

    spec = create_app(warm_up=False).openapi()
    components = spec["components"]["schemas"]
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    vague, undocumented = [], []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            answers = {
                status: answer.get("content", {}).get("application/json", {}).get("schema")
                for status, answer in op["responses"].items()
            }
            vague += [
                f"{method.upper()} {path} {status}"
                for status, schema in answers.items()
                if status.startswith("2")
                and schema is not None
                and not _described(schema, components)
            ]
            errors = {s: schema for s, schema in answers.items() if s.startswith("4")}
            if path.startswith("/api/") and (
                "401" not in errors or any(schema != envelope for schema in errors.values())
            ):
                undocumented.append(f"{method.upper()} {path}: {sorted(errors)}")
    assert not vague, vague
    assert not undocumented, undocumented
