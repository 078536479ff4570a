"""Triage's table: the confidence models fitted on the KB (newest one per encoder applies)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JsonType, UTCDateTime


class TriageCalibration(Base):
    """One fit of the diagnosis confidence model; rows are only ever added."""

    __tablename__ = "triage_calibrations"
    __table_args__ = (Index("ix_triage_calibrations_encoder", "encoder", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encoder: Mapped[str] = mapped_column(String(200))
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trigger: Mapped[str] = mapped_column(String(32))  # publish | verdicts | manual | init
    # What the fit saw: published entries (count and index_seq sum) and agents' verdicts.
    kb_entries: Mapped[int] = mapped_column(Integer)
    kb_checksum: Mapped[int] = mapped_column(Integer)
    pseudo_calls: Mapped[int] = mapped_column(Integer)
    verdicts: Mapped[int] = mapped_column(Integer)
    weights: Mapped[dict[str, float]] = mapped_column(JsonType)
    bias: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)
    report: Mapped[dict[str, Any]] = mapped_column(JsonType)
