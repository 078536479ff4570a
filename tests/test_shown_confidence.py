"""The confidence agents see is the score read against the no-match cut: the cut shows as 50 %,
an operator's threshold is on the same scale, and older tickets are rewritten to it."""

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.conftest import BACKENDS, Service, fresh_database

FAULT = "空调开了半天不制冷，外机风扇也不转，显示E1"
NOT_A_FAULT = "我想开一张上个月维修费的发票"
MIGRATION = (
    Path(__file__).resolve().parent.parent / "core/migrations/versions/conf1_shown_confidence.py"
)


def test_the_cut_shows_as_half_and_the_order_is_kept() -> None:
    from triage.diagnose import cut_for, shown

    for cut in (0.004, 0.02, 0.35):
        assert shown(cut, cut) == pytest.approx(0.5)
        scores = [cut / 10, cut / 2, cut, (cut + 1) / 2, 0.999]
        seen = [shown(p, cut) for p in scores]
        assert seen == sorted(seen) and len(set(seen)) == len(seen)
        # An operator's threshold on the shown scale maps back to a score cut, and forth.
        for t in (0.3, 0.5, 0.8):
            assert shown(cut_for(t, cut), cut) == pytest.approx(t)
    assert cut_for(None, 0.02) == 0.02
    assert (shown(0.0, 0.02), shown(1.0, 0.02)) == (0.0, 1.0)


def test_a_diagnosis_shows_at_least_half_and_a_no_match_less(service: Service) -> None:
    from triage.service import triage_text

    hit = triage_text(FAULT).diagnosis
    miss = triage_text(NOT_A_FAULT).diagnosis
    assert hit["threshold"] == miss["threshold"] == 0.5
    assert not hit["no_match"] and hit["confidence"] >= 0.5
    assert miss["no_match"] and miss["confidence"] < 0.5
    assert miss["no_match_reason"]["threshold"] == 0.5
    assert miss["no_match_reason"]["confidence"] == miss["confidence"]
    for d in (hit, miss):
        confs = [c["confidence"] for c in d["candidates"]]
        assert confs == sorted(confs, reverse=True) and confs[0] == d["confidence"]


def test_an_operator_threshold_is_on_the_scale_agents_see(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.settings import get_settings
    from triage.service import triage_text

    shown = triage_text(FAULT).diagnosis["confidence"]
    assert 0.5 <= shown < 1.0
    for threshold, no_match in (((shown + 1) / 2, True), (shown / 2, False)):
        monkeypatch.setenv("HOTLINE_NO_MATCH_THRESHOLD", str(threshold))
        get_settings.cache_clear()
        d = triage_text(FAULT).diagnosis
        assert d["no_match"] is no_match
        assert d["threshold"] == pytest.approx(threshold, abs=1e-4)
        assert d["confidence"] == pytest.approx(shown, abs=1e-4)
    get_settings.cache_clear()


def _migration():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("conf1", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("backend", BACKENDS)
def test_older_tickets_are_rewritten_to_the_shown_scale(backend: str, tmp_path: Path) -> None:
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from hotline.registry import import_models
    from tickets.models import Ticket

    import_models()
    engine = create_engine(fresh_database(backend, tmp_path))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    old = {
        "no_match": False,
        "confidence": 0.2,
        "threshold": 0.02,
        "kb_id": "AC-E1",
        "candidates": [
            {"kb_id": "AC-E1", "confidence": 0.2},
            {"kb_id": "AC-FAN", "confidence": 0.01},
        ],
    }
    missed = {
        "no_match": True,
        "confidence": 0.01,
        "threshold": 0.02,
        "kb_id": None,
        "candidates": [{"kb_id": "AC-E1", "confidence": 0.01}],
        "no_match_reason": {"best_kb_id": "AC-E1", "confidence": 0.01, "threshold": 0.02},
    }
    with Session(engine) as db:
        for i, d in enumerate((old, missed, {**old, "threshold": 0.5, "confidence": 0.7})):
            db.add(
                Ticket(
                    number=f"HL-M{i}",
                    status="triaged",
                    channel="api",
                    created_at=now,
                    updated_at=now,
                    description="x",
                    normalized_text="x",
                    fields={},
                    required_fields=[],
                    diagnosis=d,
                    kb_id=d["kb_id"],
                    confidence=d["confidence"],
                    no_match=d["no_match"],
                    sla_class="P3",
                )
            )
        db.commit()
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        _migration().upgrade()
    with Session(engine) as db:
        rows = {t.number: t for t in db.scalars(select(Ticket))}
    diag, nm, same = rows["HL-M0"], rows["HL-M1"], rows["HL-M2"]
    # 0.2 against a 2 % cut: odds 0.25 / 0.0204 → 92 %; its runner-up 0.01 → 33 %.
    assert diag.confidence == pytest.approx(0.9245, abs=1e-3)
    assert diag.diagnosis["confidence"] == diag.confidence and diag.diagnosis["threshold"] == 0.5
    assert [c["confidence"] for c in diag.diagnosis["candidates"]] == pytest.approx(
        [0.9245, 0.3311], abs=1e-3
    )
    assert nm.confidence < 0.5 and nm.diagnosis["no_match_reason"]["threshold"] == 0.5
    assert nm.diagnosis["no_match_reason"]["confidence"] == nm.confidence
    assert same.confidence == 0.7 and same.diagnosis["threshold"] == 0.5
    engine.dispose()
