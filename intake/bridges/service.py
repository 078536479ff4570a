"""Enriching a ticket from other systems and raising rule-based advice.

Every configured connector that applies is called (in parallel, each with its timeout); each
outcome, including timeouts and errors, is stored on the ticket. Advice comes from two places:
KB entries with a `min_run_count` (an elevator past 12,000 runs since its last service → the
entry's check) and the threshold rules of `advice.yaml` in the bridges folder:

    - name: long-stop
      field: last_stop_minutes        # an enriched value; parts.*.available looks in each part
      gte: 30                         # gt | gte | lt | lte | eq
      product_types: [电梯]           # optional
      advice: 最近一次停梯超过30分钟，先远程查看停梯原因（{value} 分钟）
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import clock
from core.settings import get_settings
from intake.bridges.connectors import Connector, Outcome, fetch, load_connectors, pick
from intake.bridges.models import TicketAdvice, TicketEnrichment
from tickets import service as tickets
from tickets.models import Ticket

ACTOR = "system:bridges"
RUN_FIELDS = ("runs_since_service", "run_count")  # runs since the last service, best first
COMPARE = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
}


def context(ticket: Ticket) -> dict[str, Any]:
    """What a connector may put in its URL: the ticket's fields and diagnosed parts."""
    return {
        **{k: v for k, v in ticket.fields.items() if v not in (None, "")},
        "ticket_number": ticket.number,
        "parts": list((ticket.diagnosis or {}).get("parts") or []),
    }


def applicable(ticket: Ticket, connectors: list[Connector] | None = None) -> list[Connector]:
    """The connectors that can be called for this ticket."""
    ctx = context(ticket)
    return [c for c in (connectors or load_connectors()) if c.applies_to(ctx)]


def enrich(*, db: Session, ticket_id: int | str) -> list[TicketEnrichment]:
    """Call every applicable connector for the ticket and store what each returned (or why
    not), then (re)evaluate the advice. Never raises for an outside system's failure."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    connectors = applicable(ticket)
    if not connectors:
        return []
    ctx = context(ticket)
    with ThreadPoolExecutor(max_workers=len(connectors)) as pool:
        outcomes: list[Outcome] = list(pool.map(lambda c: fetch(c, ctx), connectors))
    now = clock.now()
    rows = []
    for out in outcomes:
        row = TicketEnrichment(
            ticket_id=ticket.id,
            connector=out.connector.name,
            system=out.connector.system,
            status=out.status,
            data=out.data,
            error=out.error,
            fetched_at=now,
            duration_ms=out.duration_ms,
        )
        db.add(row)
        rows.append(row)
    summary = "；".join(f"{o.connector.name}: {o.status}" for o in outcomes)
    tickets.add_note(db=db, ticket=ticket, actor=ACTOR, note=f"外部系统数据：{summary}")
    db.flush()
    advise(db=db, ticket=ticket)
    return rows


def latest_data(db: Session, ticket_id: int) -> dict[str, Any]:
    """The newest successful data of each connector, merged (later connectors win a clash)."""
    merged: dict[str, Any] = {}
    seen: set[str] = set()
    stmt = (
        select(TicketEnrichment)
        .where(TicketEnrichment.ticket_id == ticket_id, TicketEnrichment.status == "ok")
        .order_by(TicketEnrichment.id.desc())
    )
    for row in db.scalars(stmt):
        if row.connector not in seen:
            seen.add(row.connector)
            merged = {**row.data, **merged}
    return merged


def advise(*, db: Session, ticket: Ticket) -> list[TicketAdvice]:
    """Replace the ticket's advice with what the rules say about its current data."""
    data = latest_data(db, ticket.id)
    found = kb_advice(ticket, data) + rule_advice(ticket, data, load_rules())
    db.execute(delete(TicketAdvice).where(TicketAdvice.ticket_id == ticket.id))
    now = clock.now()
    rows = [
        TicketAdvice(ticket_id=ticket.id, rule=rule, advice=text, evidence=evidence, created_at=now)
        for rule, text, evidence in found
    ]
    db.add_all(rows)
    for row in rows:
        tickets.add_note(db=db, ticket=ticket, actor=ACTOR, note=f"建议：{row.advice}")
    db.flush()
    return rows


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def kb_advice(ticket: Ticket, data: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Advice of KB entries with a run-count threshold the device has passed."""
    from knowledge_base import live_index

    runs_field = next((f for f in RUN_FIELDS if _number(data.get(f)) is not None), None)
    if runs_field is None:
        return []
    runs = _number(data[runs_field])
    assert runs is not None
    out = []
    for entry in live_index.get_index().entries.values():
        limit = _number(entry.get("min_run_count"))
        if limit is None or runs < limit or entry.get("product_type") != ticket.product_type:
            continue
        models = entry.get("models") or []
        if models and ticket.model and ticket.model not in models:
            continue
        text = (
            f"自上次保养已运行{runs:g}次（≥{limit:g}次）：排查{entry.get('title')}。"
            f"{entry.get('resolution', '')}"
        )
        evidence = {"field": runs_field, "value": runs, "min_run_count": limit}
        out.append((f"kb:{entry['id']}"[:64], text, evidence))
    return out


def load_rules(folder: Path | None = None) -> list[dict[str, Any]]:
    """The threshold rules of advice.yaml in the bridges folder (none when absent)."""
    path = (folder or get_settings().resolved_bridges_dir) / "advice.yaml"
    if not path.is_file():
        return []
    rules = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(rules, list) or not all(
        isinstance(r, dict) and r.get("field") and r.get("advice") for r in rules
    ):
        raise ValueError(f"{path}: a list of rules with 'field' and 'advice' is expected")
    return rules


def rule_advice(
    ticket: Ticket, data: dict[str, Any], rules: list[dict[str, Any]]
) -> list[tuple[str, str, dict[str, Any]]]:
    """Advice of the threshold rules that hold for the data."""
    out = []
    for rule in rules:
        if rule.get("product_types") and ticket.product_type not in rule["product_types"]:
            continue
        head, _, tail = str(rule["field"]).partition(".*.")
        values = (
            {k: pick(v, tail) for k, v in (pick(data, head) or {}).items()}
            if tail
            else {"": pick(data, head)}
        )
        for key, value in values.items():
            for op, check in COMPARE.items():
                if op not in rule:
                    continue
                a, b = _number(value), _number(rule[op])
                hit = a is not None and b is not None and check(a, b)
                if hit or (op == "eq" and value == rule[op]):
                    text = str(rule["advice"]).format(value=value, key=key)
                    name = str(rule.get("name", rule["field"]))[:64]
                    out.append((name, text, {"field": rule["field"], "key": key, "value": value}))
    return out


def enrichment_view(row: TicketEnrichment) -> dict[str, Any]:
    """API representation of an enrichment."""
    return {
        "connector": row.connector,
        "system": row.system,
        "status": row.status,
        "data": row.data,
        "error": row.error,
        "fetched_at": row.fetched_at,
        "duration_ms": row.duration_ms,
    }


def ticket_bridges(db: Session, ticket_id: int | str) -> dict[str, Any]:
    """Every enrichment (newest first, failures included) and the current advice."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    rows = db.scalars(
        select(TicketEnrichment)
        .where(TicketEnrichment.ticket_id == ticket.id)
        .order_by(TicketEnrichment.id.desc())
    ).all()
    advice = db.scalars(
        select(TicketAdvice).where(TicketAdvice.ticket_id == ticket.id).order_by(TicketAdvice.id)
    ).all()
    return {
        "ticket_id": ticket.id,
        "enrichments": [enrichment_view(r) for r in rows],
        "failures": [enrichment_view(r) for r in rows if r.status != "ok"],
        "advice": [{"rule": a.rule, "advice": a.advice, "evidence": a.evidence} for a in advice],
    }
