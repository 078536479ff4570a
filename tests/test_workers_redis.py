"""Several machines: the service queues work in Redis and a separate `hotline worker` process
does it (here on the same host; in production on others)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.audio_tools import FIXTURES
from eval.console_server import free_port
from tests.conftest import PG_URL, start_service
from tests.test_jobs import _post, _wait_done

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed"),
]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def test_a_worker_process_does_the_service_s_queued_work(tmp_path: Path, redis_url: str) -> None:
    from core.settings import get_settings

    os.environ["HOTLINE_TASK_QUEUE_URL"] = redis_url
    os.environ["HOTLINE_EMBEDDED_WORKERS"] = "0"  # the web service does no background work
    get_settings.cache_clear()
    worker = None
    try:
        svc = start_service("postgresql" if PG_URL else "sqlite", tmp_path)
        worker = subprocess.Popen(
            # This checkout's CLI, whatever the installed `hotline` script points at.
            [sys.executable, "-m", "hotline.cli", "worker", "--threads", "1"],
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        headers = svc.headers("agent")
        resp = _post(svc.client, headers, (FIXTURES / "c01.wav").read_bytes())
        assert resp.status_code == 202, resp.text
        job = _wait_done(svc.client, headers, resp.json()["job"]["id"], timeout=240)
        assert job["status"] == "done", job
        assert job["ticket"]["diagnosis"]["kb_id"] == "LOCK-FP-231"
        svc.client.__exit__(None, None, None)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        del os.environ["HOTLINE_TASK_QUEUE_URL"], os.environ["HOTLINE_EMBEDDED_WORKERS"]
        get_settings.cache_clear()
