"""A call is matched on what the caller says is wrong, not on what they say still works."""

from triage.complaint import without_normal


def test_clauses_that_report_normal_operation_are_left_out() -> None:
    cut = without_normal("桩上面那块面板盖子裂了一道缝，现在充电都好好的，就是怕下雨往里渗水")
    assert "盖子裂了" in cut and "渗水" in cut
    assert "充电" not in cut
    assert "制热" not in without_normal("外机风扇声音很大 很大 但是制热挺好的 水温也够")
    assert "扫码" not in without_normal("卡刷上去它不认，手机扫码倒是没问题")


def test_a_fault_said_with_a_negation_or_nothing_else_is_kept_whole() -> None:
    # 不正常 is the fault itself, not reassurance.
    assert without_normal("充电不正常，老是断") == "充电不正常，老是断"
    # Nothing would remain: the caller's words are matched as they are.
    assert without_normal("都正常") == "都正常"
    # A clause without a normal-operation ending stays, even if it says 正常 in the middle.
    text = "正常充电的时候突然跳闸了"
    assert without_normal(text) == text


def test_a_version_number_is_not_cut_into_clauses() -> None:
    cut = without_normal("固件2.1.3以后预约充电不启动，手动充电倒是正常")
    assert cut == "固件2.1.3以后预约充电不启动"
