"""A service restart in the middle loses no queued recording (own module: no other service
may share the process's queue while this one is down)."""

import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eval.audio_tools import encode, load
from tests.conftest import start_service
from tests.test_jobs import _post, _wait_done

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_restart_loses_no_job(tmp_path: Path) -> None:
    from core.settings import get_settings
    from hotline.app import create_app

    os.environ["HOTLINE_EMBEDDED_WORKERS"] = "0"  # the service goes down before any worker ran
    get_settings.cache_clear()
    try:
        svc = start_service("sqlite", tmp_path)
        headers = svc.headers("agent")
        resp = _post(svc.client, headers, encode(load("c02.wav")))
        assert resp.status_code == 202
        job_id = resp.json()["job"]["id"]
        time.sleep(1.5)
        assert (
            svc.client.get(f"/api/v1/intake/jobs/{job_id}", headers=headers).json()["status"]
            == "queued"
        )
        svc.client.__exit__(None, None, None)
    finally:
        del os.environ["HOTLINE_EMBEDDED_WORKERS"]
        get_settings.cache_clear()
    with TestClient(create_app(warm_up=False)) as client:  # the restart, now with workers
        job = _wait_done(client, headers, job_id)
    assert job["status"] == "done"
    assert job["ticket"]["fields"]["product_type"] == "充电桩"
