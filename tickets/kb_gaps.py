"""What the knowledge engineer should write next: gaps, confusions and entry health.

- **Gaps**: recent calls that matched nothing (triage said no match, or an agent corrected the
  diagnosis to no match) clustered by their sentence embeddings within a product type; each
  cluster carries a suggested title and symptoms in the callers' own words, so one click
  starts a draft entry.
- **Confusions**: pairs of entries agents keep correcting between (predicted A, really B).
- **Entry health**: per entry, calls matched, confirmed, corrected away, average confidence,
  the last hit; coverage by product type.

The report is computed in the background (a task on the queue, on a schedule and on demand)
and stored as one row, so serving it is a single read.
"""

import logging
import random
import re
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from huey import crontab
from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock
from core.db import Base, JsonType, UTCDateTime, session_scope
from core.errors import ApiError, not_found
from core.settings import get_settings
from core.tasks import queue
from knowledge_base import live_index
from knowledge_base import service as kb
from knowledge_base.models import KBEntry
from knowledge_base.schemas import EntryData
from tickets.models import ReviewCorrection, Ticket
from triage.deidentify import deidentify_text
from triage.rules import get_rules
from triage.service import retrieval_text

log = logging.getLogger("hotline.kb_gaps")

MAX_CLUSTERS = 60  # the report lists the biggest; the rest are counted
MAX_IDS = 200  # ticket ids listed per cluster or pair
MAX_SYMPTOMS = 6
IDF_SAMPLE = 2000  # calls segmented to know how rare a word is
KEYWORD_CALLS = 30  # a cluster's most central calls that name its keywords
IDLE_DAYS = 90
UNKNOWN_PRODUCT = "未识别产品"
CLAUSE = re.compile(r"[，。,.!！?？；;：:\s]+")
_computing = threading.Lock()


class KBGapReport(Base):
    """One computed report (gaps, confusions, entry health); the newest one is served."""

    __tablename__ = "kb_gap_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    trigger: Mapped[str] = mapped_column(String(32))
    window_days: Mapped[float] = mapped_column(Float)
    tickets_seen: Mapped[int] = mapped_column(Integer)
    unmatched: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    report: Mapped[dict[str, Any]] = mapped_column(JsonType)


class KBGapVector(Base):
    """An unmatched call's sentence embedding, kept so a recompute only embeds new calls
    (embedding is most of the cost: about 10 ms a call on two CPU cores)."""

    __tablename__ = "kb_gap_vectors"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    encoder: Mapped[str] = mapped_column(String(200))
    vector: Mapped[bytes] = mapped_column(LargeBinary)


def _vectors(db: Session, rows: list[Any], texts: list[str]) -> np.ndarray:
    """The calls' embeddings: stored ones reused, the others encoded (each distinct text
    once) and stored."""
    enc = live_index.encoder()
    ids = [t.id for t in rows]
    have: dict[int, bytes] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        have.update(
            db.execute(
                select(KBGapVector.ticket_id, KBGapVector.vector).where(
                    KBGapVector.ticket_id.in_(ids[start : start + 900]),
                    KBGapVector.encoder == enc.name,
                )
            ).all()
        )
    missing = [i for i, t in enumerate(rows) if t.id not in have]
    if missing:
        distinct = sorted({texts[i] for i in missing})
        encoded = np.asarray(enc.encode(distinct), dtype=np.float32)
        by_text = dict(zip(distinct, encoded, strict=True))
        fresh = [rows[i].id for i in missing]
        for start in range(0, len(fresh), 900):
            db.execute(
                delete(KBGapVector).where(KBGapVector.ticket_id.in_(fresh[start : start + 900]))
            )
        db.add_all(
            KBGapVector(ticket_id=rows[i].id, encoder=enc.name, vector=by_text[texts[i]].tobytes())
            for i in missing
        )
        db.flush()
        for i in missing:
            have[rows[i].id] = by_text[texts[i]].tobytes()
    return np.vstack([np.frombuffer(have[t.id], dtype=np.float32) for t in rows])


# ---------------------------------------------------------------- clustering


def cluster(vectors: np.ndarray, groups: list[str], *, distance: float, min_calls: int) -> list:
    """Index lists of the calls that belong together: average-linkage clusters over cosine
    distance within each group (product type), biggest first; smaller than min_calls dropped."""
    from scipy.cluster.hierarchy import fcluster, linkage

    by_group: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    out: list[list[int]] = []
    for members in by_group.values():
        if len(members) < min_calls:
            continue
        for chunk in _chunks(vectors, members):
            if len(chunk) == 1:
                continue
            tree = linkage(vectors[chunk], method="average", metric="cosine")
            labels = fcluster(tree, t=distance, criterion="distance")
            found: dict[int, list[int]] = defaultdict(list)
            for idx, label in zip(chunk, labels, strict=True):
                found[int(label)].append(idx)
            out.extend(c for c in found.values() if len(c) >= min_calls)
    out.sort(key=lambda c: (-len(c), c[0]))
    return out


def _chunks(vectors: np.ndarray, members: list[int], limit: int = 2500) -> list[list[int]]:
    """Average linkage costs n² memory: a group bigger than limit is first split by k-means
    into parts of about limit/2 (near calls land in one part), each clustered on its own."""
    if len(members) <= limit:
        return [members]
    from sklearn.cluster import MiniBatchKMeans

    k = max(2, (2 * len(members)) // limit)
    labels = MiniBatchKMeans(n_clusters=k, random_state=0, n_init=3).fit_predict(vectors[members])
    parts: dict[int, list[int]] = defaultdict(list)
    for idx, label in zip(members, labels, strict=True):
        parts[int(label)].append(idx)
    return [p for part in parts.values() for p in _chunks(vectors, part, limit)]


def _keywords(texts: list[str], doc_freq: Counter, n_docs: int, top: int = 4) -> list[str]:
    """The cluster's distinctive words: in many of its calls, rare among all unmatched calls."""
    tok = live_index.get_index().tokenizer
    local: Counter = Counter()
    for t in texts:
        local.update(set(tok.words(t)))
    scored = [
        (cnt / len(texts) * np.log((n_docs + 1) / (doc_freq[w] + 1)), w)
        for w, cnt in local.items()
        if cnt >= max(2, len(texts) // 3) and len(w) > 1 and not w.isdigit()
    ]
    return [w for _, w in sorted(scored, reverse=True)[:top]]


def _symptom(text: str, keywords: list[str]) -> str:
    """The call's clauses that carry the cluster's words (the whole call when none does),
    in the caller's own words, at most 60 characters."""
    clauses = [c for c in CLAUSE.split(text) if c]
    kept = [c for c in clauses if any(k in c.lower() for k in keywords)] or clauses
    return "，".join(kept)[:60]


def _clean(ticket: Any) -> str:
    """What the caller said about the fault: contact details taken out."""
    return retrieval_text(ticket.normalized_text or ticket.description, ticket.fields or {}).strip()


# ---------------------------------------------------------------- the report


def _window_start(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


def gaps(*, db: Session, since: datetime, now: datetime) -> tuple[list[dict[str, Any]], int]:
    """Clusters of the window's unmatched calls, biggest first, and how many calls there were."""
    settings = get_settings()
    rows = db.execute(
        select(
            Ticket.id,
            Ticket.description,
            Ticket.normalized_text,
            Ticket.fields,
            Ticket.product_type,
            Ticket.created_at,
        ).where(Ticket.no_match.is_(True), Ticket.created_at >= since)
    ).all()
    if not rows:
        return [], 0
    texts = [_clean(t) or t.description for t in rows]
    products = [t.product_type or UNKNOWN_PRODUCT for t in rows]
    vectors = _vectors(db, list(rows), texts)
    found = cluster(
        vectors, products, distance=settings.gaps_distance, min_calls=settings.gaps_min_calls
    )
    tok = live_index.get_index().tokenizer
    # Word rarity from a sample of the calls: segmenting every call is most of the cost.
    sample = texts if len(texts) <= IDF_SAMPLE else random.Random(0).sample(texts, IDF_SAMPLE)
    doc_freq: Counter = Counter()
    for t in sample:
        doc_freq.update(set(tok.words(t)))
    cues = get_rules().non_fault_cues
    week = now - timedelta(days=7)
    fortnight = now - timedelta(days=14)
    out = []
    for n, members in enumerate(found[:MAX_CLUSTERS]):
        vecs = vectors[members]
        centre = vecs.mean(axis=0)
        order = [members[i] for i in np.argsort(-(vecs @ centre))]
        member_texts = [texts[i] for i in order]
        keywords = _keywords(member_texts[:KEYWORD_CALLS], doc_freq, len(sample))
        symptoms: list[str] = []
        for text in member_texts:
            s = deidentify_text(_symptom(text, keywords)) or ""
            if s and s not in symptoms:
                symptoms.append(s)
            if len(symptoms) >= MAX_SYMPTOMS:
                break
        product = products[members[0]]
        non_fault = sum(any(c in rows[i].normalized_text for c in cues) for i in members)
        created = [rows[i].created_at for i in members]
        recent = sum(c >= week for c in created)
        prior = sum(fortnight <= c < week for c in created)
        out.append(
            {
                "id": n + 1,
                "size": len(members),
                "product_type": None if product == UNKNOWN_PRODUCT else product,
                "title": deidentify_text(_title(product, keywords, member_texts[0])),
                "keywords": keywords,
                "symptoms": symptoms,
                "not_a_fault": non_fault * 2 > len(members),
                "last_7_days": recent,
                "prior_7_days": prior,
                "trend": "rising" if recent > prior else "falling" if recent < prior else "steady",
                "first_at": min(created).isoformat(),
                "last_at": max(created).isoformat(),
                "cohesion": round(float(np.mean(vecs @ centre / np.linalg.norm(centre))), 3),
                "ticket_ids": [rows[i].id for i in order][:MAX_IDS],
            }
        )
    return out, len(rows)


def _title(product: str, keywords: list[str], central: str) -> str:
    head = "" if product == UNKNOWN_PRODUCT else product
    body = "".join(k for k in keywords[:3] if k not in head) or central[:20]
    return f"{head}{body}"[:60] or central[:60]


def confusions(*, db: Session, since: datetime) -> list[dict[str, Any]]:
    """Pairs (predicted → corrected) agents corrected between, most frequent first, with the
    calls and what those callers said (symptoms to add to the entry they really meant)."""
    rows = db.execute(
        select(
            ReviewCorrection.predicted_kb_id,
            ReviewCorrection.corrected_kb_id,
            ReviewCorrection.ticket_id,
            ReviewCorrection.text,
            Ticket.fields,
        )
        .join(Ticket, Ticket.id == ReviewCorrection.ticket_id)
        .where(
            ReviewCorrection.at >= since,
            ReviewCorrection.predicted_kb_id.is_not(None),
            ReviewCorrection.corrected_kb_id.is_not(None),
            ReviewCorrection.predicted_kb_id != ReviewCorrection.corrected_kb_id,
        )
        .order_by(ReviewCorrection.id.desc())
    ).all()
    pairs: dict[tuple[str, str], list] = defaultdict(list)
    for r in rows:
        pairs[(r.predicted_kb_id, r.corrected_kb_id)].append(r)
    titles = dict(db.execute(select(KBEntry.id, KBEntry.title)).all())
    out = []
    for (a, b), items in sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        said = []
        for r in items:
            s = deidentify_text(retrieval_text(r.text, r.fields or {}).strip()[:60]) or ""
            if s and s not in said:
                said.append(s)
        out.append(
            {
                "predicted_kb_id": a,
                "predicted_title": titles.get(a),
                "corrected_kb_id": b,
                "corrected_title": titles.get(b),
                "count": len(items),
                "back": len(pairs.get((b, a), [])),
                "suggested_symptoms": said[:MAX_SYMPTOMS],
                "ticket_ids": [r.ticket_id for r in items][:MAX_IDS],
            }
        )
    return out[:MAX_CLUSTERS]


def entry_health(*, db: Session, since: datetime, now: datetime) -> dict[str, Any]:
    """Per published entry: calls matched (as triage's first diagnosis), confirmed and
    corrected away by agents, their mean confidence and the last hit; idle entries; coverage
    by product type."""
    stats: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"matched": 0, "confirmed": 0, "corrected_away": 0, "conf_sum": 0.0}
    )
    # Unreviewed tickets still carry triage's diagnosis; reviewed ones keep it in the verdict.
    for kb_id, n, conf in db.execute(
        select(Ticket.kb_id, func.count(), func.sum(Ticket.confidence))
        .where(Ticket.created_at >= since, Ticket.reviewed_at.is_(None), Ticket.kb_id.is_not(None))
        .group_by(Ticket.kb_id)
    ):
        stats[kb_id]["matched"] += n
        stats[kb_id]["conf_sum"] += float(conf or 0)
    for kb_id, ok, n, conf in db.execute(
        select(
            ReviewCorrection.predicted_kb_id,
            ReviewCorrection.diagnosis_correct,
            func.count(),
            func.sum(Ticket.confidence),
        )
        .join(Ticket, Ticket.id == ReviewCorrection.ticket_id)
        .where(Ticket.created_at >= since, ReviewCorrection.predicted_kb_id.is_not(None))
        .group_by(ReviewCorrection.predicted_kb_id, ReviewCorrection.diagnosis_correct)
    ):
        s = stats[kb_id]
        s["matched"] += n
        s["conf_sum"] += float(conf or 0)
        s["confirmed" if ok else "corrected_away"] += n
    idle_since = now - timedelta(days=IDLE_DAYS)
    last_hit = dict(
        db.execute(
            select(Ticket.kb_id, func.max(Ticket.created_at))
            .where(Ticket.kb_id.is_not(None), Ticket.created_at >= idle_since)
            .group_by(Ticket.kb_id)
        ).all()
    )
    for kb_id, at in db.execute(
        select(ReviewCorrection.predicted_kb_id, func.max(ReviewCorrection.at))
        .where(ReviewCorrection.predicted_kb_id.is_not(None), ReviewCorrection.at >= idle_since)
        .group_by(ReviewCorrection.predicted_kb_id)
    ):
        last_hit[kb_id] = max(at, last_hit.get(kb_id, at))
    entries = db.execute(
        select(KBEntry.id, KBEntry.title, KBEntry.product_type, KBEntry.published_at).where(
            KBEntry.status == "published"
        )
    ).all()
    items = []
    for e in entries:
        s = stats.get(e.id, {"matched": 0, "confirmed": 0, "corrected_away": 0, "conf_sum": 0.0})
        reviewed = s["confirmed"] + s["corrected_away"]
        items.append(
            {
                "kb_id": e.id,
                "title": e.title,
                "product_type": e.product_type,
                "matched": s["matched"],
                "confirmed": s["confirmed"],
                "corrected_away": s["corrected_away"],
                "correction_rate": round(s["corrected_away"] / reviewed, 3) if reviewed else None,
                "mean_confidence": round(s["conf_sum"] / s["matched"], 3) if s["matched"] else None,
                "last_hit": last_hit[e.id].isoformat() if e.id in last_hit else None,
            }
        )
    items.sort(key=lambda i: (-i["corrected_away"], -i["matched"], i["kb_id"]))
    idle = [
        {"kb_id": i["kb_id"], "title": i["title"], "product_type": i["product_type"]}
        for i in items
        if i["last_hit"] is None
    ]
    per_entries = Counter(e.product_type for e in entries)
    calls = dict(
        db.execute(
            select(Ticket.product_type, func.count())
            .where(Ticket.created_at >= since)
            .group_by(Ticket.product_type)
        ).all()
    )
    unmatched = dict(
        db.execute(
            select(Ticket.product_type, func.count())
            .where(Ticket.created_at >= since, Ticket.no_match.is_(True))
            .group_by(Ticket.product_type)
        ).all()
    )
    coverage = [
        {
            "product_type": p,
            "entries": per_entries.get(p, 0) if p else 0,
            "calls": calls.get(p, 0),
            "unmatched": unmatched.get(p, 0),
            "unmatched_share": round(unmatched.get(p, 0) / calls[p], 3) if calls.get(p) else None,
        }
        for p in sorted(set(per_entries) | set(calls), key=lambda p: (p is None, p or ""))
    ]
    return {"items": items, "idle_entries": idle, "coverage": coverage}


def compute(*, trigger: str = "on_demand") -> KBGapReport:
    """Compute the report over the recent window and store it (outside any request)."""
    settings = get_settings()
    with _computing:
        started = time.perf_counter()
        now = clock.now()
        since = _window_start(now, settings.gaps_window_days)
        with session_scope() as db:
            found, unmatched = gaps(db=db, since=since, now=now)
            report = {
                "window_days": settings.gaps_window_days,
                "since": since.isoformat(),
                "distance": settings.gaps_distance,
                "gaps": found,
                "confusions": confusions(db=db, since=since),
                "health": entry_health(db=db, since=since, now=now),
            }
            seen = db.scalar(select(func.count(Ticket.id)).where(Ticket.created_at >= since)) or 0
            row = KBGapReport(
                computed_at=now,
                trigger=trigger,
                window_days=settings.gaps_window_days,
                tickets_seen=int(seen),
                unmatched=unmatched,
                seconds=round(time.perf_counter() - started, 2),
                report=report,
            )
            db.add(row)
            db.flush()
            db.expunge(row)
        log.info(
            "KB gaps computed (%s): %d unmatched of %d calls, %d clusters, %.1f s",
            trigger,
            unmatched,
            seen,
            len(found),
            row.seconds,
        )
        return row


def latest(*, db: Session) -> KBGapReport | None:
    """The newest stored report, if any."""
    return db.scalar(select(KBGapReport).order_by(KBGapReport.id.desc()).limit(1))


def report_view(row: KBGapReport | None, part: str) -> dict[str, Any]:
    """One part (gaps, confusions, health) of a stored report with when it was computed."""
    meta = {
        "report_id": row.id if row else None,
        "computed_at": row.computed_at if row else None,
        "window_days": row.window_days if row else get_settings().gaps_window_days,
        "tickets_seen": row.tickets_seen if row else 0,
        "unmatched": row.unmatched if row else 0,
        "seconds": row.seconds if row else None,
    }
    data = (row.report or {}).get(part) if row else None
    if part == "health":
        return {**meta, **(data or {"items": [], "idle_entries": [], "coverage": []})}
    return {**meta, "items": data or []}


def find_cluster(*, db: Session, report_id: int, cluster_id: int) -> dict[str, Any]:
    """A cluster of a stored report, or a 404."""
    row = db.get(KBGapReport, report_id)
    for c in row.report.get("gaps", []) if row else []:
        if c["id"] == cluster_id:
            return c
    raise not_found("gap cluster", f"{report_id}-{cluster_id}")


def start_draft(*, db: Session, report_id: int, cluster_id: int, actor: str) -> KBEntry:
    """A draft KB entry from a gap cluster: its product type, title and symptoms filled in,
    root cause and resolution left for the engineer (the draft is not searchable until
    published, through review)."""
    c = find_cluster(db=db, report_id=report_id, cluster_id=cluster_id)
    base = f"GAP-{report_id}-{cluster_id}"
    entry_id, n = base, 1
    while db.get(KBEntry, entry_id) is not None:
        n += 1
        entry_id = f"{base}-{n}"
    data = EntryData(
        id=entry_id,
        title=c["title"],
        product_type=c["product_type"] or UNKNOWN_PRODUCT,
        symptoms=c["symptoms"],
    )
    if not data.symptoms:
        raise ApiError(422, "empty_cluster", "This cluster has no symptoms to start from.")
    return kb.create_entry(
        db=db,
        data=data,
        actor=actor,
        reason=f"from gap cluster {report_id}-{cluster_id} ({c['size']} calls)",
    )


@queue.task(retries=1, retry_delay=5)
def compute_task(trigger: str = "on_demand") -> None:
    """Recompute the report in the background."""
    compute(trigger=trigger)


@queue.periodic_task(crontab(minute="17", hour="*/6"))
def scheduled_compute() -> None:
    """Keep the report fresh: every six hours."""
    compute(trigger="schedule")
