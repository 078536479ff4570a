"""Phone numbers as written in China: every form normalised, several kept, corrections taken."""

import pytest

from triage import phones

CASES = [
    ("电话138 1234 5678", ["13812345678"]),
    ("138-1234-5678", ["13812345678"]),
    ("+86 13812345678", ["13812345678"]),
    ("0086 138 1234 5678", ["13812345678"]),
    ("１３８１２３４５６７８", ["13812345678"]),
    ("手机：幺三八 一二三四 五六七八", ["13812345678"]),
    ("0571-8765 4321", ["057187654321"]),
    ("(010)87654321-12", ["01087654321转12"]),
    ("0571-87654321 转 801", ["057187654321转801"]),
    ("+86 571 87654321", ["057187654321"]),
    ("0755-2345678", ["07552345678"]),
    ("400-820-8820", ["4008208820"]),
    ("0571-87654321 13812345678", ["057187654321", "13812345678"]),
    ("1381234567813912345678", ["13812345678", "13912345678"]),
    ("138 1234 5678 139 1234 5678", ["13812345678", "13912345678"]),
    ("13812345678.0", ["13812345678"]),
    ("座机87654321", ["87654321"]),
    ("电话13812345678，不对写错了，是13812345679", ["13812345679"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_numbers_as_written(text: str, expected: list[str]) -> None:
    assert phones.numbers(text) == expected


@pytest.mark.parametrize(
    "text", ["设备编号EL20260088", "2026-01-05 09:12", "11栋1单元889", "87654321"]
)
def test_not_phones(text: str) -> None:
    assert phones.numbers(text) == []


def test_main_is_the_mobile_and_canonical_reads_labels() -> None:
    assert phones.main(["057187654321", "13812345678"]) == "057187654321"
    assert phones.canonical("0571-8765-4321") == "057187654321"
    assert phones.canonical("无") is None


def test_triage_keeps_every_number(service) -> None:
    from triage.service import triage_text

    fields = triage_text("空调不制冷，座机0571-87654321，手机幺三八 一二三四 五六七八").fields
    assert fields["phone"] == "057187654321"
    assert fields["phones"] == ["057187654321", "13812345678"]


def test_sheet_cell_with_two_numbers() -> None:
    from intake.excel_import import parse_phones

    assert parse_phones("0571-87654321 / 138 1234 5678") == (
        ["057187654321", "13812345678"],
        None,
    )
    numbers, warning = parse_phones("不详")
    assert numbers == [] and warning


def test_sheet_product_written_with_a_qualifier() -> None:
    from intake.prefilled import canonical

    assert canonical("product_type", "挂机空调", None) == "空调"
    assert canonical("product_type", "波轮洗衣机", None) == "洗衣机"
    assert canonical("product_type", "门锁", None) == "智能门锁"


def test_a_number_given_instead_comes_first_and_the_old_one_stays() -> None:
    said = "座机0571-88217766；工程部电话换人了，打这个13800001111"
    assert phones.numbers(said) == ["13800001111", "057188217766"]
    # A correction drops the wrong number; a replacement keeps both.
    assert phones.numbers("电话13812345678；刚才打错了，是13812345679") == ["13812345679"]


def test_the_company_line_is_not_the_number_to_call() -> None:
    assert phones.numbers("客服电话400-820-8820，我的电话13812345678") == [
        "13812345678",
        "4008208820",
    ]
    assert phones.numbers("打400-820-8820") == ["4008208820"]


def test_numbers_read_out_partly_or_with_commas() -> None:
    assert phones.numbers("138 1234 五六七八") == ["13812345678"]
    assert phones.numbers("幺三八，一二三四，五六七八") == ["13812345678"]
    assert phones.numbers("零五七一 八八二一 七七六六转八零二") == ["057188217766转802"]
    assert phones.numbers("一楼漏水，二楼三楼也漏") == []
    # Written numbers a comma apart stay two numbers.
    assert phones.numbers("13812345678，13987654321") == ["13812345678", "13987654321"]


def test_wrong_number_named_after_the_right_one_and_extensions_after_transfer() -> None:
    said = "15250176639；15250176693；刚才那个打错了，是这个"
    assert phones.numbers(said) == ["15250176693"]
    assert phones.numbers("电话0512-65481127转分机8") == ["051265481127转8"]
    # 晚上打这个 says which number is for when, not that the next one replaces it.
    said = "151 9008 2236 晚上打这个，白天打单位 0512-67706012-305"
    assert phones.numbers(said) == ["15190082236", "051267706012转305"]


def test_numbers_labelled_as_something_else_are_no_phones() -> None:
    for text in ("订单号13812345678", "微信号：13812345678", "wxid_13812345678", "SN:13812345678"):
        assert phones.numbers(text) == [], text
    assert phones.numbers("快递单号 1381234567 电话13912345678") == ["13912345678"]
    # 微信同号 says the phone is the WeChat too.
    assert phones.numbers("13812345678（微信同号）") == ["13812345678"]
    assert phones.numbers("微信同号13812345678") == ["13812345678"]


def test_a_mobile_broken_over_two_messages() -> None:
    assert phones.numbers("电话138 1234；5678") == ["13812345678"]
    assert phones.numbers("电话1381234\n5678 王女士") == ["13812345678"]
    # Two whole numbers, or a number and a flat, stay as they are.
    assert phones.numbers("13812345678；13987654321") == ["13812345678", "13987654321"]
    assert phones.numbers("13栋；1302室空调坏了") == []


def test_a_mobile_before_a_building_number(service) -> None:
    from triage.service import triage_text

    fields = triage_text("派单：王女士 空调不制冷 13912345678 5幢302").fields
    assert fields["phone"] == "13912345678"
    assert triage_text("空调不制冷 0571 8765 4321").fields["phone"] == "057187654321"


def test_told_which_number_to_call() -> None:
    # Told outright: that number is the one to call, the other stays.
    said = "电话:028 8398 1175；她孙女的电话：17708123349，说婆婆耳朵不好，打这个"
    assert phones.numbers(said) == ["17708123349", "02883981175"]
    said = "付大哥电话17381926650；他跑车的经常接不到电话 叫打他老婆的 一八二 八零二六 七七三一"
    assert phones.numbers(said) == ["18280267731", "17381926650"]
    assert phones.numbers("店电话028-83355602；黄老板电话 139 0801 6274 直接打老板")[0] == (
        "13908016274"
    )
    # For a time or a case only, the first number stays the one to call.
    for said in (
        "座机0512-67251183 没人接就打老板手机13809061275",
        "电话0512-67251183，家里没人时打他手机 13809061275",
        "0512-67251183 白天打我老公的 13809061275",
    ):
        assert phones.numbers(said) == ["051267251183", "13809061275"], said


def test_seven_read_as_guai() -> None:
    assert phones.numbers("幺三五 幺八二零 洞拐四六") == ["13518200746"]


def test_a_mobile_given_as_its_front_and_back() -> None:
    said = "业主电话 前面是138 7120；后面是5533"
    assert phones.numbers(said) == ["13871205533"]
    assert phones.numbers("电话138 7120后四位5533") == ["13871205533"]


def test_what_replaces_a_number_and_what_does_not() -> None:
    # 以后打 after a time says when, not "from now on".
    said = "上午打办公室0731-84561234，下午五点以后打我手机15874561234"
    assert phones.numbers(said)[0] == "073184561234"
    # A maybe, a number to try, or "if it rings out, call me" replaces nothing.
    for said, first in (
        ("手机15874561234；他上午可能接不到，打不通就打他女儿 13974561234", "15874561234"),
        (
            "电话0731-84561234；上门打电话没人接；他女儿电话 13974561234，你打这个试试",
            "073184561234",
        ),
        ("电话15874561234，打不通打我 0731-84561234", "15874561234"),
    ):
        assert phones.numbers(said)[0] == first and len(phones.numbers(said)) == 2, said
    # Told to call another person: that one, said in the clause after.
    said = "电话15874561234；他说在上班，叫我联系他爱人，号码 139-7456-1234"
    assert phones.numbers(said) == ["13974561234", "15874561234"]
    # A changed number, in Mandarin or Cantonese.
    for said in (
        "电话15874561234；他换了号码，现在用这个 13974561234",
        "电话15874561234；佢换咗号码，而家用呢个 13974561234，旧嗰个唔用喇",
    ):
        assert phones.numbers(said)[0] == "13974561234", said


def test_a_correction_of_the_last_digits() -> None:
    assert phones.numbers("电话 158 7456 1243；不好意思，尾号改成1234，刚才抄错了") == [
        "15874561234"
    ]
    # 尾号是… read back is no correction.
    assert phones.numbers("电话15874561243，尾号是1243对吧") == ["15874561243"]


def test_cantonese_read_character_for_character() -> None:
    from triage.dialect import mandarin

    for said, read in (
        ("部冰箱唔凉，冇反应", "部冰箱不凉，没反应"),
        ("机器系X3，要联系物业，系统显示", "机器是X3，要联系物业，系统显示"),
        ("而家打佢老公", "现在打他老公"),
    ):
        assert mandarin(said) == read
        assert len(mandarin(said)) == len(said)


def test_an_extension_said_on_its_own_later() -> None:
    said = "电话 0731-8455 6677，是公司座机；有分机吗；分机 306"
    assert phones.numbers(said) == ["073184556677转306"]
