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


def test_a_relays_correction_reaches_the_customer_it_names(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u301", "物业-小葛", 0, "第一户：丹桂苑3幢502 柏阿姨，洗衣机不脱水 电话13600001234"),
            ("u301", "物业-小葛", 6, "第二户：丹桂苑9幢101 童先生，热水器打不着火"),
            ("u301", "物业-小葛", 7, "童先生电话13700005678"),
            ("u301", "物业-小葛", 45, "柏阿姨说刚才电话打错了，应该是13600001243"),
        )
    )  # fmt: skip
    assert _fields(reading, 0)["phones"] == ["13600001243"]
    assert _fields(reading, 1)["phones"] == ["13700005678"]


def test_a_correction_during_the_second_appliance_fixes_the_first_too(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0201", "顾客-邬海", 0, "你好 我家扫地机离线了 配网一直失败"),
            ("wmCust0201", "顾客-邬海", 3, "邬海 一三九 零零一三 五五六六"),
            ("wmCust0201", "顾客-邬海", 5, "地址 西湖区文三路9号 2幢301"),
            ("wmCust0201", "顾客-邬海", 20, "还有我家门锁关门后不会自动上锁了"),
            ("wmCust0201", "顾客-邬海", 30, "刚才电话打错了，是13900135567"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 2
    assert _fields(reading, 0)["phones"] == ["13900135567"]
    assert _fields(reading, 1)["phones"] == ["13900135567"]


def test_a_customers_correction_hours_later(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0301", "顾客-魏红", 0, "家里冰箱不制冷了，电话13500007788"),
            ("u311", "客服-小简", 2, "好的，安排师傅"),
            ("wmCust0301", "顾客-魏红", 200, "不好意思，刚才电话打错了，是13500007878"),
        )
    )  # fmt: skip
    assert _fields(reading, 0)["phones"] == ["13500007878"]


def test_a_fault_reported_and_settled_in_one_message_is_no_ticket(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u321", "南城店-小温", 0, "帮手报修：南城路9号 龚先生 洗衣机不排水 电话13800002468"),
            ("u321", "南城店-小温", 4,
             "仲有个阿婆话佢个门锁电量低报警，我教咗佢换电池，佢话换完好咗，唔使上门"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["洗衣机"]
    assert [s.kind for s in reading.skipped] == ["withdrawn"]


def test_staff_answering_hours_later_reopen_the_request(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0401", "顾客-屠文斌", 0, "在吗？热水器洗着澡突然变冷水了"),
            ("wmCust0401", "顾客-屠文斌", 1, "[语音]"),
            ("u401", "客服-小柏", 85, "屠先生早上好，刚上班看到，热水器有显示代码吗？"),
            ("wmCust0401", "顾客-屠文斌", 87, "E2"),
            ("u401", "客服-小柏", 88, "您留个电话地址，安排师傅上门"),
            ("wmCust0401", "顾客-屠文斌", 90, "幺五幺 六七八九 零零幺幺"),
            ("wmCust0401", "顾客-屠文斌", 99, "余杭区玉鸟路白鹭郡北13幢"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 1
    fields = _fields(reading, 0)
    assert (fields["phone"], fields["fault_code"]) == ("15167890011", "E2")


LIST = (
    "今日单：\n1. 滨江路8号 庞女士 热水器打不着火 电话13600002211\n"
    "2. 江晖路6号 2幢 门锁离线 配网失败 屈先生 电话13700003322\n"
    "3. 长河路5号 保安室 充电桩急停 刷卡没反应 电话0571-87001122"
)


def test_a_withdrawn_item_of_a_list_makes_no_ticket(service) -> None:  # type: ignore[no-untyped-def]
    for minute, sender, said, gone in (
        (30, "派单-阿强", "2号单屈先生说不用来了，他儿子把路由器改好就好了", "智能门锁"),
        (70, "师傅-尹师傅", "庞女士说热水器她老公换了电池好了，不用去了", "热水器"),
        (20, "师傅-尹师傅", "③保安说有人把急停按下去了 复位就好了 不用来了", "充电桩"),
        (15, "派单-阿强", "1号单不用去了，庞女士说自己换电池好了", "热水器"),
    ):
        reading = _read(
            _wecom(
                ("u501", "派单-阿强", 0, LIST),
                ("u502", "师傅-尹师傅", 2, "1 2 我去"),
                ("u501" if sender == "派单-阿强" else "u502", sender, minute, said),
            )
        )
        left = {r.product_type for r in reading.requests}
        assert left == {"热水器", "智能门锁", "充电桩"} - {gone}, said
        assert [s.kind for s in reading.skipped] == ["withdrawn"], said


def test_a_customer_who_changed_the_batteries_withdraws(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0601", "客户-钭磊", 0, "你好，我家门锁屏幕电池图标一直闪，开门时滴滴报警"),
            ("u601", "客服-小蔡", 2, "钭先生您好，这是电量低提示，可以先换一下电池"),
            ("wmCust0601", "客户-钭磊", 10, "换了，好了，谢谢"),
            ("wmCust0602", "客户-詹女士", 30, "我家洗衣机不排水，电话13600009988"),
            ("wmCust0602", "客户-詹女士", 200, "师傅来过了，换了排水泵，现在好了"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["洗衣机"]  # repaired, not withdrawn
    assert [s.kind for s in reading.skipped] == ["withdrawn"]


def test_staff_confirming_one_customers_call_off_leave_the_next_request(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0701", "饶先生", 0, "洗衣机WD-100在APP上一直显示离线，连不上，电话18919650000"),
            ("wmCust0702", "钟女士", 30, "我家空调出风很小，开最大档也没什么风，电话13966780000"),
            ("wmCust0701", "饶先生", 50, "刚才又试了一下连上了，不用来了，谢谢"),
            ("u701", "客服-小葵", 51, "好的饶先生，那这单我取消了"),
        )
    )  # fmt: skip
    assert [r.sender for r in reading.requests] == ["钟女士"]
    assert [s.sender for s in reading.skipped] == ["饶先生"]


def test_a_call_off_of_another_building_leaves_the_request(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u801", "物业-工程-老邵", 0, "4幢电梯门关不上一直开关，报E30，打工程部0512-68095500"),
            ("u802", "客服-阿琳", 1, "收到"),
            ("u801", "物业-工程-老邵", 70, "3幢那个门禁之前报过的，现在好了不用来了"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["电梯"]


def test_the_list_owner_corrects_an_items_last_digits(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u901", "派单-莉莉", 0,
             "今日单：\n（1）丽湖花园6-2-704，罗太，柜机制热不热，电话 189 2377 0000\n"
             "（2）钟先生家净水器出水一滴一滴的，137 2860 5519"),
            ("u902", "邓师傅", 1, "收到，1我去"),
            ("u901", "派单-莉莉", 15, "不好意思，罗太电话尾号改成0146，我刚才抄错了"),
        )
    )  # fmt: skip
    assert _fields(reading, 0)["phones"] == ["18923770146"]
    assert _fields(reading, 1)["phones"] == ["13728605519"]


def test_whom_to_call_now_for_an_item_is_no_new_request(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u951", "物业-小吴", 0,
             "业主报修汇总：\n1.3幢1201 业主 龚女士 洗衣机不排水 显示E21 电话13300001111\n"
             "2.地下车库 公共充电桩 EVC-11K 屏幕不亮 报ER-32 物业工程部 0571-89760000"),
            ("u951", "物业-小吴", 30, "充电桩那边工程部电话换人了，打这个 13777880000"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 2
    assert _fields(reading, 1)["phone"] == "13777880000"
    assert _fields(reading, 0)["phone"] == "13300001111"


def test_a_report_put_off_then_not_needed(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u961", "天鹅湖物业-前台", 0, "5栋有户说热水器不热，我问问清楚再报"),
            ("u961", "天鹅湖物业-前台", 40, "5栋那个问了，是家里停电了，不用了"),
        )
    )  # fmt: skip
    assert reading.requests == []
    assert [s.kind for s in reading.skipped] == ["withdrawn"]
