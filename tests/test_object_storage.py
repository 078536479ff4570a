"""Uploads, recordings and attachments in an S3-compatible object store (several machines).

moto's ThreadedMotoServer is a real S3 HTTP server on a local port (MinIO cannot be installed
here); the service talks to it through boto3 exactly as it would to MinIO or Ceph.
"""

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from eval.audio_tools import FIXTURES
from eval.console_server import free_port
from tests.conftest import start_service
from tests.test_imports import _wait as _wait_import
from tests.test_jobs import _post, _wait_done

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

BUCKET = "hotline-test"
STORAGE_ENV = ("URL", "ENDPOINT_URL", "ACCESS_KEY", "SECRET_KEY")


@pytest.fixture
def s3() -> Iterator[object]:
    """A local S3 server with an empty bucket; the service's settings point at it."""
    from core import storage
    from core.settings import get_settings

    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    values = (f"s3://{BUCKET}/calls", endpoint, "test", "test")
    os.environ.update({f"HOTLINE_STORAGE_{k}": v for k, v in zip(STORAGE_ENV, values, strict=True)})
    get_settings.cache_clear()
    storage.forget_clients()
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    try:
        yield client
    finally:
        for k in STORAGE_ENV:
            os.environ.pop(f"HOTLINE_STORAGE_{k}", None)
        get_settings.cache_clear()
        storage.forget_clients()
        server.stop()


def _keys(client: object) -> set[str]:
    listed = client.list_objects_v2(Bucket=BUCKET)  # type: ignore[attr-defined]
    return {o["Key"] for o in listed.get("Contents", [])}


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_audio_upload_recording_and_attachment_live_in_the_object_store(
    tmp_path: Path, s3: object
) -> None:
    svc = start_service("sqlite", tmp_path)
    try:
        headers = svc.headers("agent")
        resp = _post(svc.client, headers, (FIXTURES / "c01.wav").read_bytes())
        assert resp.status_code == 202, resp.text
        job = _wait_done(svc.client, headers, resp.json()["job"]["id"], timeout=240)
        assert job["status"] == "done", job
        ticket_id = job["ticket"]["id"]
        assert job["ticket"]["diagnosis"]["kb_id"] == "LOCK-FP-231"
        keys = _keys(s3)
        # The upload the worker read and the ticket's recording are objects, not local files.
        assert any(k.startswith("calls/uploads/") for k in keys), keys
        assert f"calls/recordings/{ticket_id}.audio" in keys
        assert _files(svc.data_dir / "uploads") == []
        assert _files(svc.data_dir / "recordings") == []

        png = io.BytesIO()
        Image.new("RGB", (640, 480), (20, 120, 200)).save(png, "PNG")
        r = svc.client.post(
            f"/api/v1/tickets/{ticket_id}/attachments",
            files={"file": ("photo.png", png.getvalue(), "image/png")},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        att = r.json()
        att_id = att["id"]
        assert f"calls/attachments/{ticket_id}/{att_id}.bin" in _keys(s3)
        assert f"calls/attachments/{ticket_id}/{att_id}.thumb.jpg" in _keys(s3)
        got = svc.client.get(f"/api/v1/tickets/{ticket_id}/attachments/{att_id}", headers=headers)
        assert got.status_code == 200 and got.content == png.getvalue()
        # Another machine's web process (no local copy) serves the recording from the store.
        for p in _files(svc.data_dir / "cache"):
            p.unlink()
        from tickets.recordings import load_recording

        assert load_recording(ticket_id) == (FIXTURES / "c01.wav").read_bytes()

        # A sheet queued for import waits in the store, and is removed once imported.
        sheet = "客户电话,地址,故障描述\n13900001111,深圳市南山区科技园3栋,空调不制冷了\n"
        r = svc.client.post(
            "/api/v1/imports/excel",
            files={"file": ("old.csv", sheet.encode())},
            headers=headers,
        )
        assert r.status_code == 202, r.text
        batch = _wait_import(svc.client, headers, r.json()["id"])
        assert batch["status"] == "done" and batch["created"] == 1, batch
        assert not any(k.startswith("calls/imports/") for k in _keys(s3))
        assert _files(svc.data_dir / "imports") == []
    finally:
        svc.client.__exit__(None, None, None)
