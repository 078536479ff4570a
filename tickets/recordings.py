"""Call recordings kept next to their tickets, so reviewers can listen to what was said
(in the deployment's storage: the data directory, or the object store every machine reads)."""

from pathlib import Path

from core import storage


def recording_key(ticket_id: int) -> str:
    """The storage key of the original upload of a ticket's call."""
    return f"recordings/{ticket_id}.audio"


def save_recording(ticket_id: int, data: bytes) -> None:
    """Keep the uploaded call as received."""
    storage.put(recording_key(ticket_id), data)


def load_recording(ticket_id: int) -> bytes | None:
    """The ticket's recording, or None if it came in another way."""
    return storage.get(recording_key(ticket_id))


def has_recording(ticket_id: int) -> bool:
    """Whether the ticket has a recording."""
    return storage.exists(recording_key(ticket_id))


def recording_file(ticket_id: int) -> Path | None:
    """A file on this machine with the recording (None: the ticket has none)."""
    return storage.local_file(recording_key(ticket_id))
