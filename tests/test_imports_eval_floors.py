"""The labelled import sets stay above the floors (a regression guard; numbers in
`hotline eval imports`)."""

import json
from pathlib import Path

import pytest

from eval.imports_eval import FLOOR, chats, sheets
from eval.recurrence_eval import evaluate
from tests.conftest import DEMO_KB, configure, fresh_database


@pytest.fixture(scope="module", autouse=True)
def workspace(tmp_path_factory: pytest.TempPathFactory) -> None:
    from core.db import session_scope
    from knowledge_base import service as kb

    tmp: Path = tmp_path_factory.mktemp("imports-eval")
    configure(tmp / "data", fresh_database("sqlite", tmp))
    with session_scope() as db:
        kb.import_entries(db=db, data=DEMO_KB.read_bytes(), fmt="jsonl", actor="t", publish=True)


@pytest.mark.parametrize("labels", ["sheet_labels.jsonl", "sheet_handwritten_labels.jsonl"])
def test_sheet_field_floors(labels: str) -> None:
    got = sheets(labels)
    assert got["tickets_made"] == got["labelled_tickets"] and got["unexpected_tickets"] == 0
    assert min(got["field_accuracy"].values()) >= FLOOR, got["field_accuracy"]


@pytest.mark.parametrize("labels", ["chat_labels.jsonl", "chat_handwritten_labels.jsonl"])
def test_chat_detection_and_field_floors(labels: str) -> None:
    got = chats(labels)
    assert got["precision"] >= FLOOR and got["recall"] >= FLOOR, got
    floor = FLOOR if got["labelled_requests"] >= 20 else 0.8  # one miss in 7 is 86 %
    assert min(got["field_accuracy"].values()) >= floor, got["field_accuracy"]


def test_prediction_beats_the_model_only_rule() -> None:
    got = evaluate()  # the check seed, at the configured gate
    assert got["detection"]["recall"] >= FLOOR
    assert got["detection"]["precision"] > got["baseline_model_only"]["precision"]
    # The probability gate buys precision for little recall…
    gated = got["detection_gated"]
    assert gated["precision"] > got["detection"]["precision"] + 0.3, got
    assert gated["recall"] >= FLOOR - 0.05, got
    # …because the learned probability beats both the fleet rate and the Beta-prior estimate.
    prob = got["probability"]
    for baseline in ("fleet_rate", "beta_prior"):
        assert prob["learned"]["brier"] < prob[baseline]["brier"], prob
        assert prob["learned"]["log_loss"] < prob[baseline]["log_loss"], prob
    assert prob["learned"]["auc"] > 0.65, prob


def test_the_tuning_set_is_scored_without_the_untuned_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from eval import imports_eval, workspace

    # An untuned set that fails loudly if anything reads it.
    (tmp_path / "labels.jsonl").write_text("not json\n", encoding="utf-8")
    monkeypatch.setattr(imports_eval, "REAL", tmp_path)
    monkeypatch.setattr(workspace, "demo_workspace", lambda: None)  # the module's KB stays
    assert imports_eval.main(("wechat_tune",)) == 0
    out = capsys.readouterr().out
    assert imports_eval.UNTUNED not in out and "| wechat_tune" in out
    assert "detection recall" in out and "diagnosis top-1" in out


def test_misses_are_shown_for_tuning_sets_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from eval import imports_eval, workspace

    untuned = tmp_path / "untuned"
    untuned.mkdir()
    (untuned / "labels.jsonl").write_text("not json\n", encoding="utf-8")
    monkeypatch.setattr(imports_eval, "REAL", untuned)
    monkeypatch.setattr(workspace, "demo_workspace", lambda: None)
    assert imports_eval.misses_report((imports_eval.UNTUNED,)) == 2
    assert imports_eval.misses_report(("wechat_tune", imports_eval.UNTUNED)) == 2
    assert imports_eval.misses_report(()) == 2
    assert "tuning sets only" in capsys.readouterr().out

    # A tuning set's phone miss is printed with the message it was read from.
    tuning = tmp_path / "tuning"
    tuning.mkdir()
    (tuning / "chat.txt").write_text(
        "2026-03-02 09:00:00 王女士\n我家洗衣机不脱水，显示E21，电话13800001111\n",
        encoding="utf-8",
    )
    label = {
        "file": "chat.txt",
        "request": 1,
        "first_line": 2,
        "lines": [2],
        "kind": "repair",
        "fields": {"phone": "13900002222", "phones": ["13900002222"]},
    }
    (tuning / "labels.jsonl").write_text(json.dumps(label) + "\n", encoding="utf-8")
    monkeypatch.setitem(imports_eval.TUNING, "wechat_tune", tuning)
    assert imports_eval.misses_report(("wechat_tune",)) == 0
    out = capsys.readouterr().out
    assert "== wechat_tune: 1 misses" in out
    assert "want 13900002222" in out and "got 13800001111" in out
    assert "王女士: 我家洗衣机不脱水" in out
