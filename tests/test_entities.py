"""Entity extraction from normalised text."""

import pytest

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


def test_fault_codes_compare_without_dashes_and_zeros() -> None:
    vocab = Vocabulary.build(
        [
            {"product_type": "智能门锁", "models": ["X3"], "fault_code": "E05"},
            {"product_type": "空调", "models": [], "fault_code": "E5"},
            {"product_type": "充电桩", "models": ["DC-60K"], "fault_code": "ER-51"},
        ],
        {"门锁": "智能门锁", "空调": "空调"},
    )
    assert extract("门锁报错E5", vocab)["fault_code"] == "E05"  # the lock's spelling
    assert extract("空调显示E05", vocab)["fault_code"] == "E5"  # the AC's spelling
    assert extract("直流桩报ER51", vocab)["fault_code"] == "ER-51"


def test_model_beats_one_character_product_word() -> None:
    vocab = Vocabulary.build(
        [{"product_type": "充电桩", "models": ["EVC-7K"]}, {"product_type": "智能门锁"}],
        {"锁": "智能门锁", "门锁": "智能门锁"},
    )
    assert extract("枪头插上去锁不住,EVC-7K", vocab)["product_type"] == "充电桩"
    assert extract("门锁锁不住,EVC-7K", vocab)["product_type"] == "智能门锁"


def test_run_count_and_hardware_revision() -> None:
    got = extract("电梯跑了13000多次没保养了,硬件3.2版本", VOCAB)
    assert got["run_count"] == "13000"
    assert got["firmware"] is None
    assert extract("小区有300户", VOCAB)["run_count"] is None


def test_bare_estate_name_is_not_an_address() -> None:
    assert extract("我们小区想新装一部电梯", VOCAB)["address"] is None
    assert extract("我住在阳光小区3栋502", VOCAB)["address"] == "阳光小区3栋502"


@pytest.mark.parametrize(
    ("said", "address"),
    [
        ("地址北京市朝阳区望京街 10号，电话13800138000", "北京市朝阳区望京街10号"),
        ("地址：上海市 浦东新区 世纪大道100号", "上海市浦东新区世纪大道100号"),
        ("地址在幸福小区 5栋 2单元 301", "幸福小区5栋2单元301"),
        ("地址望京街10号 明天来修吧", "望京街10号"),  # a space before other words still ends it
    ],
)
def test_spaces_inside_an_address_are_part_of_it(said: str, address: str) -> None:
    assert extract(said, VOCAB)["address"] == address


def test_misheard_versions_and_models_snap_to_what_the_kb_knows() -> None:
    vocab = Vocabulary.build(
        [
            {"product_type": "智能门锁", "models": ["X3"], "firmware": ["2.3.1"]},
            {"product_type": "智能门锁", "models": ["X5"], "firmware": ["3.0.2"]},
        ],
        {"门锁": "智能门锁"},
    )
    # 是二点三点一 heard as 十二点三点一; 艾克斯三 heard as X33.
    got = extract("门锁型号X33固件好像12.3.1", vocab)
    assert got["firmware"] == "2.3.1"
    assert got["model"] == "X3"
    # Versions and models the KB does not know stay as said.
    assert extract("门锁固件4.5.6", vocab)["firmware"] == "4.5.6"
    assert extract("门锁型号X7", vocab)["model"] == "X7"


def test_a_word_several_product_types_share_narrows_the_product_down() -> None:
    from triage.entities import product_families

    entries = [
        {"product_type": "户用储能电池柜"},
        {"product_type": "工商业储能柜"},
        {"product_type": "乘客电梯"},
        {"product_type": "载货电梯"},
        {"product_type": "燃气热水器"},
        {"product_type": "电热水器"},
    ]
    families = product_families(entries, {"热水器": "热水器", "储能": "工商业储能柜"})
    assert families["储能"] == {"户用储能电池柜", "工商业储能柜"}
    assert families["电梯"] == {"乘客电梯", "载货电梯"}
    # The rules' word for a type the KB splits in two names both.
    assert families["热水器"] == {"燃气热水器", "电热水器"}
    # A part only one type has names that type (product_words), and generic words nothing.
    assert "乘客" not in families and "设备" not in families
    # Said in a call, such a word leaves the product open for the diagnosis to settle.
    vocab = Vocabulary.build(entries, {})
    assert extract("家里的储能停电的时候不工作", vocab)["product_type"] is None


def test_the_front_of_a_long_product_name_is_understood_alone() -> None:
    from triage.entities import named_by_front

    # A new KB's long type names: callers say 中央空调, 空气能, 温控器, never the whole name.
    entries = [
        {"product_type": "中央空调多联机", "title": "多联机通讯故障", "symptoms": ["面板显示E1"]},
        {"product_type": "空气能热泵热水机", "title": "热泵高压保护", "symptoms": ["水不热"]},
        {"product_type": "智能温控面板", "title": "温控面板黑屏", "symptoms": ["屏幕不亮"]},
        {"product_type": "机房精密空调", "title": "精密空调漏水", "symptoms": ["机房地板有水"]},
        {"product_type": "水冷冷水机组", "title": "冷凝器结垢", "symptoms": ["机房里机组报E2"]},
    ]
    vocab = Vocabulary.build(entries, {})
    assert named_by_front("想约个中央空调清洗", vocab) == "中央空调多联机"
    assert named_by_front("空气能外机噪音很大", vocab) == "空气能热泵热水机"
    assert named_by_front("地暖温控器一直滴滴叫", vocab) == "智能温控面板"
    # A word the KB also uses of another type's faults names neither (机房: the chiller
    # stands in one too), and a part of any appliance (面板) names no type.
    assert named_by_front("机房里有股焦味", vocab) is None
    assert extract("面板上一直闪", vocab)["product_type"] is None


def test_a_tail_another_type_name_holds_is_no_name_of_one_type() -> None:
    # 充电桩 ends 交流充电桩 but also opens 充电桩云平台账户: it narrows, it does not name.
    entries = [{"product_type": "交流充电桩"}, {"product_type": "充电桩云平台账户"}]
    vocab = Vocabulary.build(entries, {})
    assert extract("充电桩扫码提示已被绑定", vocab)["product_type"] is None
    assert vocab.families["充电桩"] == {"交流充电桩", "充电桩云平台账户"}
    assert extract("我家交流充电桩充不进电", vocab)["product_type"] == "交流充电桩"


def test_every_type_a_call_names_is_kept_when_it_names_several() -> None:
    vocab = Vocabulary.build(
        [
            {"product_type": "光猫"},
            {"product_type": "入户光纤"},
            {"product_type": "智能马桶"},
            {"product_type": "智能马桶盖"},
        ],
        {},
    )
    both = extract("光猫红灯一直亮，墙上那根光纤被钉子钉断了", vocab)
    assert both["product_type"] == "光猫"  # the first said, until the diagnosis tells
    assert both["products"] == ["光猫", "入户光纤"]
    # A type's name inside another's said there is not a second type.
    assert "products" not in extract("智能马桶盖不加热了", vocab)
    assert "products" not in extract("光猫坏了，光猫的灯全灭", vocab)
