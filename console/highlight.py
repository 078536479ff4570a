"""Marking the extracted entities in what the caller said."""

import html
import re
from typing import Any

from markupsafe import Markup

from triage.rules import TriageRules

# Field → CSS class suffix; each kind of entity gets its own colour.
ENTITY_FIELDS = ("product_type", "model", "firmware", "fault_code", "phone", "address")


def entity_terms(fields: dict[str, Any], rules: TriageRules) -> dict[str, str]:
    """Surface words to mark → the field they were extracted into.

    The product is stored canonically (智能门锁) but callers say 门锁 or 指纹锁, so every
    synonym of the extracted product counts.
    """
    terms: dict[str, str] = {}
    for name in ENTITY_FIELDS:
        value = fields.get(name)
        if value in (None, ""):
            continue
        terms[str(value)] = name
        if name == "product_type":
            for word in rules.product_synonyms.get(str(value), []):
                terms.setdefault(word, name)
    return terms


def highlight(text: str, terms: dict[str, str], labels: dict[str, str]) -> Markup:
    """text, HTML-escaped, with every term wrapped in <mark class="ent ent-FIELD">."""
    if not terms or not text:
        return Markup(html.escape(text or ""))
    # Longest first so 智能门锁 wins over 门锁 at the same place.
    pattern = re.compile(
        "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE
    )
    out, pos = [], 0
    for m in pattern.finditer(text):
        field = terms.get(m.group(0)) or next(
            (f for t, f in terms.items() if t.lower() == m.group(0).lower()), "model"
        )
        out.append(html.escape(text[pos : m.start()]))
        label = html.escape(labels.get(field, field))
        out.append(
            f'<mark class="ent ent-{field}" title="{label}">{html.escape(m.group(0))}</mark>'
        )
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return Markup("".join(out))
