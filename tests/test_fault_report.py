"""Whether a call sounds like a fault report: the shipped model lowers the confidence of calls
that are no fault (a quote, a subsidy, a cosmetic scratch on a machine that works) and leaves
fault reports alone, on any KB."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import Service

FAULT = "空调开了半天不制冷，外机风扇也不转，显示E1"
NOT_A_FAULT = "我想问一下你们空调以旧换新有没有补贴，要准备什么材料，怎么申请"


def _analyse(text: str):  # type: ignore[no-untyped-def]
    from knowledge_base import live_index
    from triage.service import analyse

    return analyse(text, live_index.get_index())


def test_a_call_that_is_no_fault_report_loses_confidence_and_a_fault_does_not(
    service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from core.settings import get_settings
    from triage.diagnose import contributions
    from triage.fault_report import PENALTY
    from triage.service import triage_text

    fault, request = _analyse(FAULT), _analyse(NOT_A_FAULT)
    assert fault.not_a_fault_report == 0.0
    assert request.not_a_fault_report < -0.5
    # Every candidate carries the penalty, and explanations name it.
    assert {f[PENALTY] for f in request.features} == {request.not_a_fault_report}
    from triage import confidence

    cal = confidence.active(get_settings().embedding_model)
    assert contributions(cal, request.features[0])[PENALTY] == pytest.approx(
        request.not_a_fault_report, abs=1e-3
    )
    with_check = triage_text(NOT_A_FAULT).diagnosis["confidence"]
    fault_with = triage_text(FAULT).diagnosis

    # The same calls with the check turned off (no model file).
    monkeypatch.setenv("HOTLINE_FAULT_REPORT_FILE", str(tmp_path / "none.json"))
    get_settings.cache_clear()
    assert _analyse(NOT_A_FAULT).not_a_fault_report == 0.0
    assert triage_text(NOT_A_FAULT).diagnosis["confidence"] > with_check
    fault_without = triage_text(FAULT).diagnosis
    assert fault_without["kb_id"] == fault_with["kb_id"]
    assert fault_without["confidence"] == fault_with["confidence"]


# What an agent types or a caller says in one breath: plain fault reports about the demo KB's
# products, as short as calls get.
SHORT_FAULTS = ("空调不制冷", "洗衣机不脱水", "门锁指纹识别不了", "热水器不出热水", "冰箱不制冷了")


@pytest.mark.parametrize("text", SHORT_FAULTS)
def test_a_short_plain_fault_report_is_not_taken_for_a_request(service: Service, text: str) -> None:
    """A check fitted on five more trades (stop 17) took up to 4 log-odds off these (their
    authors wrote out-of-KB faults as short statements): a refit must not learn that short
    means "no fault"."""
    assert _analyse(text).not_a_fault_report > -1.0


def test_the_model_applies_only_to_its_encoder_and_a_broken_file_turns_it_off(
    tmp_path: Path,
) -> None:
    from triage.fault_report import SIMILARITY_SCALE, inputs, load, size

    good = tmp_path / "fr.json"
    # Two-dimensional vectors: the model reads 8 numbers (the whole call; what leaving out the
    # "still works" clauses takes away; what the complaint says beyond the nearest KB vector;
    # how close that vector is, and how much closer than the second candidate's).
    assert size(2) == 8
    w = [0.0] * 8
    w[0] = 2.0
    w[2] = -4.0
    good.write_text(
        json.dumps(
            {"encoders": {"enc": {"weights": w, "bias": -1.0, "strength": 0.5, "fitted_on": "x"}}}
        )
    )
    model = load(good, "enc", 2)
    assert model is not None and model.fitted_on == "x"
    one, zero, other = np.array([1.0, 0.0]), np.array([0.0, 0.0]), np.array([0.0, 1.0])
    # Sounds like a fault (score +1): no penalty; sounds like none (score -1): half of it.
    assert model.penalty(inputs(one, one, [one])) == 0.0
    assert model.penalty(inputs(zero, zero, [one])) == -0.5
    # The same words with a "still works" clause taken out of the complaint: the model reads
    # the difference (score 2 - 4 - 1 = -3).
    assert inputs(one, zero, [one])[:4].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert model.penalty(inputs(one, zero, [one])) == -1.5
    # How the complaint stands to the KB: an entry that says it (closeness 1, a lead of 1 over
    # the second candidate) or one that shares nothing of it.
    near = inputs(one, one, [one, other])
    assert near[4:6].tolist() == [0.0, 0.0]
    assert near[6:].tolist() == pytest.approx([SIMILARITY_SCALE, SIMILARITY_SCALE])
    far = inputs(one, one, [other, other])
    assert far[4:6].tolist() == [1.0, -1.0] and far[6:].tolist() == [0.0, 0.0]
    assert inputs(one, one, [])[6:].tolist() == [0.0, 0.0]  # an empty KB: nothing near
    assert load(good, "other-encoder", 2) is None
    assert load(good, "enc", 4) is None  # fitted on vectors of another size
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert load(broken, "enc", 2) is None
    assert load(tmp_path / "missing.json", "enc", 2) is None


def test_a_fault_the_kb_lacks_reads_further_from_the_kb_than_one_it_has(service: Service) -> None:
    """The check reads where the complaint stands to the KB: the same product, a fault the
    demo KB has (a lock whose fingerprint reader fails) against one it lacks."""
    from knowledge_base import live_index
    from triage.service import fault_report_inputs

    has, lacks = fault_report_inputs(
        ["门锁按指纹没反应，识别不了，密码可以开", "门锁外面那个把手的漆掉了一块，开关都正常"],
        live_index.get_index(),
    )
    assert has[-2] > lacks[-2]  # closer to its nearest KB vector


def test_the_knowledge_engineer_sees_what_the_check_was_fitted_on(service: Service) -> None:
    got = service.client.get(
        "/api/v1/triage/calibration", headers=service.headers("knowledge_engineer")
    )
    assert got.status_code == 200, got.text
    check = got.json()["fault_report"]
    assert check["file"] == "fault_report.json"
    assert "labelled calls" in check["fitted_on"] and check["strength"] > 0


def test_the_kb_page_says_what_the_check_was_fitted_on_in_chinese(service: Service) -> None:
    from core.auth import Role
    from tests.test_console import login, make_users

    make_users(("ke-fit", Role.knowledge_engineer))
    login(service.client, "ke-fit")
    page = service.client.get("/console/kb").text
    assert "的已标注来电" in page and "条与非报修请求例句" in page
    # A KB fit without 100 verdicts takes the cut chosen across trades, and says so, to the
    # decimal a cut that low needs (2.0 %, not 2 %; 0.4 % against it, not 0 %).
    assert "跨行业选定" in page and "条审核结论后按真实来电重选" in page
    from console.web import percent

    assert (percent(0.02), percent(0.004), percent(0.456)) == ("2.0%", "0.4%", "46%")
    from core.settings import get_settings

    shipped = json.loads(get_settings().fault_report_file.read_text())
    cut = shipped["encoders"][get_settings().embedding_model]["no_match_cut"]
    # Agents see scores read against the cut, where it shows as 50 %; the page says both.
    assert f"无匹配阈值 置信度 50%（模型分 {percent(cut)}" in page
    assert "labelled calls" not in page and "request examples" not in page
