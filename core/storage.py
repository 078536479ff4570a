"""Where uploaded files live (call uploads waiting for a worker, recordings, attachments).

One machine: files under the data directory (the default). Several machines: an
S3-compatible object store that every web and worker process reads
(HOTLINE_STORAGE_URL=s3://bucket/optional/prefix, with HOTLINE_STORAGE_ENDPOINT_URL and
credentials for MinIO, Ceph, OSS …), so a worker on another machine transcribes what the web
machine received. Files are named by keys such as `uploads/<job>.wav`; an object is written
once under its key and never changed, so a local copy of it (for HTTP Range answers) stays
valid.
"""

import functools
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.settings import get_settings


class StorageError(Exception):
    """The store could not be reached or refused the request."""


def _local(key: str) -> Path:
    if key.startswith("/") or ".." in Path(key).parts:
        raise ValueError(f"bad storage key {key!r}")
    return get_settings().data_dir / key


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@functools.cache
def _s3(url: str) -> tuple[Any, str, str]:
    """(client, bucket, key prefix) for an s3:// URL (one client per process: it is
    thread-safe and keeps its connection pool)."""
    import boto3
    from botocore.config import Config

    settings = get_settings()
    parsed = urlparse(url)
    client = boto3.client(
        "s3",
        endpoint_url=settings.storage_endpoint_url,
        aws_access_key_id=settings.storage_access_key,
        aws_secret_access_key=settings.storage_secret_key,
        region_name=settings.storage_region,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )
    prefix = parsed.path.strip("/")
    return client, parsed.netloc, f"{prefix}/" if prefix else ""


def forget_clients() -> None:
    """Drop the cached object-store clients (the settings changed: tests, reconfiguration)."""
    _s3.cache_clear()


def _remote() -> tuple[Any, str, str] | None:
    url = get_settings().storage_url
    if not url:
        return None
    if not url.startswith("s3://"):
        raise ValueError(f"HOTLINE_STORAGE_URL={url!r}: leave it empty or give s3://bucket")
    return _s3(url)


def put(key: str, data: bytes) -> None:
    """Store data under key (replacing nothing in practice: keys are unique per file)."""
    remote = _remote()
    if remote is None:
        _write_atomically(_local(key), data)
        return
    client, bucket, prefix = remote
    try:
        client.put_object(Bucket=bucket, Key=prefix + key, Body=data)
    except Exception as exc:  # botocore's errors share no useful base with connection errors
        raise StorageError(f"could not store {key}: {exc}") from exc


def get(key: str) -> bytes | None:
    """The bytes stored under key, or None if there are none."""
    remote = _remote()
    if remote is None:
        path = _local(key)
        return path.read_bytes() if path.exists() else None
    client, bucket, prefix = remote
    try:
        return client.get_object(Bucket=bucket, Key=prefix + key)["Body"].read()
    except client.exceptions.NoSuchKey:
        return None
    except Exception as exc:
        raise StorageError(f"could not read {key}: {exc}") from exc


def exists(key: str) -> bool:
    """Whether something is stored under key."""
    remote = _remote()
    if remote is None:
        return _local(key).exists()
    client, bucket, prefix = remote
    try:
        client.head_object(Bucket=bucket, Key=prefix + key)
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise StorageError(f"could not look up {key}: {exc}") from exc
    return True


def delete(key: str) -> None:
    """Remove what is stored under key (nothing there: nothing happens)."""
    remote = _remote()
    if remote is None:
        _local(key).unlink(missing_ok=True)
        return
    client, bucket, prefix = remote
    try:
        client.delete_object(Bucket=bucket, Key=prefix + key)
    except Exception as exc:
        raise StorageError(f"could not delete {key}: {exc}") from exc


def local_file(key: str) -> Path | None:
    """A file on this machine with the object's bytes (served with HTTP Range), or None:
    the file itself on local storage, a copy under data_dir/cache from an object store."""
    if _remote() is None:
        path = _local(key)
        return path if path.exists() else None
    copy = _local(f"cache/{key}")
    if not copy.exists():
        data = get(key)
        if data is None:
            return None
        _write_atomically(copy, data)
    return copy


def drop_local_copy(key: str) -> None:
    """Remove this machine's copy of an object (kept under data_dir/cache); with local
    storage the file is the object itself and stays."""
    if _remote() is not None:
        _local(f"cache/{key}").unlink(missing_ok=True)
