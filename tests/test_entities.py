"""Entity extraction from normalised text."""

from triage.entities import Vocabulary, extract

VOCAB = Vocabulary.build(
    [
        {"product_type": "智能门锁", "models": ["X3", "X5"], "fault_code": "E04"},
        {"product_type": "充电桩", "models": ["EVC-11K", "DC-60K"], "fault_code": "ER-21"},
    ],
    {"门锁": "智能门锁", "指纹锁": "智能门锁", "充电桩": "充电桩"},
)


def test_lock_call() -> None:
    got = extract(
        "那个我家门锁按指纹没反应了,型号X3,固件好像是2.3.1,电话13812345678,"
        "地址是杭州市西湖区文三路100号3栋502,我姓王,王先生",
        VOCAB,
    )
    assert got["product_type"] == "智能门锁"
    assert got["model"] == "X3"
    assert got["firmware"] == "2.3.1"
    assert got["phone"] == "13812345678"
    assert got["address"] == "杭州市西湖区文三路100号3栋502"
    assert got["customer_name"] == "王先生"
    assert got["fault_code"] is None


def test_code_and_model_not_confused() -> None:
    got = extract("充电桩DC-60K屏幕显示ER-21", VOCAB)
    assert got["model"] == "DC-60K"
    assert got["fault_code"] == "ER-21"
    assert got["product_type"] == "充电桩"


def test_unknown_code_needs_context() -> None:
    assert extract("门锁显示E17", VOCAB)["fault_code"] == "E17"
    assert extract("门锁A1栋", VOCAB)["fault_code"] is None


def test_quantity_is_not_a_firmware() -> None:
    assert extract("大概1.5米高的地方漏水", VOCAB)["firmware"] is None
    assert extract("版本V2.4", VOCAB)["firmware"] == "2.4"


def test_product_from_model_alone() -> None:
    assert extract("我的X5打不开了", VOCAB)["product_type"] == "智能门锁"


def test_nothing_said() -> None:
    got = extract("你好请问一下", VOCAB)
    assert all(v is None for v in got.values())
