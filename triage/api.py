"""Triage without creating a ticket: the 'try a query' tool and the field-chain form helper."""

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from core.auth import Principal, Role, require_roles
from triage import field_chain
from triage.result import TriageResult
from triage.rules import get_rules
from triage.service import triage_text

router = APIRouter(prefix="/api/v1/triage", tags=["triage"])


class PreviewIn(BaseModel):
    """A caller sentence to try against the published KB."""

    text: str


class ChainIn(BaseModel):
    """Field values chosen so far (e.g. in the review form)."""

    fields: dict[str, Any]
    fault_text: str = ""


@router.post("/preview")
def preview(
    body: PreviewIn,
    _: Principal = Depends(require_roles(Role.agent, Role.knowledge_engineer, Role.supervisor)),
) -> TriageResult:
    """What triage would make of text; creates nothing."""
    return triage_text(body.text)


@router.post("/field-chain")
def chain(
    body: ChainIn,
    _: Principal = Depends(require_roles(Role.agent, Role.supervisor, Role.knowledge_engineer)),
) -> dict:
    """The fields required given the values chosen so far."""
    required = field_chain.evaluate(get_rules(), body.fields, body.fault_text)
    return {
        "required_fields": required,
        "missing_fields": [r["name"] for r in required if r["missing"]],
    }
