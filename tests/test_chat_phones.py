"""Which number a chat request is called on, read across the conversation: a number said to
be dead gives way to the next one, replies hours later find the request by its customer or
place, a relay passing a customer's request on adds to it, and one line per appliance is one
request each."""

from tests.chat_support import fields_of as _fields
from tests.chat_support import read as _read
from tests.chat_support import wecom as _wecom
from triage import phones


def test_a_number_said_to_be_dead_gives_way_to_the_next() -> None:
    for said in (
        "座机0571-86001234，座机打了没人接，手机13912345678",
        "13811112222 他白天上班接不到，打他儿子的 13912345678",
        "13811112222 这个号已经停机了 打13912345678",
        "联系孙经理 13811112222 孙经理今天休假 找值班的 13912345678",
    ):
        assert phones.numbers(said)[0] == "13912345678", said
        assert len(phones.numbers(said)) == 2, said  # the dead number is kept
    # Said as a condition, or only when: the first stays the one to call.
    for said in (
        "13811112222 没人接就打 13912345678",
        "13811112222 如果打不通的话 13912345678",
        "13811112222 白天打我老公的 13912345678",
    ):
        assert phones.numbers(said)[0] == "13811112222", said


def test_staff_asks_for_a_mobile_when_the_landline_rings_out(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u301", "滨湖店-店长阿军", 0,
             "两单：\n①文苑小区6栋302 许女士 热水器不加热 电话0551-63451234\n"
             "②梅园新村2栋101 陶大哥 洗衣机不排水 陶大哥电话18655550123"),
            ("u302", "售后-调度小罗", 20, "许女士座机打了没人接 有手机吗"),
            ("u301", "滨湖店-店长阿军", 25, "许女士手机15155550987"),
        )
    )  # fmt: skip
    washer = reading.requests[1]
    fields = _fields(reading, 0)
    assert fields["phone"] == "15155550987"
    assert set(fields["phones"]) == {"15155550987", "055163451234"}
    assert _fields(reading, 1)["phone"] == "18655550123"
    assert len(washer.messages) == 1


def test_a_technician_names_the_customer_hours_later(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u401", "调度-芳姐", 0,
             "【1】青山区和平大道88号2栋501 彭立新 空调不制冷 电话13300001112\n"
             "【2】钢都花园5栋 冰箱不冷 电话13300002223"),
            ("u402", "石师傅", 3, "1我去"),
            ("u402", "石师傅", 90, "芳姐 彭立新那个电话是空号啊"),
            ("u401", "调度-芳姐", 95, "看了下登记单 写错了一位 是13300001121"),
            ("u402", "石师傅", 110, "打通了 他老婆接的 以后打他老婆的 13600003334"),
        )
    )  # fmt: skip
    fields = _fields(reading, 0)
    assert fields["phone"] == "13600003334"
    assert set(fields["phones"]) == {"13600003334", "13300001121"}  # the wrong one dropped
    assert _fields(reading, 1)["phone"] == "13300002223"


def test_a_relay_passing_a_residents_request_on_adds_to_it(service) -> None:  # type: ignore[no-untyped-def]
    export = "\n".join(
        [
            "云景苑物业群的聊天记录",
            "",
            "—————  2026-05-10  —————",
            "物业-管家小何：各位业主好 本周三下午停水",
            "8栋周阿姨：管家 8栋2单元的电梯不动了 关在里面出不来",
            "物业-管家小何：@维保-罗工 8栋2单元电梯困人 请马上来 "
            "现场联系我 幺三七 幺二三四 五六七八",
            "15栋Amy：管家 我家净水器一直滴滴叫 屏幕显示E3",
            "15栋Amy：15栋1单元601 电话 186 5555 4321",
        ]
    )
    reading = _read(export)
    lift, purifier = reading.requests
    assert (lift.sender, purifier.sender) == ("8栋周阿姨", "15栋Amy")
    assert len(lift.messages) == 2  # the manager's passing-on is the same request
    assert _fields(reading, 0)["phone"] == "13712345678"  # the only number given for it
    assert _fields(reading, 1)["phone"] == "18655554321"


def test_one_line_per_appliance_then_replies_line_by_line(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0001", "易先生", 0,
             "一个是我妈家里的燃气热水器 用着用着就熄火\n一个是我自己的洗衣机 不排水"),
            ("u501", "客服-小欧", 2, "好的，麻烦提供两个地址和电话"),
            ("wmCust0001", "易先生", 6,
             "热水器在洪山区珞狮路12号3栋 打我妈电话 13500006667\n"
             "洗衣机在江汉区新华路8号 电话打我 18900001234"),
        )
    )  # fmt: skip
    heater, washer = reading.requests
    assert (heater.product_type, washer.product_type) == ("热水器", "洗衣机")
    assert (_fields(reading, 0)["phone"], _fields(reading, 1)["phone"]) == (
        "13500006667",
        "18900001234",
    )


def test_a_job_named_by_its_place(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u601", "派单-小吕", 0,
             "1）金桥路 翠湖湾3栋 柏女士 空调漏水 电话13711112222\n"
             "2）南湖大道 桂园小区9栋 老两口 热水器不出热水 座机027-86501234"),
            ("u602", "符师傅", 70, "桂园那家座机打不通"),
            ("u601", "派单-小吕", 80, "他们儿子打过来了 说打他的 幺八六 幺二三四 五六七八"),
        )
    )  # fmt: skip
    assert _fields(reading, 0)["phone"] == "13711112222"
    fields = _fields(reading, 1)
    assert fields["phone"] == "18612345678"  # the son's: the landline rang out
    assert set(fields["phones"]) == {"18612345678", "02786501234"}


def test_the_senders_number_hours_later_for_a_dead_one(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u701", "汉街店-小詹", 0, "顾客文先生 冰箱不制冷 电话0755-23456789"),
            ("u701", "汉街店-小詹", 200, "文先生那个座机已经停机了 顾客说打13855556666"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 1
    assert _fields(reading, 0)["phone"] == "13855556666"


def test_a_reply_names_the_request_by_a_word_only_it_has(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u801", "调度-阿梅", 0,
             "【单1】光明路8号 纸箱厂的直流桩充不进电 厂里电话0769-22334455"),
            ("u801", "调度-阿梅", 1, "【单2】东城花园3栋 雷先生 空调不制冷 电话13711223344"),
            ("u802", "范师傅", 40, "纸箱厂那边说对接人换了，打这个：仓库主管 189 1122 3344"),
        )
    )  # fmt: skip
    ac = reading.requests[1]
    assert _fields(reading, 0)["phone"] == "18911223344"
    assert set(_fields(reading, 0)["phones"]) == {"18911223344", "076922334455"}
    assert _fields(reading, 1)["phone"] == "13711223344"
    assert len(ac.messages) == 1


def test_a_relays_office_line_beside_its_own_number(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u901", "物业-鲁管家", 0, "3座电梯不动了 按钮都不亮 显示E02"),
            ("u901", "物业-鲁管家", 2, "现场联系我 159 2233 4455，管理处座机020-81234567"),
        )
    )  # fmt: skip
    # No customer's number given: the relay's own, told first, is the one to call.
    assert _fields(reading, 0)["phone"] == "15922334455"


def test_the_mobile_of_the_contact_given_before(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0002", "祁先生", 0,
             "家里热水器不出热水 显示E4 地址南湖路5号 电话0731-85556666 手机13755556666"),
            ("wmCust0002", "祁先生", 3, "还有洗衣机不排水，同一个地址，这个打我手机就行"),
        )
    )  # fmt: skip
    assert _fields(reading, 0)["phone"] == "073185556666"
    washer = _fields(reading, 1)
    assert (washer["phone"], washer["phones"]) == ("13755556666", ["13755556666"])


def test_a_follow_up_on_the_earlier_appliance_and_cantonese(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u111", "物业-小岑", 0, "2号楼1门的电梯停的时候跟楼层不平，显示E35"),
            ("u111", "物业-小岑", 3,
             "还有5号楼1102的业主甘女士，冰箱冷藏室一直积水，电话15522334455"),
            ("u111", "物业-小岑", 10, "电梯有事找物业前台，022-51234567"),
            ("wmCust0003", "阮淑贞", 30, "你好，我屋企个冰箱唔凉，冷藏室啲嘢都唔冻"),
            ("wmCust0003", "阮淑贞", 32, "电话13822334455"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 3
    cantonese = reading.requests[2]
    assert _fields(reading, 0)["phone"] == "02251234567"  # the lift's, said after the fridge
    assert _fields(reading, 1)["phone"] == "15522334455"
    assert cantonese.product_type == "冰箱"  # 唔凉: not cold, in Cantonese
    assert _fields(reading, 2)["phone"] == "13822334455"


def test_a_customers_list_gets_its_contact_and_a_greeting_is_no_notice(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0004", "总务-Lucy", 0,
             "各位好，公司有两样要修：\n1. 会议室空调漏水\n2. 茶水间净水器不出水"),
            ("u121", "客服-小童", 2, "请问地址和电话"),
            ("wmCust0004", "总务-Lucy", 5,
             "岳麓区麓谷大道66号5楼，0731-85556677转12，手机13677778888"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["空调", "净水器"]
    for k in (0, 1):
        assert _fields(reading, k)["phone"] == "073185556677转12"


def test_a_merged_forward_line_under_its_header_and_a_settled_request() -> None:
    export = "\n".join(
        [
            "维修群的聊天记录",
            "",
            "—————  2026-05-11  —————",
            "派单-阿香 05-11 08:20",
            "今日的单：",
            "1.芙蓉区五一路9号 熊先生 冰箱不制冷 电话13511112222",
            "2.雨花区劳动路3号 贝女士 洗衣机不排水 电话13533334444",
            "8栋鲍阿姨 05-11 09:00",
            "我家热水器不出热水了",
            "8栋鲍阿姨 05-11 09:30",
            "不用了不用了 我儿子说是没气了 换了罐就好了",
        ]
    )
    reading = _read(export)
    assert {r.sender for r in reading.requests} == {"派单-阿香"}  # 今日的单 is no sender
    assert len(reading.requests) == 2
    assert any(s.kind == "withdrawn" for s in reading.skipped)
