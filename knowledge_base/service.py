"""KB curation: create, edit (as draft), publish, retire, import and export — all versioned."""

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock, events
from core.db import LIKE_ESCAPE, contains_pattern
from core.errors import ApiError, not_found
from knowledge_base import interchange
from knowledge_base.events import KbChanged
from knowledge_base.models import KBEntry, KBRevision
from knowledge_base.schemas import EntryData, ImportReport


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Field → [old, new] for every field that differs."""
    old = old or {}
    return {
        k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    }


def get_entry(*, db: Session, entry_id: str, for_update: bool = False) -> KBEntry:
    """The entry or a 404."""
    stmt = select(KBEntry).where(KBEntry.id == entry_id)
    if for_update:
        stmt = stmt.with_for_update()
    entry = db.scalar(stmt)
    if entry is None:
        raise not_found("KB entry", entry_id)
    return entry


def list_entries(
    *,
    db: Session,
    status: str | None = None,
    product_type: str | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[KBEntry], int]:
    """Entries matching the filters (q searches id and title), with the total count."""
    stmt = select(KBEntry)
    if status:
        stmt = stmt.where(KBEntry.status == status)
    if product_type:
        stmt = stmt.where(KBEntry.product_type == product_type)
    if q:
        like = contains_pattern(q)
        stmt = stmt.where(
            KBEntry.id.ilike(like, escape=LIKE_ESCAPE)
            | KBEntry.title.ilike(like, escape=LIKE_ESCAPE)
        )
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(KBEntry.id).limit(limit).offset(offset)).all()
    return list(rows), total


def _record(
    db: Session, entry: KBEntry, *, actor: str, action: str, changes: dict, reason: str | None
) -> KBRevision:
    entry.updated_at = clock.now()
    rev = KBRevision(
        entry_id=entry.id,
        at=entry.updated_at,
        actor=actor,
        action=action,
        version=entry.version,
        changes=changes,
        snapshot=entry.draft or entry.published or {},
        reason=reason,
    )
    db.add(rev)
    db.flush()
    return rev


def _check_revision(entry: KBEntry, expected: int | None) -> None:
    if expected is not None and expected != entry.revision:
        raise ApiError(
            409,
            "conflict",
            f"KB entry {entry.id} changed since revision {expected} (now {entry.revision}); "
            "reload it and apply your edit again.",
            {"current_revision": entry.revision},
        )


def create_entry(*, db: Session, data: EntryData, actor: str, reason: str | None = None) -> KBEntry:
    """A new entry, as a draft."""
    if db.get(KBEntry, data.id) is not None:
        raise ApiError(409, "duplicate_id", f"KB entry {data.id} already exists; edit it instead.")
    now = clock.now()
    content = data.to_dict()
    entry = KBEntry(
        id=data.id,
        status="draft",
        product_type=data.product_type,
        title=data.title,
        published=None,
        draft=content,
        version=0,
        index_seq=0,
        created_at=now,
        updated_at=now,
    )
    db.add(entry)
    db.flush()
    _record(db, entry, actor=actor, action="create", changes=diff(None, content), reason=reason)
    return entry


def update_entry(
    *,
    db: Session,
    entry_id: str,
    changes: dict[str, Any],
    actor: str,
    expected_revision: int | None = None,
    reason: str | None = None,
) -> KBEntry:
    """Apply changes to the entry's draft (starting one from the published content if needed)."""
    entry = get_entry(db=db, entry_id=entry_id, for_update=True)
    _check_revision(entry, expected_revision)
    base = dict(entry.draft or entry.published or {})
    try:
        merged = EntryData.model_validate({**base, **changes, "id": entry.id}).to_dict()
    except ValidationError as exc:  # e.g. a required field sent as null
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        fields = ", ".join(d["field"] for d in details)
        raise ApiError(
            422, "invalid_entry", f"The edit leaves the entry invalid ({fields}).", details
        ) from None
    delta = diff(base, merged)
    if not delta:
        return entry
    entry.draft = merged
    entry.title = merged["title"] if entry.status == "draft" else entry.title
    entry.product_type = merged["product_type"] if entry.status == "draft" else entry.product_type
    _record(db, entry, actor=actor, action="edit", changes=delta, reason=reason)
    return entry


def publish_entry(
    *,
    db: Session,
    entry_id: str,
    actor: str,
    expected_revision: int | None = None,
    reason: str | None = None,
) -> KBEntry:
    """Make the draft (or a retired entry's last content) the searchable version."""
    entry = get_entry(db=db, entry_id=entry_id, for_update=True)
    _check_revision(entry, expected_revision)
    content = entry.draft or entry.published
    if content is None:
        raise ApiError(409, "nothing_to_publish", f"KB entry {entry_id} has no content to publish.")
    if entry.draft is None and entry.status == "published":
        raise ApiError(
            409, "nothing_to_publish", f"KB entry {entry_id} has no draft; edit it first."
        )
    changes = diff(entry.published, content)
    entry.published = content
    entry.draft = None
    entry.status = "published"
    entry.version += 1
    entry.title = content["title"]
    entry.product_type = content["product_type"]
    entry.published_at = clock.now()
    rev = _record(db, entry, actor=actor, action="publish", changes=changes, reason=reason)
    entry.index_seq = rev.id
    _schedule_index_sync(db)
    return entry


def retire_entry(
    *,
    db: Session,
    entry_id: str,
    actor: str,
    expected_revision: int | None = None,
    reason: str | None = None,
) -> KBEntry:
    """Take the entry out of search; its history and content stay."""
    entry = get_entry(db=db, entry_id=entry_id, for_update=True)
    _check_revision(entry, expected_revision)
    if entry.status == "retired":
        return entry
    changes = {"status": [entry.status, "retired"]}
    entry.status = "retired"
    rev = _record(db, entry, actor=actor, action="retire", changes=changes, reason=reason)
    entry.index_seq = rev.id
    _schedule_index_sync(db)
    return entry


def history(*, db: Session, entry_id: str) -> list[KBRevision]:
    """Every recorded change of the entry, oldest first."""
    get_entry(db=db, entry_id=entry_id)
    stmt = select(KBRevision).where(KBRevision.entry_id == entry_id).order_by(KBRevision.id)
    return list(db.scalars(stmt).all())


def import_entries(
    *,
    db: Session,
    data: bytes,
    fmt: str,
    actor: str,
    publish: bool = False,
    partial: bool = False,
) -> ImportReport:
    """Import a file; on any bad row nothing is written unless partial=True."""
    try:
        rows = interchange.read_rows(data, fmt)
    except interchange.FormatError as exc:
        return ImportReport(
            ok=False, format=fmt, rows=0, errors=[{"row": None, "problem": str(exc)}]
        )
    good, errors = interchange.validate_rows(rows)
    labels = {n: r.get("severity") for n, r in rows if isinstance(r, dict)}
    report = ImportReport(
        ok=not errors,
        format=fmt,
        rows=len(rows),
        errors=errors,
        severity_mapping=interchange.severity_labels(good, labels),
    )
    if errors and not partial:
        return report
    reason = f"import ({fmt})"
    for _, item in good:
        existing = db.get(KBEntry, item.id)
        if existing is None:
            create_entry(db=db, data=item, actor=actor, reason=reason)
            report.created.append(item.id)
        else:
            before = existing.revision
            update_entry(
                db=db, entry_id=item.id, changes=item.to_dict(), actor=actor, reason=reason
            )
            if existing.revision == before and not (publish and existing.status == "retired"):
                report.unchanged.append(item.id)
                continue
            report.updated.append(item.id)
        if publish:
            publish_entry(db=db, entry_id=item.id, actor=actor, reason=reason)
            report.published.append(item.id)
    report.ok = True
    return report


def export_entries(
    *, db: Session, fmt: str, include_drafts: bool = False, include_retired: bool = False
) -> bytes:
    """Published entries (optionally drafts' content and retired ones) in fmt."""
    out = []
    for entry in db.scalars(select(KBEntry).order_by(KBEntry.id)):
        if entry.status == "retired" and not include_retired:
            continue
        content = (entry.draft or entry.published) if include_drafts else entry.published
        if content is not None:
            out.append(content)
    return interchange.write_entries(out, fmt)


def entry_view(entry: KBEntry) -> dict[str, Any]:
    """API representation of an entry."""
    return {
        "id": entry.id,
        "status": entry.status,
        "version": entry.version,
        "revision": entry.revision,
        "published": entry.published,
        "draft": entry.draft,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "published_at": entry.published_at,
    }


def _schedule_index_sync(db: Session) -> None:
    """Bring this process's index up to date once the transaction has committed, and tell
    the other domains (once per transaction) that the searchable KB changed."""
    if db.info.get("kb_sync_scheduled"):
        return
    db.info["kb_sync_scheduled"] = True
    events.publish(KbChanged(), db=db)
    from sqlalchemy import event

    def _after_commit(session: Session) -> None:
        session.info.pop("kb_sync_scheduled", None)
        from knowledge_base import live_index

        if live_index.is_loaded():
            live_index.sync_now()

    def _after_rollback(session: Session) -> None:
        session.info.pop("kb_sync_scheduled", None)

    event.listen(db, "after_commit", _after_commit, once=True)
    event.listen(db, "after_soft_rollback", lambda s, _t: _after_rollback(s), once=True)
