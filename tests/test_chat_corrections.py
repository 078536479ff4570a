"""Corrections and call-offs reach the request they are about: a corrected number replaces the
one it corrects (the second number too), however late and whoever says it; a withdrawn item of
a list makes no ticket."""

from tests.chat_support import fields_of as _fields
from tests.chat_support import read as _read
from tests.chat_support import wecom as _wecom
from triage import phones


def test_a_correction_of_the_second_number_replaces_that_one(service) -> None:  # type: ignore[no-untyped-def]
    said = "电话13900001111，我老婆的也可以 13900002222；刚才电话打错了，我老婆的是13900002233"
    assert phones.numbers(said) == ["13900001111", "13900002233"]
    reading = _read(
        _wecom(
            ("wmCust0101", "顾客-严志强", 0, "家里空调外机嗡嗡响，振得厉害"),
            ("wmCust0101", "顾客-严志强", 2, "电话13900001111，我老婆的也可以 13900002222"),
            ("wmCust0101", "顾客-严志强", 3, "地址 和平路8号 3幢201"),
            ("wmCust0101", "顾客-严志强", 9, "对了，刚才电话打错了，我老婆的是13900002233"),
        )
    )  # fmt: skip
    fields = _fields(reading, 0)
    assert fields["phone"] == "13900001111"  # the first number given stays the one to call
    assert set(fields["phones"]) == {"13900001111", "13900002233"}


def test_a_technician_corrects_the_car_owners_number_of_a_list_item(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u201", "派单-阿杰", 0,
             "今天的单：\n1. 滨湖花园地库充电桩 EVC-11K 充不进电 车主卢伟 139 0000 3344\n"
             "2. 长江路6号 3幢 洗衣机不排水 电话13700005566"),
            ("u202", "师傅-彭师傅", 2, "1我去"),
            ("u202", "师傅-彭师傅", 95, "@派单-阿杰 滨湖花园那个车主电话刚才打错了，是13900003345"),
        )
    )  # fmt: skip
    assert _fields(reading, 0)["phone"] == "13900003345"
    assert _fields(reading, 0)["phones"] == ["13900003345"]
    assert _fields(reading, 1)["phone"] == "13700005566"
