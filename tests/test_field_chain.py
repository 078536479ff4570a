"""The dynamic field chain from the rules file."""

from pathlib import Path

import pytest

from core.settings import PACKAGE_ROOT
from triage.field_chain import evaluate
from triage.rules import RulesError, load_rules

RULES = load_rules(PACKAGE_ROOT / "triage" / "rules" / "triage_rules.yaml")


def names(req: list[dict]) -> set[str]:
    return {r["name"] for r in req}


def test_smart_lock_requires_firmware() -> None:
    req = evaluate(RULES, {"product_type": "智能门锁"})
    assert "firmware" in names(req)
    assert next(r for r in req if r["name"] == "firmware")["missing"] is True
    filled = evaluate(RULES, {"product_type": "智能门锁", "firmware": "2.3.1"})
    assert next(r for r in filled if r["name"] == "firmware")["missing"] is False


def test_no_network_requires_wifi_screenshot() -> None:
    assert "wifi_signal_screenshot" in names(evaluate(RULES, {}, "门锁无法联网了"))
    assert "wifi_signal_screenshot" not in names(evaluate(RULES, {}, "门锁指纹没反应"))


def test_chain_through_a_chosen_value() -> None:
    base = names(evaluate(RULES, {"product_type": "充电桩"}))
    assert "model" in base and "charging_gun_photo" not in base
    chained = names(evaluate(RULES, {"product_type": "充电桩", "model": "DC-60K"}))
    assert "charging_gun_photo" in chained


def test_other_products_do_not_require_firmware() -> None:
    assert "firmware" not in names(evaluate(RULES, {"product_type": "冰箱"}))


def test_rules_with_undeclared_field_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "fields: {}\nfield_chain:\n  - when: {field: a, present: true}\n    require: [x]\n"
    )
    with pytest.raises(RulesError, match="undeclared"):
        load_rules(bad)
