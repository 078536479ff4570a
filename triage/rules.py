"""Loading the triage rules file (product synonyms, field chain, SLA classes)."""

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.settings import get_settings


class RulesError(ValueError):
    """The rules file is malformed; the message says where."""


@dataclass
class TriageRules:
    """Parsed triage_rules.yaml."""

    product_synonyms: dict[str, list[str]]
    fields: dict[str, dict[str, Any]]
    field_chain: list[dict[str, Any]]
    sla_classes: dict[str, str]
    non_fault_cues: list[str] = field(default_factory=list)
    out_of_scope_requests: list[str] = field(default_factory=list)
    english_words: dict[str, str] = field(default_factory=dict)
    synonym_to_product: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for product, words in self.product_synonyms.items():
            for w in [product, *words]:
                self.synonym_to_product[w.lower()] = product


def load_rules(path: Path) -> TriageRules:
    """Parse and check a rules file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"cannot read triage rules {path}: {exc}") from exc
    chain = raw.get("field_chain") or []
    fields = raw.get("fields") or {}
    for pos, rule in enumerate(chain, start=1):
        if not isinstance(rule, dict) or "when" not in rule or "require" not in rule:
            raise RulesError(f"{path}: field_chain rule {pos} needs 'when' and 'require'")
        unknown = [f for f in rule["require"] if f not in fields]
        if unknown:
            raise RulesError(f"{path}: field_chain rule {pos} requires undeclared fields {unknown}")
    return TriageRules(
        product_synonyms=raw.get("product_synonyms") or {},
        fields=fields,
        field_chain=chain,
        sla_classes=raw.get("sla_classes") or {},
        non_fault_cues=[str(c) for c in raw.get("non_fault_cues") or []],
        out_of_scope_requests=[str(c) for c in raw.get("out_of_scope_requests") or []],
        english_words={str(k).lower(): str(v) for k, v in (raw.get("english_words") or {}).items()},
    )


@lru_cache
def get_rules() -> TriageRules:
    """The configured rules, loaded once per process."""
    return load_rules(get_settings().triage_rules_file)
