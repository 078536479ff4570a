"""Helpers of the chat tests: chat exports written in a test, read as an import reads them."""

import json
from typing import Any

from intake import wechat_import
from intake.prefilled import triage_prefilled


def wecom(*records: tuple[str, str, int, str]) -> str:
    """A WeCom archive (JSONL) of (userid, display name, minute, text)."""
    return "\n".join(
        json.dumps(
            {"msgid": str(k), "action": "send", "from": uid, "sender_name": name,
             "roomid": "r1", "msgtime": 1772668800000 + minute * 60000, "msgtype": "text",
             "content": text},
            ensure_ascii=False,
        )
        for k, (uid, name, minute, text) in enumerate(records)
    )  # fmt: skip


def pc(*records: tuple[str, str, str]) -> str:
    """A PC text export of (time, display name, text)."""
    return "\n".join(f"2026-03-05 {t} {who}\n{text}\n" for t, who, text in records)


def read(export: str):  # type: ignore[no-untyped-def]
    """The conversation an export holds, read as an import reads it."""
    return wechat_import.read_chat(wechat_import.parse(export))


def fields_of(reading: Any, k: int) -> dict:
    """The prefilled fields of the reading's k-th request, as its ticket gets them."""
    draft = list(wechat_import.to_drafts(reading.requests, "chat.txt"))[k]
    return triage_prefilled(draft.text, draft.given, draft.fallback).fields
