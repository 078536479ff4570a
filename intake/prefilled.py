"""Triage of a request whose source already names some fields (a sheet's columns, a chat
sender): triage reads the text, and the source's own values take precedence."""

import copy
from dataclasses import replace
from typing import Any

from core.errors import ApiError
from triage import field_chain
from triage.entities import code_key, model_key
from triage.result import TriageResult
from triage.rules import get_rules
from triage.service import triage_texts, validate_text

CACHE_SIZE = 5000  # distinct texts kept per import (bounded memory)
# Given values that help matching when said next to the fault (the words a caller would add).
HINT_PREFIX = {"product_type": "", "model": "型号", "fault_code": "故障码"}


Request = tuple[str, dict[str, Any], dict[str, Any] | None]  # text, given, fallback


def triage_prefilled(
    text: str,
    given: dict[str, Any],
    fallback: dict[str, Any] | None = None,
    cache: dict[str, TriageResult] | None = None,
) -> TriageResult:
    """Triage `text` with the given fields said alongside; given values win over extracted
    ones, spelled the way triage spells them when both name the same thing; fallback values
    (a chat sender's display name) fill only what triage did not find. A cache (one per
    import) reuses the triage of text already seen."""
    result = triage_prefilled_many([(text, given, fallback)], cache)[0]
    if isinstance(result, ApiError):
        raise result
    return result


def triage_prefilled_many(
    requests: list[Request], cache: dict[str, TriageResult] | None = None
) -> list[TriageResult | ApiError]:
    """triage_prefilled for several requests at once: the texts not in the cache are triaged
    together (one encoder call, see triage_texts). A text triage refuses (empty, too long)
    gives its ApiError in its place, so the other requests still go through."""
    saids = [_said(text, given) for text, given, _ in requests]
    found: dict[str, TriageResult | ApiError] = {}
    todo: list[str] = []
    for said in saids:
        if said in found:
            continue
        if cache is not None and said in cache:
            # Old sheets repeat the same product + fault wording thousands of times.
            found[said] = cache[said]
            continue
        try:
            validate_text(said)
        except ApiError as exc:
            found[said] = exc
            continue
        found[said] = {}
        todo.append(said)
    for said, result in zip(todo, triage_texts(todo) if todo else [], strict=True):
        found[said] = result
        if cache is not None:
            if len(cache) >= CACHE_SIZE:
                cache.clear()
            cache[said] = result
    out: list[TriageResult | ApiError] = []
    for (text, given, fallback), said in zip(requests, saids, strict=True):
        got = found[said]
        # A copy: the cached result (or the same text's, twice in a batch) stays untouched.
        out.append(
            got
            if isinstance(got, ApiError)
            else _complete(copy.deepcopy(got), text, given, fallback)
        )
    return out


def _said(text: str, given: dict[str, Any]) -> str:
    hint = " ".join(f"{HINT_PREFIX[k]}{given[k]}" for k in HINT_PREFIX if given.get(k))
    return f"{hint} {text}" if hint else text


def _complete(
    result: TriageResult, text: str, given: dict[str, Any], fallback: dict[str, Any] | None
) -> TriageResult:
    fields = dict(result.fields)
    for name, value in given.items():
        if isinstance(value, list):
            fields[name] = value  # phones: every number of a cell, already canonical
        elif value not in (None, ""):
            fields[name] = canonical(name, str(value), fields.get(name))
    for name, value in (fallback or {}).items():
        if fields.get(name) in (None, "") and value not in (None, ""):
            fields[name] = value
    diagnosis = result.diagnosis
    fault_text = " ".join(filter(None, [result.normalized_text, diagnosis.get("title")]))
    required = field_chain.evaluate(
        get_rules(), {**fields, "kb_id": diagnosis.get("kb_id")}, fault_text
    )
    return replace(
        result,
        text=text,
        fields=fields,
        required_fields=required,
        missing_fields=[r["name"] for r in required if r["missing"]],
    )


def canonical(name: str, given: str, extracted: str | None) -> str:
    """The given value in triage's spelling: 门锁 → 智能门锁, x-3 → X3, e5 → E05."""
    given = given.strip()
    if name == "product_type":
        synonyms = get_rules().synonym_to_product
        if given.lower() in synonyms:
            return synonyms[given.lower()]
        # Sheets qualify the product (挂机空调, 波轮洗衣机): the longest product word inside.
        inside = [w for w in synonyms if len(w) > 1 and w in given.lower()]
        return synonyms[max(inside, key=len)] if inside else given
    if name == "model":
        same = extracted is not None and model_key(extracted) == model_key(given)
        return extracted if same and extracted else given.upper()
    if name == "fault_code":
        same = extracted is not None and code_key(extracted) == code_key(given)
        return extracted if same and extracted else given.upper()
    return given
