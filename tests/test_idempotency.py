"""Idempotency-Key on intake POSTs: a retry gets the first answer and creates nothing; a queue
that cannot be written after the commit does not turn a committed ticket into an error."""

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from tests.conftest import Service, start_service

AUDIO = Path(__file__).parent / "fixtures" / "audio" / "c01.wav"
TEXT = "门锁指纹按了没反应，电话13800138000"


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    from core.settings import get_settings

    os.environ["HOTLINE_EMBEDDED_WORKERS"] = "0"  # queued work stays queued: counted below
    get_settings.cache_clear()
    service = start_service("sqlite", tmp_path_factory.mktemp("idem"))
    yield service
    service.client.__exit__(None, None, None)
    del os.environ["HOTLINE_EMBEDDED_WORKERS"]
    get_settings.cache_clear()


def _count(model: type) -> int:
    with session_scope() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _tickets() -> int:
    from tickets.models import Ticket

    return _count(Ticket)


def _post_text(svc: Service, key: str | None, text: str = TEXT, role: str = "agent"):
    headers = svc.headers(role) | ({"Idempotency-Key": key} if key else {})
    return svc.client.post("/api/v1/intake/text", json={"text": text}, headers=headers)


def test_a_retry_with_the_key_replays_the_first_answer(svc: Service) -> None:
    before = _tickets()
    first = _post_text(svc, "k-text-1")
    assert first.status_code == 201, first.text
    again = _post_text(svc, "k-text-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert _tickets() == before + 1
    # Without a key every request creates its ticket, as before.
    assert _post_text(svc, None).json()["id"] != _post_text(svc, None).json()["id"]


def test_the_key_reused_for_another_request_is_refused(svc: Service) -> None:
    assert _post_text(svc, "k-text-2").status_code == 201
    before = _tickets()
    other = _post_text(svc, "k-text-2", text="空调不制冷，外机不转")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert _tickets() == before
    too_long = _post_text(svc, "x" * 201)
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "invalid_idempotency_key"


def test_an_expired_key_is_a_new_request_and_its_lookup_writes_nothing(svc: Service) -> None:
    from datetime import timedelta

    from core.idempotency import IdempotencyRecord, Request, replay

    assert _post_text(svc, "k-old").status_code == 201
    with session_scope() as db:
        row = db.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "k-old"))
        assert row is not None
        row.created_at -= timedelta(hours=25)
        caller, endpoint = row.caller, row.endpoint
    with session_scope() as db:
        assert replay(db=db, request=Request(caller, "k-old", endpoint, "another")) is None
        assert db.scalar(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(IdempotencyRecord.key == "k-old")
        )  # the lookup left the expired row alone
    before = _tickets()
    other = _post_text(svc, "k-old", text="空调不制冷，外机不转")
    assert other.status_code == 201, other.text  # a new request, not a reuse
    assert _tickets() == before + 1
    again = _post_text(svc, "k-old", text="空调不制冷，外机不转")
    assert again.headers["idempotent-replayed"] == "true" and again.json() == other.json()


def test_keys_belong_to_their_caller(svc: Service) -> None:
    mine = _post_text(svc, "k-shared", role="agent")
    theirs = _post_text(svc, "k-shared", role="supervisor")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_concurrent_requests_with_one_key_create_one_ticket(svc: Service) -> None:
    before = _tickets()
    answers: list = []

    def post() -> None:
        answers.append(_post_text(svc, "k-race"))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert _tickets() == before + 1


def test_audio_job_with_a_key_is_queued_once(svc: Service) -> None:
    from intake.jobs import TranscriptionJob

    def post():
        return svc.client.post(
            "/api/v1/intake/audio",
            files={"file": ("c01.wav", AUDIO.read_bytes(), "audio/wav")},
            data={"channel": "phone", "background": "true"},
            headers=svc.headers("agent") | {"Idempotency-Key": "k-audio"},
        )

    before = _count(TranscriptionJob)
    first = post()
    assert first.status_code == 202, first.text
    again = post()
    assert again.status_code == 202 and again.json() == first.json()
    assert _count(TranscriptionJob) == before + 1


def test_a_queue_write_failing_after_commit_keeps_the_job_and_answers(
    svc: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue (Redis) fails after the job committed: the client must get its job, not a
    500 that makes it retry and create a duplicate (the job sweep queues it later)."""
    from core import tasks
    from intake.jobs import TranscriptionJob

    calls: list[object] = []

    def broken(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(tasks.queue.storage, "enqueue", broken)
    before = _count(TranscriptionJob)
    r = svc.client.post(
        "/api/v1/intake/audio",
        files={"file": ("c01.wav", AUDIO.read_bytes(), "audio/wav")},
        data={"channel": "phone", "background": "true"},
        headers=svc.headers("agent"),
    )
    assert r.status_code == 202, r.text
    assert calls, "nothing was queued: this test no longer covers the failure"
    assert _count(TranscriptionJob) == before + 1
    job = svc.client.get(r.json()["status_url"], headers=svc.headers("agent"))
    assert job.status_code == 200 and job.json()["status"] == "queued"


def test_a_sheet_import_with_a_key_is_accepted_once(svc: Service) -> None:
    from intake.models import ImportBatch

    sheet = "报修时间,客户电话,故障描述\n2026-11-01 09:00,13800138000,门锁指纹没反应\n".encode()

    def post():
        return svc.client.post(
            "/api/v1/imports/excel",
            files={"file": ("old.csv", sheet, "text/csv")},
            headers=svc.headers("agent") | {"Idempotency-Key": "k-sheet"},
        )

    before = _count(ImportBatch)
    first = post()
    assert first.status_code == 202, first.text
    again = post()
    assert again.status_code == 202 and again.json() == first.json()
    assert _count(ImportBatch) == before + 1
