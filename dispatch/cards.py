"""The push card a technician receives for an offer: WeCom `template_card` (text_notice) JSON.

A WeCom group-robot webhook takes it as is; any other transport gets the same JSON (the
notifier is pluggable per channel, see core.notify). WeCom limits: at most 6 horizontal rows
and 3 jump links, so the card carries the essentials and links to the full ticket.
"""

from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import events, notify, public_url
from core.settings import get_settings
from dispatch import parts
from dispatch.events import CardUndeliverable, Offered
from dispatch.models import Assignment, Technician
from dispatch.requirements import ACTOR, Requirement, bind_job
from tickets import service as tickets
from tickets.models import Ticket
from triage.deidentify import deidentify_text

APP_PATH = "/console/tech"  # the technician app's pages (console.tech)


def navigation_url(lat: float, lon: float, name: str) -> str:
    """A navigation link to the site (AMap URI API: opens the app, or the web map)."""
    return (
        f"https://uri.amap.com/navigation?to={lon:.6f},{lat:.6f},{quote(name or '现场')}"
        "&mode=car&callnative=1"
    )


def _parts_line(parts: list[dict[str, Any]]) -> str:
    if not parts:
        return "无需备件"
    items = []
    for p in parts:
        label = p.get("sku") or p.get("part")
        if p.get("status") == "reserved":
            items.append(f"{label}×1（{p.get('warehouse_id')}已预留）")
        else:
            items.append(f"{label}（{p.get('status')}）")
    return "；".join(items)


def _history_text(history: list[dict[str, Any]]) -> str:
    if not history:
        return "该设备无历史维修记录"
    lines = [
        f"{h['date']} {h['number']} {h.get('title') or h.get('kb_id') or '未诊断'}"
        f"（{h['status']}{'，' + h['technician'] if h.get('technician') else ''}）"
        for h in history[:5]
    ]
    return "\n".join(lines)


def build_card(
    *,
    ticket: dict[str, Any],
    assignment_id: int,
    distance_km: float | None,
    kb: dict[str, Any] | None,
    parts: list[dict[str, Any]],
    history: list[dict[str, Any]],
    site: tuple[float, float] | None,
) -> dict[str, Any]:
    """The card for one offer: site, device, diagnosis and resolution, parts, device history,
    and links to navigate, accept and decline in the technician app."""
    base = public_url.sent_base_url()
    # Pages of the technician app (a card's links are GETs: the page asks before it acts).
    page = f"{base}{APP_PATH}/offers/{assignment_id}"
    address = ticket.get("address") or "地址待确认"
    device = " ".join(
        str(v)
        for v in (ticket.get("product_type"), ticket.get("model"), ticket.get("firmware"))
        if v
    )
    title = (kb or {}).get("title") or "待现场诊断"
    links = []
    if site is not None:
        links.append({"type": 1, "title": "导航到现场", "url": navigation_url(*site, address)})
    links += [
        {"type": 1, "title": "接单", "url": f"{page}?answer=accept"},
        {"type": 1, "title": "拒单", "url": f"{page}?answer=decline"},
    ]
    rows = [
        {"keyname": "工单", "value": ticket["number"]},
        {"keyname": "地址", "value": address[:60]},
        {"keyname": "设备", "value": (device or "未知")[:60]},
        {"keyname": "硬件ID", "value": ticket.get("hardware_id") or "未登记"},
        {"keyname": "备件", "value": _parts_line(parts)[:60]},
        {"keyname": "SLA", "value": f"{ticket.get('sla_class')} / {ticket.get('severity') or '-'}"},
    ]
    return {
        "msgtype": "template_card",
        "template_card": {
            "card_type": "text_notice",
            "source": {"desc": "Hotline 派单"},
            "main_title": {
                "title": f"新工单：{title}"[:36],
                "desc": ticket.get("fault_code") or "",
            },
            "emphasis_content": {
                "title": f"{distance_km:.1f} km" if distance_km is not None else "-",
                "desc": "距现场",
            },
            "quote_area": {
                "type": 0,
                "title": "处理方案 / 设备维修记录",
                "quote_text": ((kb or {}).get("resolution") or "现场诊断")[:200]
                + "\n"
                + _history_text(history),
            },
            # The card is an offer, possibly posted to a group: the caller's words without
            # who they are (the job view shows them once the technician accepts).
            "sub_title_text": (deidentify_text(ticket.get("description")) or "")[:120],
            "horizontal_content_list": rows,
            "jump_list": links,
            "card_action": {"type": 1, "url": page},
            "task_id": f"hotline-assignment-{assignment_id}",
        },
    }


def device_history(
    db: Session, hardware_id: str | None, *, exclude_ticket_id: int | None = None, limit: int = 5
) -> list[dict[str, Any]]:
    """Tickets of a device, newest first, with who handled them (its repair history)."""
    if not hardware_id:
        return []
    stmt = select(Ticket).where(Ticket.hardware_id == hardware_id)
    if exclude_ticket_id is not None:
        stmt = stmt.where(Ticket.id != exclude_ticket_id)
    rows = db.scalars(stmt.order_by(Ticket.id.desc()).limit(limit))
    out = []
    for t in rows:
        name = db.scalar(
            select(Technician.name)
            .join(Assignment, Assignment.technician_id == Technician.id)
            .where(Assignment.ticket_id == t.id, Assignment.status == "accepted")
            .order_by(Assignment.id.desc())
            .limit(1)
        )
        out.append(
            {
                "number": t.number,
                "date": f"{t.created_at:%Y-%m-%d}",
                "kb_id": t.kb_id,
                "title": (t.diagnosis or {}).get("title"),
                "status": t.status,
                "technician": name,
            }
        )
    return out


def push_cards(
    db: Session, items: list[tuple[Requirement, Ticket, Technician, Assignment, float | None]]
) -> None:
    """The push card of each offer (held parts read in one query, cards sent in one flush)."""
    held = parts.held_by_ticket(db, [ticket.id for _, ticket, _, _, _ in items])
    # Try again for what was out of stock when the tickets were queued.
    retry = [
        bind_job(req)
        for req, ticket, _, _, _ in items
        if req.parts and req.site and not set(req.parts) <= {r.part for r in held[ticket.id]}
    ]
    rebound = parts.bind_parts_many(db, retry, actor=ACTOR) if retry else {}
    default_url = get_settings().dispatch_webhook_url
    messages = []
    undeliverable: list[Offered] = []
    for req, ticket, tech, assignment, distance_km in items:
        report = rebound.get(ticket.id)
        if report is None:
            report = [
                {"part": r.part, "sku": r.sku, "status": "reserved", "warehouse_id": r.warehouse_id}
                for r in held[ticket.id]
            ]
        view = tickets.ticket_view(ticket)
        card = build_card(
            ticket={
                "id": ticket.id,
                "number": ticket.number,
                "address": ticket.address or (req.device.address if req.device else None),
                **view["device"],
                "hardware_id": ticket.hardware_id,
                "fault_code": ticket.fault_code,
                "description": ticket.description,
                "sla_class": ticket.sla_class,
                "severity": ticket.severity,
            },
            assignment_id=assignment.id,
            distance_km=distance_km,
            kb=req.kb,
            parts=report,
            history=device_history(db, ticket.hardware_id, exclude_ticket_id=ticket.id),
            site=req.site,
        )
        url = tech.webhook_url or default_url
        if url:  # without one, the assignment's explanation says the card was not sent
            messages.append(
                notify.Message(
                    kind="dispatch.card",
                    recipient=f"technician:{tech.id}",
                    url=url,
                    payload=card,
                    channel=tech.notify_channel,
                    ref_type="ticket",
                    ref_id=ticket.id,
                )
            )
        else:
            undeliverable.append(Offered(ticket, tech, assignment))
    if messages:
        notify.send_many(db=db, messages=messages)
    if undeliverable:
        # Nothing silent: the supervisor hears of it now, not when the offer expires.
        reason = "技师未配置推送 webhook，且没有默认 webhook"
        events.publish(CardUndeliverable(offers=undeliverable, reason=reason), db=db)
