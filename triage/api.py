"""Triage without creating a ticket: the 'try a query' tool and the field-chain form helper."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import caller
from core.auth import Principal
from core.deps import DB
from core.errors import GUARDED, error_responses
from core.schemas import ApiModel
from core.settings import get_settings
from knowledge_base import live_index
from triage import fault_report, field_chain
from triage.models import TriageCalibration
from triage.result import TriageResult
from triage.rules import get_rules
from triage.service import triage_text

router = APIRouter(prefix="/api/v1/triage", tags=["triage"], responses=error_responses(*GUARDED))


class PreviewIn(BaseModel):
    """A caller sentence to try against the published KB."""

    text: str


class ChainIn(BaseModel):
    """Field values chosen so far (e.g. in the review form)."""

    fields: dict[str, Any]
    fault_text: str = ""


class CalibrationOut(BaseModel):
    """One fit of the diagnosis confidence model and what it was fitted on."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    encoder: str
    fitted_at: datetime
    trigger: str
    kb_entries: int
    pseudo_calls: int
    verdicts: int
    threshold: float
    seconds: float
    weights: dict[str, float]
    report: dict[str, Any]


class FaultReportOut(BaseModel):
    """The shipped check of whether a call sounds like a fault report at all."""

    file: str
    fitted_on: str
    strength: float


class CalibrationsOut(BaseModel):
    """The model in use (the newest fit; null: the shipped default), the fits before it, and
    the fault-report check applied on top (null: none for this encoder)."""

    current: CalibrationOut | None
    shipped_default: str
    history: list[CalibrationOut]
    fault_report: FaultReportOut | None = None


class ChainField(ApiModel):
    """A field the chain requires: its label and kind for the form, the rule that asked for
    it, its value so far and whether it is still missing."""

    name: str
    label: str
    kind: str
    rule: Any = None
    value: Any = None
    missing: bool


class ChainOut(ApiModel):
    """The fields required given the values chosen so far, and which are missing."""

    required_fields: list[ChainField]
    missing_fields: list[str]


@router.get("/calibration", response_model=CalibrationsOut)
def calibration_info(
    db: Session = DB,
    _: Principal = Depends(caller),
) -> CalibrationsOut:
    """When the diagnosis confidence was last fitted, on how many entries, pseudo-calls and
    agent verdicts, and with which no-match threshold."""
    settings = get_settings()
    rows = db.scalars(
        select(TriageCalibration)
        .where(TriageCalibration.encoder == settings.embedding_model)
        .order_by(TriageCalibration.id.desc())
        .limit(20)
    ).all()
    history = [CalibrationOut.model_validate(r) for r in rows]
    model = fault_report.shipped(live_index.encoder())
    return CalibrationsOut(
        current=history[0] if history else None,
        shipped_default=str(settings.calibration_file.name),
        history=history[1:],
        fault_report=FaultReportOut(
            file=settings.fault_report_file.name,
            fitted_on=model.fitted_on,
            strength=model.strength,
        )
        if model
        else None,
    )


@router.post("/preview", response_model=TriageResult)
def preview(
    body: PreviewIn,
    _: Principal = Depends(caller),
) -> TriageResult:
    """What triage would make of text; creates nothing."""
    return triage_text(body.text)


@router.post("/field-chain", response_model=ChainOut)
def chain(
    body: ChainIn,
    _: Principal = Depends(caller),
) -> dict:
    """The fields required given the values chosen so far."""
    required = field_chain.evaluate(get_rules(), body.fields, body.fault_text)
    return {
        "required_fields": required,
        "missing_fields": [r["name"] for r in required if r["missing"]],
    }
