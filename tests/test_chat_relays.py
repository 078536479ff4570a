"""Round 3 of the chat reader (tuned on wechat_real3, a relay-heavy set): how stores and
property desks refer back to their own numbered lists (2那个…, 3是…), answers to a question
about one item, merged-forward records whose senders are a shop and a name, a leak told by
where the water is, a report to the whole group, and a customer with two requests giving
their contact once."""

from intake import chat_formats, chat_reader
from intake.chat_roles import CUSTOMER, Roles
from tests.chat_support import fields_of as _fields
from tests.chat_support import pc as _pc
from tests.chat_support import read as _read
from tests.chat_support import wecom as _wecom

LIST = (
    "今天三户报修\n"
    "1. 金桂苑 3栋 2单元 502 邱奶奶 洗衣机甩干的时候哐哐响 显示E4\n"
    "2. 金桂苑 7栋 1101 业主 冰箱冷冻室不冷\n"
    "3. 金桂苑 地下车库 充电桩一插枪就跳闸"
)


def test_a_relay_names_its_own_list_item_by_a_bare_number(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u301", "物业-小蔡", 0, LIST),
            ("u302", "客服-阿琳", 2, "联系方式呢？"),
            ("u301", "物业-小蔡", 5, "3的车主是卢先生 137 2233 4410"),
            ("u301", "物业-小蔡", 30, "2那家说断电重新插了一下已经好了，不用来了"),
        )
    )  # fmt: skip
    # Only item 2 is called off; item 3 gets its own number.
    assert [r.product_type for r in reading.requests] == ["洗衣机", "充电桩"]
    assert _fields(reading, 1)["phone"] == "13722334410"
    assert not _fields(reading, 0).get("phone")
    assert [s.line for s in reading.skipped if s.kind == "withdrawn"]


def test_an_answer_goes_to_the_one_item_the_question_named(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u311", "门店-小金", 0,
             "登记两个\n1、江汉区 新华路 万松园 4-301 鲁先生 热水器点不着火 电话 186 7100 2244\n"
             "2、江汉区 唐家墩 华生城市广场 8栋 902 严阿姨 空调外机漏水"),
            ("u312", "客服-阿琳", 3, "2严阿姨的电话？"),
            ("u311", "门店-小金", 6, "打她儿子的吧 一五九 七二零三 八八一六"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 2
    assert _fields(reading, 1)["phone"] == "15972038816"
    assert _fields(reading, 0)["phone"] == "18671002244"


def test_a_merged_forward_sender_can_be_a_shop_and_a_name() -> None:
    messages = chat_formats.parse(
        "售后对接群的聊天记录\n\n—————  2026-03-05  —————\n"
        "光谷店 小骆：帮登记一个，洗碗机不排水\n"
        "客服-阿琳：地址？\n"
        "光谷店 小骆：关山大道 保利时代 9栋 1204\n"
        "地址：关山大道 保利时代 9栋 1204\n"
    )
    assert [m.sender for m in messages] == ["光谷店 小骆", "客服-阿琳", "光谷店 小骆"]
    assert messages[2].text.endswith("地址：关山大道 保利时代 9栋 1204")  # a label, no sender


def test_a_leak_told_by_where_the_water_is(service) -> None:  # type: ignore[no-untyped-def]
    said = ("我家空调一开，下面的地板就湿了", "洗碗机旁边柜子底下一滩水", "热水器下面墙上全是水渍")
    for text in said:
        assert chat_reader.fault_said(text), text


def test_a_report_to_the_whole_group_about_one_building(service) -> None:  # type: ignore[no-untyped-def]
    kind, product = chat_reader.kind_of("各位，5栋2单元的电梯开门的时候咔咔响，住户说吓人")
    assert (kind, product) == ("repair", "电梯")
    # A notice to the group stays one.
    assert chat_reader.kind_of("各位，明天上午检修线路，全小区停电")[0] is None


def test_a_customer_who_must_go_out_is_no_technician() -> None:
    roles = Roles()
    roles.learn({"乐乐妈妈": ["热水器打不着火了", "我九点要出门", "师傅几点能到？要出门上班"]})
    assert roles.of("乐乐妈妈").role == CUSTOMER


def test_a_customers_contact_serves_both_their_requests(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:10", "顾客-毛建平", "我家洗衣机脱水的时候跳来跳去，声音很大"),
            ("09:02:30", "客服-阿琳", "好的，滚筒还是波轮？"),
            ("09:03:05", "顾客-毛建平", "滚筒的"),
            ("09:04:40", "顾客-毛建平", "还有厨房水槽下面的净水器也一直在滴水"),
            ("09:06:00", "客服-阿琳", "两台都安排，麻烦发下电话和地址"),
            ("09:07:15", "顾客-毛建平", "一八六 二七零一 五五三九"),
            ("09:08:20", "顾客-毛建平", "洪山区 珞狮南路 南湖山庄 6栋 1102"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 2
    assert _fields(reading, 0)["phone"] == _fields(reading, 1)["phone"] == "18627015539"


def test_a_number_after_a_firmware_version_is_read_whole(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u321", "派单-阿凯", 0,
             "今天两单\n1 南湖 雅园 4栋 801 戴先生 门锁指纹没反应 固件3.2.0 18672209931\n"
             "2 南湖 宝安花园 2栋 302 蒋女士 冰箱不制冷 027-87761234"),
        )
    )  # fmt: skip
    assert _fields(reading, 0)["phone"] == "18672209931"


def test_a_list_item_told_only_by_its_household_gets_its_fault_later(service) -> None:  # type: ignore[no-untyped-def]
    listed = (
        "u331", "门店-小金", 0,
        "今天三个\n1、汉口 后湖 百步亭 现代城 3-1-502 孙先生 空调不制热 电话 135 4561 7702\n"
        "2、汉口 常青花园 十一区 9栋 202 包阿姨 电话 13808651247\n"
        "3、汉口 塔子湖 东方恒星 6栋 1603 梅女士 洗衣机不进水 13545887160",
    )  # fmt: skip
    reading = _read(
        _wecom(
            listed,
            ("u312", "客服-阿琳", 2, "包阿姨家是什么问题？"),
            ("u331", "门店-小金", 5, "她说冰箱冷冻室的抽屉结了一层冰，拉不出来"),
        )
    )
    assert [r.product_type for r in reading.requests] == ["空调", "冰箱", "洗衣机"]
    assert _fields(reading, 1)["phone"] == "13808651247"
    # Never told its fault, the item makes no ticket, though the list's talk names appliances.
    untold = _read(_wecom(listed, ("u331", "门店-小金", 5, "三家的电话地址都对，冰箱那家晚点说")))
    assert [r.product_type for r in untold.requests] == ["空调", "洗衣机"]


def test_a_consumable_due_is_an_order_not_a_fault(service) -> None:  # type: ignore[no-untyped-def]
    # The machine blinking about it, or the sender calling it a problem, makes it no repair…
    assert chat_reader.kind_of("净水器出了点问题，一直提示更换滤芯")[0] == "order"
    assert chat_reader.kind_of("我们店里那台净水器滤网寿命到了，红灯在闪")[0] == "order"
    # … nor does a list item saying it is no repair; a real fault beside it still is one.
    item = "洪山 南湖 某小区 净水器的滤芯该换了，不是维修"
    assert chat_reader.kind_of(item)[0] == "order"
    assert chat_reader.kind_of("净水器提示换滤芯，换了以后还是不出水")[0] == "repair"


def test_asking_for_a_cleaning_for_a_smell_is_an_appointment(service) -> None:  # type: ignore[no-untyped-def]
    assert chat_reader.kind_of("卧室空调吹出来有股臭味，风也小，想约个清洗")[0] == "appointment"
    assert chat_reader.kind_of("空调不制冷，风很小，想清洗一下")[0] == "repair"


def test_asking_whether_to_report_is_a_question(service) -> None:  # type: ignore[no-untyped-def]
    said = "会议室的空调遥控器没反应，换了电池也不行，需不需要报修？"
    assert chat_reader.kind_of(said)[0] == "question"


def test_told_to_call_the_other_person_directly(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u341", "调度-阿凯", 0, "金地 9-2-1101 齐先生 扫地机一直原地转圈 电话 13971550288"),
            ("u342", "郝师傅", 30,
             "齐先生说家里的事都是他爱人管，他爱人电话 15307141290 直接联系她就可以"),
        )
    )  # fmt: skip
    assert _fields(reading, 0)["phone"] == "15307141290"


def test_the_mobile_given_before_when_told_to_call_it_instead(service) -> None:  # type: ignore[no-untyped-def]
    first = (
        "u351", "调度-阿凯", 0,
        "今天两单\n1 汉阳 四新 3栋 1201 柴先生 热水器不出热水 电话027-84471123 或 15927330461\n"
        "2 汉阳 王家湾 7栋 502 韦女士 冰箱不制冷 13607175588",
    )  # fmt: skip
    told = _read(_wecom(first, ("u352", "郝师傅", 40, "柴先生家座机打了好几次没人接，他说打手机")))
    assert _fields(told, 0)["phone"] == "15927330461"
    # Said for a case, the landline stays the one to call.
    case = _read(_wecom(first, ("u352", "郝师傅", 40, "柴先生说座机没人接就打手机")))
    assert _fields(case, 0)["phone"] == "02784471123"


def test_a_customers_aside_on_one_more_fault_is_another_request(service) -> None:  # type: ignore[no-untyped-def]
    chat = [
        ("09:00:00", "顾客-单立新", "冰箱冷藏室不制冷了，冷冻还行"),
        ("09:01:30", "客服-阿琳", "好的，电话地址发一下"),
        ("09:03:00", "顾客-单立新", "13554112087 江岸区 台北路 香港花园 5栋 702"),
        ("09:05:00", "客服-阿琳", "明天上午师傅上门"),
    ]
    aside = ("09:20:00", "顾客-单立新", "还有 门上的把手也裂开了，摇摇晃晃的")
    reading = _read(_pc(*chat, aside))
    assert [r.product_type for r in reading.requests] == ["冰箱", "冰箱"]
    assert _fields(reading, 1)["phone"] == "13554112087"
    # More about the same fault is no new request.
    assert len(_read(_pc(*chat, ("09:20:00", "顾客-单立新", "冷藏室里面的灯也不亮"))).requests) == 1
