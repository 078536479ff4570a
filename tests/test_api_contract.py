"""The OpenAPI document holds for the ticket, KB, intake and dispatch APIs, as every role:
schemathesis sends generated requests (valid and invalid) to the app on a seeded database, and
follows the document's links (POST /intake/text → GET/PATCH /tickets/{ticket_id} …) so a
stateful run acts on real ids. No answer may be a 5xx, every status (a role's 403 included)
must be documented and every answer must match its documented schema.

`make test` runs a bounded sample: every operation as admin with 20 requests, as each other
role with a few (most of theirs are refused: one answer shows the 403 is documented), and a
short stateful run per role. `make fuzz` (HOTLINE_FUZZ=full) runs the whole matrix: 20
requests per operation per role and longer stateful runs.
"""

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from core.access import Rule
from core.auth import Role
from hotline import policy
from tests.conftest import Service, start_service
from tests.sla_support import field_technician, give

pytestmark = pytest.mark.contract

TARGETS = r"^/api/v1/(tickets|reviews|kb|intake|imports|triage|calls|dispatch)(/|$)"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
ROLES = [r.value for r in Role]
FULL = os.environ.get("HOTLINE_FUZZ") == "full"
# Generated requests per operation: mostly valid ones, some invalid (each must get a 4xx).
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 5}
# In `make test`, a role other than admin: a few per operation it may call, one per operation
# it may not (the guard answers 403 before it reads anything).
SAMPLE = {GenerationMode.POSITIVE: 1, GenerationMode.NEGATIVE: 1}
REFUSED = {GenerationMode.POSITIVE: 1}
# Stateful runs: scenarios per role and calls per scenario.
SCENARIOS, STEPS = (60, 12) if FULL else (12, 8)


def _seed(svc: Service) -> None:
    """A few real records for generated ids to find: tickets, a technician (the technician
    token's, holding one ticket), parts."""
    sup = svc.headers("supervisor")
    ids = []
    for text in ("门锁指纹没反应，电话13800138000", "充电桩充不进电，故障码E07"):
        r = svc.client.post("/api/v1/intake/text", json={"text": text}, headers=sup)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    tech = {"name": "张师傅", "home_lat": 22.54, "home_lon": 114.05, "skills": ["门锁"]}
    assert svc.client.post("/api/v1/dispatch/technicians", json=tech, headers=sup).is_success
    assert svc.client.post("/api/v1/sla/defaults", headers=svc.headers("admin")).is_success
    own = field_technician(svc.client, sup, svc.tokens["technician"], "李师傅")
    give(svc.client, sup, ids[0], own, svc.tokens["technician"])
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


def _schema(svc: Service) -> Any:
    app = svc.client.app
    schema = schemathesis.openapi.from_dict(app.openapi())  # type: ignore[attr-defined]
    schema.app = app
    return schema.include(path_regex=TARGETS)


def _admits(rule: Rule, role: str) -> bool:
    return rule.public or Role(role) in rule.roles


def _check(
    operation: APIOperation,
    mode: GenerationMode,
    svc: Service,
    role: str,
    examples: int,
    seen: Counter[str],
) -> None:
    """Send `examples` generated requests of one operation as role; raise on the first broken
    check. `seen` counts the answers' status classes per operation (e.g. "GET /x 2xx")."""
    session = ASGIClient(svc.client.app)
    headers = svc.headers(role)

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


@pytest.mark.parametrize("role", ROLES)
def test_ticket_kb_intake_and_dispatch_apis_keep_their_contract(
    contract_service: Service, role: str
) -> None:
    failures: list[str] = []
    seen: Counter[str] = Counter()
    operations = 0
    for result in _schema(contract_service).get_all_operations():
        operation = result.ok()
        operations += 1
        admitted = _admits(policy.POLICY[operation.label], role)
        plan = EXAMPLES if FULL or role == "admin" else SAMPLE if admitted else REFUSED
        for mode, examples in plan.items():
            try:
                _check(operation, mode, contract_service, role, examples, seen)
            except Unsatisfiable:
                continue  # nothing in the request can be made invalid (no body, free strings)
            # Every operation is tried and every failure reported (schemathesis raises a group).
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} as {role} [{mode.value}]: {exc}")
    print(f"{role}: {sum(seen.values())} cases, {operations} operations")
    assert operations >= 60, operations  # the filter still selects the four APIs
    assert not failures, "\n\n".join(failures)
    # The requests reached the handlers (a broken token would answer 401s, all documented).
    answered = {key.rsplit(" ", 1)[0] for key in seen if key.endswith(" 2xx")}
    assert answered, sorted(seen.items())
    if role == "admin":  # 38 of 84 operations answer a 2xx to generated data
        assert len(answered) >= 30, sorted(seen.items())


@pytest.mark.parametrize("role", ROLES)
def test_stateful_runs_follow_the_links_as_every_role(contract_service: Service, role: str) -> None:
    """Scenarios of calls chained by the document's links: an id one answer gives is the next
    call's path parameter. Every answer is checked; the run must follow links to 2xx answers."""
    schema = _schema(contract_service)
    session = ASGIClient(contract_service.client.app)
    headers = contract_service.headers(role)
    failures: list[str] = []
    seen: Counter[str] = Counter()

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def step(self, input: Any) -> Any:
            output = super().step(input)
            linked = input.transition is not None and bool(input.applied_parameters)
            status = output.response.status_code
            seen[f"{'linked' if linked else 'generated'} {status // 100}xx"] += 1
            return output

        def teardown(self) -> None:
            seen["scenarios"] += 1
            super().teardown()

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"session": session, "headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{case.operation.label} as {role}: {exc}")

    # The service keeps what earlier scenarios created, so Hypothesis may find a scenario
    # drawing differently from the one it replays (a bundle filled then, empty now) and stop
    # with Flaky: that ends a run, not the test; runs go on until the scenarios are done.
    for _ in range(3):
        try:
            Workflow.run(
                settings=settings(
                    max_examples=SCENARIOS - seen["scenarios"],
                    stateful_step_count=STEPS,
                    deadline=None,
                    derandomize=True,
                    database=None,
                    phases=[Phase.generate],  # failures are collected, not shrunk
                    suppress_health_check=list(HealthCheck),
                )
            )
            break
        except Flaky:
            if seen["scenarios"] >= SCENARIOS:
                break
    calls = sum(n for k, n in seen.items() if k != "scenarios")
    print(f"{role}: {calls} stateful calls {dict(seen)}")
    assert not failures, "\n\n".join(dict.fromkeys(failures))
    assert seen["scenarios"] >= SCENARIOS // 2, dict(seen)
    if role != "knowledge_engineer":  # a curator's links are the KB's, few generated drafts pass
        assert seen["linked 2xx"] > 0, dict(seen)


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
            # Every API operation is behind the policy: no token 401, a role it refuses 403.
            if path.startswith("/api/") and (
                not {"401", "403"} <= set(errors)
                or any(schema != envelope for schema in errors.values())
            ):
                undocumented.append(f"{method.upper()} {path}: {sorted(errors)}")
    assert not vague, vague
    assert not undocumented, undocumented


def test_the_document_links_answers_to_the_operations_on_their_ids() -> None:
    from hotline.app import create_app

    spec = create_app(warm_up=False).openapi()
    paths = spec["paths"]
    ids = {op["operationId"] for ops in paths.values() for op in ops.values()}
    links = [
        link
        for ops in paths.values()
        for op in ops.values()
        for answer in op["responses"].values()
        for link in answer.get("links", {}).values()
    ]
    assert len(links) >= 80 and all(link["operationId"] in ids for link in links)
    created = paths["/api/v1/intake/text"]["post"]["responses"]["201"]["links"]
    by_target = {link["operationId"]: link["parameters"] for link in created.values()}
    ticket = paths["/api/v1/tickets/{ticket_id}"]
    for method in ("get", "patch"):
        assert by_target[ticket[method]["operationId"]] == {"path.ticket_id": "$response.body#/id"}
    # A target's other path parameters come from the source's own request.
    uploaded = paths["/api/v1/tickets/{ticket_id}/attachments"]["post"]["responses"]["201"]
    (one,) = uploaded["links"].values()
    assert one["parameters"] == {
        "path.attachment_id": "$response.body#/id",
        "path.ticket_id": "$request.path.ticket_id",
    }
