"""Uploaded sheets and chat exports are imported by a worker on the durable queue, so a
100,000-row sheet does not hold an HTTP request open; the batch shows its progress."""

from pathlib import Path

from sqlalchemy.orm import Session

from core import clock, notify, storage
from core.db import session_scope
from core.errors import ApiError
from intake import excel_import, wechat_import
from intake.importer import stalled
from intake.models import ImportBatch


def run_batch(batch_id: int) -> str:
    """Import the stored upload of a queued batch; the file is removed afterwards."""
    with session_scope() as db:
        batch = db.get(ImportBatch, batch_id)
        # A running batch is resumed once its worker is gone (the outbox runs the job again
        # when the job's lease ran out); while it still saves progress, a worker has it.
        if batch is None or batch.status not in ("queued", "running"):
            return "skipped"
        if batch.status == "running" and not stalled(batch):
            return "skipped"
        job = dict(batch.report.get("job", {}))
        key = job.get("key")
        # A batch queued before uploads went to the storage names a local file.
        path = storage.local_file(key) if key else Path(job["file"])
        if path is None:
            raise FileNotFoundError(f"the upload {key} is not in the storage")
        try:
            if batch.kind == excel_import.CHANNEL:
                mapping = excel_import.parse_mapping(job["mapping"]) if job.get("mapping") else {}
                sheet = excel_import.open_sheet(
                    path, {**excel_import.load_mapping(None), **mapping}
                )
                excel_import.import_sheet(
                    db, sheet, actor=batch.actor, filename=batch.filename, batch=batch
                )
            else:
                wechat_import.import_export(
                    db,
                    path,
                    actor=batch.actor,
                    filename=batch.filename,
                    window_minutes=job.get("window_minutes", 60),
                    staff=set(job.get("staff", [])),
                    batch=batch,
                )
        except ApiError as exc:
            db.rollback()
            batch = db.get(ImportBatch, batch_id)
            assert batch is not None
            batch.status = "failed"
            batch.error = exc.message
            batch.finished_at = clock.now()
        finally:
            if key:
                storage.delete(key)
            path.unlink(missing_ok=True)
        return batch.status


def queue_import(db: Session, batch: ImportBatch) -> None:
    """Have a worker import the batch once this transaction commits (an outbox job: a queue
    that loses the message does not lose the import)."""
    notify.defer(db=db, handler="import", args=[batch.id], ref_type="import", ref_id=batch.id)


# A 100,000-row sheet takes minutes: no other worker takes the job over meanwhile. A later
# run finds the batch done, or resumes it if its worker died mid-way (run_batch).
@notify.handler("import", lease_s=3600)
def import_task(batch_id: int) -> str:
    """Worker side of an upload: import the file of the queued batch. An unexpected error
    marks the batch failed (rows committed before it stay, and a re-import skips them)."""
    try:
        return run_batch(batch_id)
    except Exception as exc:
        with session_scope() as db:
            batch = db.get(ImportBatch, batch_id)
            if batch is not None:
                batch.status = "failed"
                batch.error = f"{type(exc).__name__}: {exc}"[:1000]
                batch.finished_at = clock.now()
        raise
