"""The dynamic field chain: a value chosen for one field makes further fields required."""

from typing import Any

from triage.rules import TriageRules


def _holds(cond: dict[str, Any], fields: dict[str, Any], fault_text: str) -> bool:
    if "all" in cond:
        return all(_holds(c, fields, fault_text) for c in cond["all"])
    if "fault_mentions" in cond:
        lowered = fault_text.lower()
        return any(str(w).lower() in lowered for w in cond["fault_mentions"])
    if "kb_ids" in cond:
        return fields.get("kb_id") in cond["kb_ids"]
    value = fields.get(cond.get("field", ""))
    if "equals" in cond:
        return value == cond["equals"]
    if "in" in cond:
        return value in cond["in"]
    if cond.get("present"):
        return value not in (None, "", [])
    return False


def evaluate(
    rules: TriageRules, fields: dict[str, Any], fault_text: str = ""
) -> list[dict[str, Any]]:
    """Required fields given the values so far: name, label, kind, why, value, missing."""
    required: dict[str, dict[str, Any]] = {}
    for pos, rule in enumerate(rules.field_chain, start=1):
        if not _holds(rule["when"], fields, fault_text):
            continue
        for name in rule["require"]:
            if name in required:
                continue
            spec = rules.fields.get(name, {})
            required[name] = {
                "name": name,
                "label": spec.get("label", name),
                "kind": spec.get("kind", "text"),
                "rule": pos,
                "value": fields.get(name),
                "missing": fields.get(name) in (None, "", []),
            }
    return list(required.values())
