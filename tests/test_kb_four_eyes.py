"""Four eyes on the KB for every door: the API, imports with publish and the CLI."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.auth import Role, create_token
from core.db import session_scope
from core.settings import get_settings
from tests.conftest import Service
from tests.test_kb_api import NEW


def kb(service: Service, method: str, path: str, token: str, **kw):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"}
    return service.client.request(method, "/api/v1/kb" + path, headers=headers, **kw)


def _second_curator(service: Service) -> str:
    with session_scope() as db:
        return create_token(db=db, name="ke-2", role=Role.knowledge_engineer)


def _status(service: Service, entry_id: str) -> str:
    return kb(service, "GET", f"/entries/{entry_id}", service.tokens["admin"]).json()["status"]


def test_a_curator_cannot_publish_their_own_or_a_rejected_draft(service: Service) -> None:
    ke1, ke2 = service.tokens["knowledge_engineer"], _second_curator(service)
    assert kb(service, "POST", "/entries", ke1, json=NEW).status_code == 201
    entry = NEW["id"]
    r = kb(service, "POST", f"/entries/{entry}/publish", ke1)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_submitted"
    assert kb(service, "POST", f"/entries/{entry}/review", ke1).status_code == 201
    r = kb(service, "POST", f"/entries/{entry}/publish", ke1)
    assert r.status_code == 403 and r.json()["error"]["code"] == "four_eyes"
    r = kb(service, "POST", f"/entries/{entry}/reject", ke1, json={"reason": "mine"})
    assert r.status_code == 403  # nor reject their own
    # The second curator rejects it: nobody publishes it as it is, not even an admin.
    r = kb(service, "POST", f"/entries/{entry}/reject", ke2, json={"reason": "严重度不对"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    for token in (ke1, ke2, service.tokens["admin"]):
        r = kb(service, "POST", f"/entries/{entry}/publish", token)
        assert r.status_code == 409 and r.json()["error"]["code"] == "draft_rejected"
    assert _status(service, entry) == "draft"
    # Edited and submitted again, the second curator publishes it.
    r = kb(service, "PATCH", f"/entries/{entry}", ke1, json={"severity": "medium"})
    assert r.status_code == 200
    assert kb(service, "POST", f"/entries/{entry}/review", ke1).status_code == 201
    r = kb(service, "POST", f"/entries/{entry}/publish", ke2)
    assert r.status_code == 200 and r.json()["status"] == "published"


def test_a_rejection_needs_a_reason_the_author_reads(service: Service) -> None:
    ke1, ke2 = service.tokens["knowledge_engineer"], _second_curator(service)
    assert kb(service, "POST", "/entries", ke1, json=NEW).status_code == 201
    entry = NEW["id"]
    assert kb(service, "POST", f"/entries/{entry}/review", ke1).status_code == 201
    for body in (None, {}, {"reason": None}, {"reason": ""}, {"reason": " \n\t "}):
        r = kb(service, "POST", f"/entries/{entry}/reject", ke2, json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required", body
        assert "原因" in r.json()["error"]["message"]
    r = kb(service, "POST", f"/entries/{entry}/reject", ke2, json={"reason": "太长" * 251})
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_too_long"
    # refused rejections change nothing: the request still waits for a decision
    r = kb(service, "POST", f"/entries/{entry}/reject", ke2, json={"reason": "  严重度应为高  "})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["note"].endswith("驳回：严重度应为高")
    # the author, trying to publish it anyway, is told why it came back
    r = kb(service, "POST", f"/entries/{entry}/publish", service.tokens["admin"])
    assert r.status_code == 409 and "严重度应为高" in r.json()["error"]["message"]


def _jsonl(*rows: dict) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def test_an_import_with_publish_waits_for_a_second_person(service: Service) -> None:
    ke1, ke2 = service.tokens["knowledge_engineer"], _second_curator(service)
    rows = _jsonl(NEW, {**NEW, "id": "FAN-NOISE-02", "title": "吊扇摇晃"})
    r = kb(service, "POST", "/import?publish=true", ke1, files={"file": ("kb.jsonl", rows)})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["published"] == []
    assert sorted(report["submitted"]) == ["FAN-NOISE-01", "FAN-NOISE-02"]
    assert _status(service, "FAN-NOISE-01") == "draft"
    r = kb(service, "POST", "/entries/FAN-NOISE-01/publish", ke1)
    assert r.status_code == 403 and r.json()["error"]["code"] == "four_eyes"
    assert kb(service, "POST", "/entries/FAN-NOISE-01/publish", ke2).status_code == 200
    # An admin imports and publishes alone while the setting allows it.
    rows = _jsonl({**NEW, "id": "FAN-NOISE-03", "title": "吊扇不转"})
    r = kb(
        service,
        "POST",
        "/import?publish=true",
        service.tokens["admin"],
        files={"file": ("kb.jsonl", rows)},
    )
    assert r.json()["published"] == ["FAN-NOISE-03"] and r.json()["submitted"] == []


def test_single_person_publish_off_holds_admins_and_the_cli_too(
    service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hotline.cli import app

    monkeypatch.setenv("HOTLINE_KB_SINGLE_PERSON_PUBLISH", "false")
    get_settings.cache_clear()
    try:
        admin = service.tokens["admin"]
        assert kb(service, "POST", "/entries", admin, json=NEW).status_code == 201
        r = kb(service, "POST", f"/entries/{NEW['id']}/publish", admin)
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_submitted"
        path = tmp_path / "kb.jsonl"
        path.write_bytes(_jsonl({**NEW, "id": "FAN-NOISE-04", "title": "吊扇遥控失灵"}))
        out = CliRunner().invoke(app, ["kb", "import", str(path), "--publish"])
        assert out.exit_code == 0, out.output
        assert "0 published" in out.output and "1 submitted for review" in out.output
        assert _status(service, "FAN-NOISE-04") == "draft"
        out = CliRunner().invoke(app, ["kb", "publish", "FAN-NOISE-04"])
        assert out.exit_code != 0 and "自己提交" in out.output
    finally:
        monkeypatch.delenv("HOTLINE_KB_SINGLE_PERSON_PUBLISH")
        get_settings.cache_clear()
