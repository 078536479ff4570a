"""Long recordings on the durable queue: 202 at once, progress, a ticket, no job lost."""

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from core import clock
from eval.audio_tools import FIXTURES, encode
from tests.conftest import Service

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _post(client: TestClient, headers: dict, data: bytes, background: str = "true"):
    return client.post(
        "/api/v1/intake/audio",
        files={"file": ("call.wav", data, "audio/wav")},
        data={"background": background},
        headers=headers,
    )


def _wait_done(client: TestClient, headers: dict, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    seen = set()
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/intake/jobs/{job_id}", headers=headers).json()
        seen.add(job["status"])
        if job["status"] in ("done", "failed"):
            job["seen"] = seen
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not finished; states seen {seen}")


def test_queued_recording_becomes_ticket(shared_service: Service) -> None:
    headers = shared_service.headers("agent")
    resp = _post(shared_service.client, headers, (FIXTURES / "c01.wav").read_bytes())
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["job"]["status"] == "queued"
    assert body["status_url"] == f"/api/v1/intake/jobs/{body['job']['id']}"
    job = _wait_done(shared_service.client, headers, body["job"]["id"])
    assert job["status"] == "done", job
    assert job["progress"] == 1.0
    assert job["ticket"]["diagnosis"]["kb_id"] == "LOCK-FP-231"
    assert job["ticket"]["transcript"]


def test_bad_audio_is_rejected_before_queueing(shared_service: Service) -> None:
    headers = shared_service.headers("agent")
    resp = _post(shared_service.client, headers, b"not audio at all" * 50)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "unsupported_audio"
    missing = shared_service.client.get("/api/v1/intake/jobs/nope", headers=headers)
    assert missing.status_code == 404


def test_silent_recording_job_fails_with_reason(shared_service: Service) -> None:
    import numpy as np

    headers = shared_service.headers("agent")
    silence = encode(np.zeros(16000 * 3, dtype=np.float32))
    resp = _post(shared_service.client, headers, silence)
    assert resp.status_code == 202
    job = _wait_done(shared_service.client, headers, resp.json()["job"]["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "no_speech"
    assert job["ticket_id"] is None


def test_job_of_a_dead_worker_is_recovered(shared_service: Service) -> None:
    from core.db import session_scope
    from intake.jobs import TranscriptionJob, recover

    now = clock.now()
    upload = shared_service.data_dir / "uploads" / "deadbeef.wav"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes((FIXTURES / "c01.wav").read_bytes())
    with session_scope() as db:
        # A worker claimed this job and died: its lease ran out, its queue message is gone.
        db.add(
            TranscriptionJob(
                id="deadbeef",
                created_at=now,
                updated_at=now,
                status="running",
                actor="agent:test",
                channel="phone",
                filename="c01.wav",
                path="uploads/deadbeef.wav",
                duration_s=6.5,
                progress=0.4,
                attempts=1,
                lease_until=now - timedelta(seconds=1),
            )
        )
    assert recover() == ["deadbeef"]
    done = _wait_done(shared_service.client, shared_service.headers("agent"), "deadbeef")
    assert done["status"] == "done"
    assert done["attempts"] == 2
    assert recover() == []  # nothing left behind
