"""The labelled triage sets: each a KB and calls about it (see eval/triage_swap.py for which
were tuned on and which never were)."""

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
SETS = {
    "ours": (
        DATA.parent.parent / "knowledge_base" / "demo" / "kb.jsonl",
        DATA / "triage_utterances.jsonl",
    ),
    "energy": (DATA / "energy" / "kb.jsonl", DATA / "energy" / "calls.jsonl"),
    "hvac": (DATA / "hvac" / "kb.jsonl", DATA / "hvac" / "calls.jsonl"),
    "kitchen": (DATA / "kitchen" / "kb.jsonl", DATA / "kitchen" / "calls.jsonl"),
    "elevator": (DATA / "elevator" / "kb.jsonl", DATA / "elevator" / "calls.jsonl"),
    "medical": (DATA / "medical" / "kb.jsonl", DATA / "medical" / "calls.jsonl"),
    "security": (DATA / "security" / "kb.jsonl", DATA / "security" / "calls.jsonl"),
    "office": (DATA / "office" / "kb.jsonl", DATA / "office" / "calls.jsonl"),
    "homekitchen": (DATA / "homekitchen" / "kb.jsonl", DATA / "homekitchen" / "calls.jsonl"),
    "wellness": (DATA / "wellness" / "kb.jsonl", DATA / "wellness" / "calls.jsonl"),
    "industrial": (DATA / "industrial" / "kb.jsonl", DATA / "industrial" / "calls.jsonl"),
    "broadband": (DATA / "broadband" / "kb.jsonl", DATA / "broadband" / "calls.jsonl"),
}


def load(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
