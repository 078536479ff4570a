"""“Try a query”: how a caller sentence ranks against the published KB and with drafts applied.

The draft index is a copy of the live index (persisted and reloaded with its own tokenizer, so
draft words never leak into live matching) with every pending draft upserted. It is cached
until the live index or any draft changes; for the demo KB a rebuild costs well under a second
(measured in docs/console.md).
"""

import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.web import local_stamp, percent
from core.settings import get_settings
from knowledge_base import live_index
from knowledge_base.index import HybridIndex
from knowledge_base.models import KBEntry
from knowledge_base.tokens import KBTokenizer
from triage import confidence, diagnose, fault_report
from triage.calibration import MIN_VERDICTS_FOR_THRESHOLD
from triage.result import TriageResult
from triage.service import triage_text

_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "index": None}


def _drafts(db: Session) -> list[tuple[str, int, dict[str, Any]]]:
    # A cleared draft is stored as JSON null, not SQL NULL, so it is filtered here.
    rows = db.execute(
        select(KBEntry.id, KBEntry.revision, KBEntry.draft)
        .where(KBEntry.status != "retired")
        .order_by(KBEntry.id)
    ).all()
    return [(r.id, r.revision, r.draft) for r in rows if r.draft]


def draft_index(db: Session) -> tuple[HybridIndex, list[str], float]:
    """The index with drafts applied, the ids of draft entries, and the build time in ms
    (0 when served from cache)."""
    live = live_index.get_index()
    drafts = _drafts(db)
    key = (id(live), live.generation, tuple((k, rev) for k, rev, _ in drafts))
    with _lock:
        if _cache["key"] == key:
            return _cache["index"], [k for k, _, _ in drafts], 0.0
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="hotline-draft-") as tmp:
            live.save(Path(tmp))
            copy = HybridIndex.load(Path(tmp), live.encoder, KBTokenizer())
        assert copy is not None  # just written with the same encoder
        copy.upsert([content for _, _, content in drafts])
        _cache.update(key=key, index=copy)
        return copy, [k for k, _, _ in drafts], (time.perf_counter() - started) * 1000


def _ranked(result: TriageResult) -> list[dict[str, Any]]:
    return [
        {"kb_id": c["kb_id"], "title": c["title"], "confidence": c["confidence"], "rank": i}
        for i, c in enumerate(result.diagnosis["candidates"], start=1)
    ]


# What each diagnosis feature means, for the "why no match" line.
FEATURE_LABELS = {
    "dense": "语义相似度",
    "dense_gap": "语义上不如最佳候选",
    "bm25": "关键词/拼音重合",
    "bm25_gap": "关键词上不如最佳候选",
    "rrf": "综合排名",
    "product": "产品类型",
    "model": "型号",
    "firmware": "固件版本",
    "fault_code": "故障码",
    "condition": "条目附加条件",
    "non_fault": "像咨询/费用/安装等非故障诉求",
    "request_like": "说法接近开票、安装、投诉等非故障请求",
    "not_a_fault_report": "听起来不像故障报修（咨询、报价、外观小问题等）",
}


# The labelled sets the shipped fault-report check is fitted on (eval/triage_sets.py).
SET_LABELS = {
    "ours": "家电/门锁/充电桩",
    "energy": "储能",
    "hvac": "暖通空调",
    "kitchen": "厨电",
    "elevator": "电梯",
    "medical": "医疗设备",
}
_FITTED_ON = re.compile(r"^(.+) labelled calls \((\d+)\) and (\d+) request examples, (\S+)$")


def fitted_on_zh(text: str) -> str:
    """The check's `fitted_on` line (written in English by `hotline eval fit-fault-report`)
    in a curator's words; an unknown wording is shown as it is."""
    m = _FITTED_ON.match(text)
    if m is None:
        return text
    sets = "、".join(SET_LABELS.get(n.strip(), n.strip()) for n in m.group(1).split("+"))
    return f"{m.group(4)} 拟合于{sets}的已标注来电 {m.group(2)} 条与非报修请求例句 {m.group(3)} 条"


def calibration_summary(db: Session) -> str:
    """When and on what the confidence model in use was fitted, in a curator's words."""
    encoder = live_index.encoder()
    row = confidence.latest(db=db, encoder=encoder.name)
    model = fault_report.shipped(encoder)
    check = ""
    if model:
        fitted = fitted_on_zh(model.fitted_on)
        check = f"；另按出厂的“是否故障报修”判别降低非故障来电的置信度（{fitted}）"
    if row is None:
        return "出厂默认模型（尚未在本知识库上拟合，发布条目后自动拟合）" + check
    trigger = {"publish": "发布后", "verdicts": "坐席审核后", "manual": "手动", "init": "初始化"}
    # Agents see scores read against the cut (triage/diagnose.shown): the cut shows as 50 %.
    shown_cut = get_settings().no_match_threshold or diagnose.SHOWN_CUT
    cut = f"置信度 {percent(shown_cut)}（模型分 {percent(row.threshold)}"
    if model and model.no_match_cut == row.threshold and row.verdicts < MIN_VERDICTS_FOR_THRESHOLD:
        cut += f"，跨行业选定；满 {MIN_VERDICTS_FOR_THRESHOLD} 条审核结论后按真实来电重选"
    return (
        f"{local_stamp(row.fitted_at)} {trigger.get(row.trigger, '')}拟合，基于 "
        f"{row.kb_entries} 条已发布条目（{row.pseudo_calls} 条模拟来电）与 {row.verdicts} "
        f"条坐席审核结论；无匹配阈值 {cut}）" + check
    )


def _reason(reason: dict[str, Any] | None) -> dict[str, Any] | None:
    """The API's no-match reason with Chinese feature names."""
    if not reason:
        return None
    return {
        **reason,
        "held_back": [FEATURE_LABELS.get(k, k) for k in reason.get("held_back", {})],
        "pushed_up": [FEATURE_LABELS.get(k, k) for k in reason.get("pushed_up", {})],
    }


def compare(db: Session, text: str) -> dict[str, Any]:
    """Ranked candidates for text on the published KB and on the KB with drafts applied."""
    current = triage_text(text)
    index, draft_ids, build_ms = draft_index(db)
    started = time.perf_counter()
    drafted = triage_text(text, index=index)
    draft_ms = (time.perf_counter() - started) * 1000
    before = {c["kb_id"]: c["rank"] for c in _ranked(current)}
    after = _ranked(drafted)
    for c in after:
        c["was"] = before.get(c["kb_id"])
        c["is_draft"] = c["kb_id"] in draft_ids
    return {
        "text": text,
        "fields": {k: v for k, v in current.fields.items() if v},
        "current": {
            "no_match": current.diagnosis["no_match"],
            "ranked": _ranked(current),
            "ms": current.latency_ms,
            "confidence": current.diagnosis["confidence"],
            "threshold": current.diagnosis["threshold"],
            "reason": _reason(current.diagnosis.get("no_match_reason")),
            "calibration": calibration_summary(db),
        },
        "draft": {
            "no_match": drafted.diagnosis["no_match"],
            "ranked": after,
            "ms": round(draft_ms, 1),
            "build_ms": round(build_ms, 1),
            "drafts": len(draft_ids),
        },
    }
