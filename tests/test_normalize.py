"""Text normalisation: script, width, spoken numbers, codes."""

import pytest

from triage.normalize import get_normalizer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("固件好像是二点三点一", "固件好像是2.3.1"),
        ("固件两点三点一", "固件2.3.1"),
        ("電話幺三八 一二三四 五六七八", "电话13812345678"),
        ("屏幕显示E零四", "屏幕显示E04"),
        ("型号X三的门锁", "型号X3的门锁"),
        ("型號愛克4-3,固件", "型号X3,固件"),  # how Whisper writes 艾克斯三
        ("绿灯一直亮著,打不著火,著名品牌", "绿灯一直亮着,打不着火,著名品牌"),
        ("我的电话是要38123456789", "我的电话是138123456789"),  # 幺 heard as 要
        ("我要三个", "我要三个"),
        ("空调显示e9然后漏水", "空调显示E9然后漏水"),
        ("文三路一百号三栋五零二室", "文三路100号3栋502室"),
        ("十二栋", "12栋"),
        ("ＡＢＣ１２３", "ABC123"),
        ("门锁按指紋沒反應", "门锁按指纹没反应"),
        ("我的电话是138-1234-5678", "我的电话是13812345678"),
        ("运行了一万二千次", "运行了12000次"),
    ],
)
def test_normalises(raw: str, expected: str) -> None:
    assert get_normalizer()(raw) == expected


def test_idempotent() -> None:
    n = get_normalizer()
    once = n("型号X三，固件二点三点一，电话幺三八一二三四五六七八")
    assert n(once) == once
