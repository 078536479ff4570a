"""Severity as service companies write it (P1, 紧急, 一级, 1 …) mapped to Hotline's four levels.

Most Chinese service companies grade faults P0–P4, 紧急/高/中/低 or 一级–四级; a KB import must
take their sheet as it is. The highest grade of every scale is `critical`. A company whose
scale means something else maps its labels in `HOTLINE_KB_SEVERITY_MAP` (JSON, label → level),
which extends and overrides this table.
"""

from core.settings import get_settings

LEVELS = ("low", "medium", "high", "critical")
SCALE: dict[str, str] = {
    **dict.fromkeys(
        ("critical", "urgent", "p0", "p1", "紧急", "特急", "一级", "1级", "1"), "critical"
    ),
    **dict.fromkeys(("high", "p2", "高", "二级", "2级", "2", "严重", "重要"), "high"),
    **dict.fromkeys(("medium", "p3", "中", "三级", "3级", "3", "一般", "普通"), "medium"),
    **dict.fromkeys(("low", "p4", "低", "四级", "4级", "4", "轻微", "提示"), "low"),
}
ACCEPTED = "low/medium/high/critical, P0–P4, 紧急/高/中/低, 一级–四级 or 1–4"


def _key(label: str) -> str:
    return "".join(label.split()).lower()


def scale() -> dict[str, str]:
    """The label → level table in force (defaults plus HOTLINE_KB_SEVERITY_MAP)."""
    custom = get_settings().kb_severity_map
    if not custom:
        return SCALE
    return {**SCALE, **{_key(k): v for k, v in custom.items()}}


def to_level(value: object) -> str:
    """The level a customer's label stands for; ValueError naming the label otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"severity must be one of {ACCEPTED}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's 1 arrives as 1.0
    label = str(value)
    level = scale().get(_key(label))
    if level is None:
        raise ValueError(
            f"severity {label!r} is not a known level: use {ACCEPTED}, "
            "or map it in HOTLINE_KB_SEVERITY_MAP"
        )
    return level


def describe_map(labels: dict[str, str]) -> str:
    """'P1 → critical, P2 → high' for an import report."""
    return ", ".join(f"{k} → {v}" for k, v in sorted(labels.items()))
