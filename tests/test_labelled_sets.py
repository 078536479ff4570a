"""The labelled triage sets `hotline eval triage --swap` measures: each one must stay
measurable (a broken label or a severity the importer refuses would silently drop a set or
stop the evaluation), and each independent author's own validator must pass."""

import subprocess
import sys

import pytest

from eval.triage_sets import SETS, load
from knowledge_base import severity


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_label_names_an_entry_of_its_kb_and_every_severity_imports(name: str) -> None:
    kb_file, calls_file = SETS[name]
    entries = load(kb_file)
    ids = {e["id"] for e in entries}
    assert len(ids) == len(entries), "duplicate KB ids"
    calls = load(calls_file)
    unknown = {c["expected_kb_id"] for c in calls} - ids - {None}
    assert not unknown, f"labels naming no entry: {sorted(unknown)[:5]}"
    assert any(c["expected_kb_id"] is None for c in calls), "no out-of-KB call to measure"
    for e in entries:
        assert severity.to_level(e["severity"]) in severity.LEVELS


@pytest.mark.parametrize(
    "name", sorted(n for n, (kb, _) in SETS.items() if (kb.parent / "check.py").exists())
)
def test_the_authors_validator_passes(name: str) -> None:
    folder = SETS[name][0].parent
    done = subprocess.run(
        [sys.executable, "check.py"], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
