"""Call recordings kept next to their tickets, so reviewers can listen to what was said."""

from pathlib import Path

from core.settings import get_settings


def recording_path(ticket_id: int) -> Path:
    """Where the original upload of a ticket's call is kept (under data_dir)."""
    return get_settings().data_dir / "recordings" / f"{ticket_id}.audio"


def save_recording(ticket_id: int, data: bytes) -> Path:
    """Keep the uploaded call as received (written atomically)."""
    path = recording_path(ticket_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def load_recording(ticket_id: int) -> bytes | None:
    """The ticket's recording, or None if it came in another way."""
    path = recording_path(ticket_id)
    return path.read_bytes() if path.exists() else None
