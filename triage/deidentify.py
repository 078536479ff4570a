"""Call texts and ticket fields without who the caller is: for labelled data and evaluation.

Phones are found with the same extractor as triage (every way people write them: spaced,
full-width, spoken digits) and masked in place (138****5678); the address triage would pick
keeps its district and road (望京街***); the caller's name its surname (王**). A field named
after contact data is masked the same way wherever it appears.
"""

import re
import unicodedata
from typing import Any

from core.pii import mask_address, mask_name, mask_phone
from triage import phones
from triage.entities import find_address, find_name

PHONE_FIELDS = ("phone", "caller", "callee", "contact_phone")
ADDRESS_FIELDS = ("address",)
NAME_FIELDS = ("customer_name", "contact", "name")


def _loose(value: str) -> re.Pattern[str]:
    """value as written with any spaces between its characters (ASR and callers add them)."""
    return re.compile(r"\s*".join(re.escape(c) for c in value if not c.isspace()))


def deidentify_text(text: str | None) -> str | None:
    """text with every phone number, the caller's address and name masked."""
    if not text:
        return text
    # Zero-width characters inside a number would hide it from the extractor.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    out = []
    last = 0
    for found in phones.find(text):  # positions of ascii_digits(text) are text's own
        out += [text[last : found.start], mask_phone(found.number) or ""]
        last = found.end
    text = "".join(out) + text[last:]
    address = find_address(text)
    if address:
        text = _loose(address).sub(mask_address(address) or "", text)
    name = find_name(text)
    if name:
        text = _loose(name).sub(mask_name(name) or "", text)
    return text


def deidentify_fields(fields: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of ticket fields with contact data masked (phones, address, names)."""
    if not fields:
        return fields
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "phones" and isinstance(value, list):
            out[key] = [mask_phone(v) if isinstance(v, str) else v for v in value]
        elif isinstance(value, str) and key in PHONE_FIELDS:
            out[key] = mask_phone(value)
        elif isinstance(value, str) and key in ADDRESS_FIELDS:
            out[key] = mask_address(value)
        elif isinstance(value, str) and key in NAME_FIELDS:
            out[key] = mask_name(value)
        elif isinstance(value, str):
            out[key] = deidentify_text(value)
        else:
            out[key] = value
    return out
