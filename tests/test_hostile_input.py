"""Hostile input gets a 4xx that says what was wrong, never a 500; every page carries the
security headers."""

import copy
import json
import re
from typing import Any

import pytest
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from core import control_chars
from core.access import Rule
from core.auth import Role
from hotline import cli, policy
from tests.conftest import Service
from tests.test_access_policy import seed_objects
from tests.test_console import login, make_users

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


# Control characters: one of each kind a text field can carry (C0 NUL and ESC, DEL, C1 NEL).
CONTROLS = ("\x00", "\x1b", "\x7f", "\x85")
WRITES = ("post", "put", "patch")


def _example(schema: dict[str, Any], doc: dict[str, Any], depth: int = 0) -> Any:
    """A value of the schema with every property filled (strings "x"), objects that take any
    key given one ("note"), arrays one item: every string of the request has a place."""
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _example(options[0], doc, depth) if options else None
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return {}
        out = {k: _example(v, doc, depth + 1) for k, v in schema.get("properties", {}).items()}
        if schema.get("additionalProperties", not out) not in (False, None):
            out["note"] = "x"
        return out
    if kind == "array":
        return [_example(schema.get("items", {}), doc, depth + 1)]
    fmt = schema.get("format")
    return {
        "integer": 1,
        "number": 1.0,
        "boolean": False,
        "string": {"date-time": "2026-03-10T08:00:00Z", "date": "2026-03-10"}.get(fmt or "", "x"),
    }.get(kind or "string", "x")


def _form_fields(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, bool]:
    """A form's text fields (False) and file fields (True)."""
    name = schema["$ref"].rsplit("/", 1)[-1]
    props = doc["components"]["schemas"][name]["properties"]
    files = {k: True for k, v in props.items() if "contentMediaType" in v}
    return {**{k: False for k, v in props.items() if _example(v, doc) == "x"}, **files}


def _string_paths(value: Any, path: str = "") -> list[tuple[str, bool]]:
    """(path, is_key) of every string in a JSON value, as core.control_chars names them,
    and of every object key (a hostile key is tried too)."""
    if isinstance(value, str):
        return [(path, False)]
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            inner = f"{path}.{k}" if path else k
            if k == "note":  # a key the caller chose (see _example): tried as hostile too
                out.append((inner, True))
            out += _string_paths(v, inner)
        return out
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _string_paths(v, f"{path}[{i}]")]
    return []


def _with(value: Any, path: str, bad: str, is_key: bool) -> Any:
    """A copy of value with the string at path (or the key ending it) made hostile."""
    value = copy.deepcopy(value)
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    holder = value
    for part in parts[:-1]:
        holder = holder[int(part[1:-1])] if part.startswith("[") else holder[part]
    last = parts[-1]
    if last.startswith("["):
        holder[int(last[1:-1])] = f"门锁{bad}坏了"
    elif is_key:
        holder[f"{last}{bad}"] = holder.pop(last)
    else:
        holder[last] = f"门锁{bad}坏了"
    return value


def _caller(svc: Service, rule: Rule) -> dict[str, str]:
    """Headers of a role the policy admits (the technician acts on its own objects)."""
    if rule.public:
        return {}
    for role in (Role.admin, Role.supervisor, Role.agent, Role.knowledge_engineer):
        if role in rule.roles and role not in rule.own:
            return svc.headers(role.value)
    return svc.headers("technician")


def _snapshot() -> tuple[dict[str, int], list[str]]:
    """Rows per table, and every stored value holding a control character (the tables of the
    models: SQLite's full-text index keeps \\x01 in its own tables by design)."""
    from core.db import Base, get_engine

    counts, dirty = {}, []
    with get_engine().connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            counts[table.name] = len(rows)
            for row in rows:
                for column, value in row._mapping.items():
                    if control_chars.find(value):
                        dirty.append(f"{table.name}.{column}: {value!r}"[:200])
    return counts, dirty


@pytest.mark.db
def test_a_control_character_in_any_field_of_any_operation_is_refused(service: Service) -> None:
    """Every operation of the OpenAPI document, as a role it admits, on real objects: each
    string it takes (path, query, JSON field or key, form field, file name) in turn holds a
    control character. Each answer is a 422 naming the field; nothing is written."""
    values = seed_objects(service)
    doc = service.client.app.openapi()  # type: ignore[attr-defined]
    before, dirty = _snapshot()
    assert not dirty, dirty
    failures: list[str] = []
    tried = set()
    sent = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            label = f"{method.upper()} {path}"
            headers = _caller(service, policy.POLICY[label])
            params = {p["name"]: p for p in op.get("parameters", [])}
            url_values = {k: str(values.get(k, 1)) for k in re.findall(r"{(\w+)}", path)}
            content = op.get("requestBody", {}).get("content", {})
            kind = next(iter(content), None)
            body = _example(content[kind]["schema"], doc) if kind else None
            cases: list[tuple[str, dict[str, Any]]] = []
            for name, p in params.items():
                if p["in"] == "query" and _example(p["schema"], doc) == "x":
                    cases.append((name, {"params": {name: "门锁\x00"}}))
                if p["in"] == "path" and p["schema"].get("type") == "string":
                    cases.append((name, {"url": {name: "门锁%00"}}))
            if method in WRITES and kind == "application/json":
                for i, (where, is_key) in enumerate(_string_paths(body)):
                    bad = CONTROLS[i % len(CONTROLS)]
                    shown = f"{where}{bad}" if is_key else where
                    cases.append((shown, {"json": _with(body, where, bad, is_key)}))
            elif method in WRITES and kind:  # a form: its fields and its file's name
                fields = _form_fields(content[kind]["schema"], doc)
                uploads = [name for name, binary in fields.items() if binary]
                data = {name: "x" for name, binary in fields.items() if not binary}
                files = {name: ("sheet.csv", b"a,b\n", "text/csv") for name in uploads}
                for name in data:
                    cases.append((name, {"data": {**data, name: "门锁\x1b"}, "files": files}))
                for name in uploads:  # httpx writes other C0 controls in a file name as %XX
                    bad_file = {**files, name: ("门锁\x1b.csv", b"a,b\n", "text/csv")}
                    cases.append((name, {"data": data, "files": bad_file}))
            for field, extra in cases:
                url = path.format(**{**url_values, **extra.get("url", {})})
                kwargs = {k: v for k, v in extra.items() if k != "url"}
                resp = service.client.request(method.upper(), url, headers=headers, **kwargs)
                sent += 1
                tried.add(label)
                json_answer = resp.headers.get("content-type") == "application/json"
                error = resp.json().get("error", {}) if json_answer else {}
                if resp.status_code != 422 or error.get("code") != "control_character":
                    failures.append(f"{label} {field}: {resp.status_code} {resp.text[:160]}")
                elif (named := [d["field"] for d in error["details"]]) != [field]:
                    failures.append(f"{label} {field}: names {named}")
    assert not failures, "\n".join(failures)
    # Every JSON write, multipart upload and filter of the document was tried.
    assert sent > 200 and len(tried) > 75, (sent, len(tried))
    after, dirty = _snapshot()
    assert after == before
    assert not dirty, dirty


@pytest.mark.db
def test_console_forms_and_links_refuse_a_control_character(service: Service) -> None:
    c = service.client
    r = c.post("/api/v1/intake/text", json={"text": "门锁坏了"}, headers=service.headers("agent"))
    ticket_id = r.json()["id"]
    make_users(("nul-admin", Role.admin))
    csrf = login(c, "nul-admin")
    before, _ = _snapshot()
    department = {"name": "软件\x00部", "contact": "王工", "contact_url": "https://example.com/h"}
    for path, form in (
        ("/console/webhooks/departments", department),
        (f"/console/tickets/{ticket_id}/note", {"note": "备注\x1b"}),
        ("/console/kb/new", {"id": "NUL-1", "title": "门锁\x00", "product_type": "智能门锁"}),
    ):
        r = c.post(path, data={**form, "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 422 and "控制字符" in r.text, (path, r.status_code)
        assert "<html" in r.text.lower()  # the console's page, not the API's JSON
    # The page names the field by its label, as the agent sees it, never by its form name.
    r = c.post(
        f"/console/review/{ticket_id}",
        data={"f_model": "X3\x00", "note": "更正", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "“型号”中含有不可见的控制字符（U+0000" in r.text
    assert "f_model" not in r.text
    r = c.get("/console/tickets", params={"q": "门锁\x1b"})
    assert r.status_code == 422 and "“搜索关键词”中" in r.text
    r = c.get("/console/audit/phone-reads", params={"actor": "a\x00"})
    assert r.status_code == 422 and "“查看人”中" in r.text and "actor" not in r.text
    assert _snapshot() == (before, [])


def test_a_live_call_with_a_control_character_in_its_link_is_closed(
    shared_service: Service,
) -> None:
    token = shared_service.tokens["agent"]
    url = f"/api/v1/intake/stream?token={token}&channel=%E9%97%A8%00"
    with pytest.raises(WebSocketDisconnect) as closed, shared_service.client.websocket_connect(url):
        pass
    assert closed.value.code == 4400


@pytest.mark.db
def test_imported_files_name_or_strip_a_control_character(service: Service) -> None:
    """KB and registry rows with one are refused, the row and field named; a repair sheet's
    row keeps its ticket, the character dropped, with a warning."""
    admin = service.headers("admin")
    entry = {
        "product_type": "智能门锁",
        "symptoms": ["没反应"],
        "root_cause": "r",
        "resolution": "s",
    }
    rows = [{**entry, "id": "NUL-1", "title": "门锁\x00"}, {**entry, "id": "OK-1", "title": "门锁"}]
    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    r = service.client.post(
        "/api/v1/kb/import?partial=true", files={"file": ("kb.jsonl", jsonl)}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == ["OK-1"]
    [error] = r.json()["errors"]
    assert (error["row"], error["field"]) == (1, "title") and "U+0000" in error["problem"]
    csv_rows = "id,name,lat,lon\nW-OK,南山仓,22.5,113.9\nW-2,福田\x1b仓,22.5,114.0\n"
    r = service.client.post(
        "/api/v1/dispatch/import/warehouses",
        files={"file": ("w.csv", csv_rows.encode())},
        headers=admin,
    )
    assert r.status_code == 422
    [error] = r.json()["error"]["details"]["errors"]
    assert error["row"] == 3 and error["code"] == "control_character"
    assert "列“name”" in error["problem"]
    assert service.client.get("/api/v1/dispatch/warehouses/W-OK", headers=admin).status_code == 404
    sheet = "报修日期,客户电话,故障描述\n2026-03-01,13800138000,门锁指纹\x0b没反应\n"
    r = service.client.post(
        "/api/v1/imports/excel",
        files={"file": ("a.csv", sheet.encode())},
        data={"wait": "true"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["created"] == 1, batch
    assert batch["problems"][0]["warnings"] == ["control characters removed"]
    assert _snapshot()[1] == []


def test_the_cli_refuses_an_argument_with_a_control_character(service: Service) -> None:
    before, _ = _snapshot()
    args = ["token", "create", "--role", "agent", "--name", "坐席\x1b1"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 2
    assert "U+001B" in result.output
    assert _snapshot()[0] == before


@pytest.mark.db
def test_fork_metadata_with_a_control_character_registers_the_call_without_it(
    service: Service,
) -> None:
    token = service.tokens["agent"]
    url = f"/api/v1/intake/fork?token={token}"
    meta = {"call_id": "fs-nul-1", "caller": "13900005555", "queue\x00": "空调"}
    with service.client.websocket_connect(url, subprotocols=["audio.drachtio.org"]) as ws:
        ws.send_text(json.dumps(meta))
        msg = ws.receive_json()
    assert msg["type"] == "error" and "U+0000" in msg["message"], msg
    r = service.client.get("/api/v1/calls/fs-nul-1", headers=service.headers("agent"))
    assert r.status_code == 200 and r.json()["extra"] == {}, r.text
