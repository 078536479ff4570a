"""The labelled held-out set stays above the product's accuracy floors (a regression guard).

Latency is not asserted here: speed belongs in `hotline eval triage`, not in a timed test.
"""

from pathlib import Path

import pytest

from eval import dataset
from eval.triage_eval import evaluate
from tests.conftest import configure, fresh_database


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from core.db import session_scope
    from knowledge_base import service as kb
    from tests.conftest import DEMO_KB

    tmp: Path = tmp_path_factory.mktemp("eval")
    url = fresh_database("sqlite", tmp)
    configure(tmp / "data", url)
    with session_scope() as db:
        kb.import_entries(db=db, data=DEMO_KB.read_bytes(), fmt="jsonl", actor="t", publish=True)
    return evaluate(dataset.load(split="test"))


def test_set_is_big_and_varied() -> None:
    items = dataset.load()
    assert len(items) >= 250
    assert sum(it["expected_kb_id"] is None for it in items) >= 30
    tags = {t for it in items for t in it["tags"]}
    assert {"paraphrase", "homophone", "spoken_numbers", "out_of_kb", "filler"} <= tags


def test_diagnosis_floors(metrics: dict) -> None:
    assert metrics["top1"] >= 0.85
    assert metrics["top3"] >= 0.95
    assert metrics["no_match_precision"] >= 0.80


def test_field_floors(metrics: dict) -> None:
    for field, accuracy in metrics["fields"].items():
        assert accuracy >= 0.90, field
