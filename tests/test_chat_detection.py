"""Requests a chat reader must see, and talk it must not take for one: a building's lift
reported over three messages, a customer's number given after the fault, a technician
passing on what a customer asked them, and shop news."""

from tests.chat_support import fields_of as _fields
from tests.chat_support import read as _read
from tests.chat_support import wecom as _wecom


def test_a_buildings_lift_over_three_messages_then_another_one(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u701", "物业-老鲍", 0, "早上好，各位"),
            ("u701", "物业-老鲍", 20, "2号楼的电梯停的时候和楼层有台阶，出门要跨一下"),
            ("u701", "物业-老鲍", 21, "电梯是TE-1000，显示E35"),
            ("u701", "物业-老鲍", 22, "联系我：0571－88990022转6 或者 13805812345"),
            ("u701", "物业-老鲍", 55, "还有5号楼1单元那台，运行的时候哐当响，电话同上"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["电梯", "电梯"]
    first = _fields(reading, 0)
    assert (first["model"], first["fault_code"]) == ("TE-1000", "E35")
    assert reading.requests[0].messages[0].text.startswith("2号楼的电梯")
    assert _fields(reading, 1)["phone"] == first["phone"] == "057188990022转6"


def test_a_customers_first_number_after_the_fault_is_the_same_request(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0701", "业主-柴大姐", 0, "物业你好，我家厨房净水器一直嗡嗡响，不用水也在响"),
            ("u702", "物业-老鲍", 1, "柴大姐，这个是你们家自己买的吧？我帮你转给厂家"),
            ("wmCust0701", "业主-柴大姐", 3, "是的 RO-400 显示E1 我电话 １３９５８０２７７８８"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 1
    assert _fields(reading, 0)["phone"] == "13958027788"


def test_a_technician_passes_on_what_a_customer_asked_them(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u801", "派单-小汤", 0, "今天的单：\n1. 文一路8号 门锁触摸屏没反应 电话13600001111\n"
             "2. 良睦路9号 地下室 直流桩急停 启动不了 电话13700002222"),
            ("u802", "师傅-钭工", 50, "闲园小区有个业主在群里找我说电热水器漏水 安全阀一直滴"),
            ("u802", "师傅-钭工", 51, "业主姓俞 电话 壹伍捌 伍柒壹贰 叁肆伍陆 闲园22幢2单元501"),
            ("u802", "师傅-钭工", 120, "文一路那家扫地机主刷缠头发，清掉就好了，客户说以后自己清"),
            ("u802", "师傅-钭工", 130, "良睦路那单客户说不用来了，遥控器换了电池就好了"),
        )
    )  # fmt: skip
    heaters = [r for r in reading.requests if r.sender == "师傅-钭工"]
    assert [r.product_type for r in heaters] == ["热水器"]
    k = reading.requests.index(heaters[0])
    assert _fields(reading, k)["phone"] == "15857123456"


def test_shop_news_about_goods_is_no_request(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u901", "临平店-小郁", 0, "今天店里到了一批新款门锁样机[图片]"),
            ("u902", "店长-詹", 1, "摆好拍照发群里"),
            ("u901", "临平店-小郁", 30, "顾客邹先生报修：我家门锁指纹识别不了，电话13600004455"),
        )
    )  # fmt: skip
    assert [r.messages[0].text[:4] for r in reading.requests] == ["顾客邹先"]


def test_a_fault_told_by_its_code_or_a_weak_output(service) -> None:  # type: ignore[no-untyped-def]
    from intake.chat_reader import kind_of

    for said, product in (
        ("科学大道充电站DC-120K充得很慢，报ER-41，站长18103712266", "充电桩"),
        ("还有净水器出水特别小，接一杯水要半天，RO-600，能一起看吗", "净水器"),
    ):
        assert kind_of(said) == ("repair", product), said
    assert kind_of("他们家的净水器 出水好小 接一杯水要等好久") == ("repair", "净水器")
    assert kind_of("E30是什么意思？")[0] != "repair"  # a code asked about is no fault
    # Whose appliance: someone named reporting it, not a name beside an item's model.
    assert kind_of("沈阿婆打电话来，冰箱冷藏室底下都是水，BCD-300") == ("repair", "冰箱")
    assert kind_of("第2个毕先生门锁型号S7")[0] != "repair"
    # A fault told as fixed already is work done; one that came back after a fix is a fault.
    assert kind_of("另外 2栋电梯按键不亮的事 工程部已经修好了") == (None, None)
    assert kind_of("上个月修好了没几天，我家洗衣机又漏水了")[0] == "repair"


def test_a_dispatcher_passes_on_requests_one_message_each(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u111", "调度-晓岚", 0, "江宁区香樟园27栋401林女士，热水器JSQ-16洗澡变冷水，显示E2"),
            ("u111", "调度-晓岚", 1, "林女士电话13951770000"),
            ("u111", "调度-晓岚", 3, "江宁区金王府13栋1802周阿姨，滚筒洗衣机门锁不上，显示E30"),
            ("u111", "调度-晓岚", 9, "林女士那个E2先让她看看燃气阀开没开，试试"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["热水器", "洗衣机"]
    assert _fields(reading, 0)["phone"] == "13951770000"


def test_a_role_in_brackets_after_the_name() -> None:
    from intake.chat_roles import RELAY, STAFF, Roles

    roles = Roles()
    assert (roles.of("小雯（之心城店）").role, roles.of("小雯（之心城店）").name) == (RELAY, "小雯")
    assert roles.of("阿杰(售后)").role == STAFF
    assert roles.of("王女士(VIP)").guessed  # a bracket that names no role tells nothing


def test_fault_reports_in_the_shapes_people_write_them(service) -> None:  # type: ignore[no-untyped-def]
    from intake.chat_reader import kind_of

    for said in (
        # Opened with a greeting to the group.
        "各位早，3栋2单元电梯今早又开始了，门关到一半又弹开，一直开开关关，显示E30",
        # Asked as a question.
        "请问门锁关门以后不会自己上锁了是啥情况，每次都要手动反锁",
        # Not hot enough.
        "对了 你们顺便看下热水器嘛 电热水器加热半天都是温的，洗澡不够热",
    ):
        assert kind_of(said)[0] == "repair", said
    assert kind_of("各位好，下周一小区停电检修")[0] is None  # a notice stays one


def test_a_second_appliance_later_in_the_chat_is_a_request_with_the_same_contact(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0951", "顾客-卫红英", 0, "我们家洗衣机门锁不上，一按启动就显示E30"),
            ("wmCust0951", "顾客-卫红英", 5,
             "电话 153 0801 9963 地址没变 锦江区 莲桂南路 华润二十四城 10栋2单元2401"),
            ("wmCust0951", "顾客-卫红英", 20,
             "对了 你们顺便看下热水器嘛 电热水器加热半天都是温的，洗澡不够热"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["洗衣机", "热水器"]
    assert _fields(reading, 1)["phone"] == "15308019963"
