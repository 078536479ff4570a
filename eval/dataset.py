"""The labelled utterance set and its fixed dev/test split."""

import hashlib
import json
from pathlib import Path
from typing import Any

DEFAULT = Path(__file__).resolve().parent / "data" / "triage_utterances.jsonl"
DEV_SHARE = 0.35  # fraction used to fit the confidence model; the rest is held out


def split_of(item_id: str) -> str:
    """'dev' or 'test', stable per utterance id."""
    h = int(hashlib.sha1(item_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "dev" if h < DEV_SHARE else "test"


def load(path: Path | None = None, split: str = "all") -> list[dict[str, Any]]:
    """Labelled utterances of a split ('dev', 'test' or 'all')."""
    items = [
        json.loads(line)
        for line in (path or DEFAULT).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    if split == "all":
        return items
    return [it for it in items if split_of(it["id"]) == split]
