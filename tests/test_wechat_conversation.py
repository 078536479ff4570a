"""The chat reader on conversations as service companies really have them: lists in every
numbering style, WeCom archives with staff filling in a customer's request, roles told by
what people say, technicians' groups, questions, and each request's own words for triage."""

from intake import wechat_import
from intake.chat_reader import split_items
from intake.chat_roles import CUSTOMER, STAFF, TECHNICIAN, Roles
from tests.chat_support import fields_of as _fields
from tests.chat_support import pc as _pc
from tests.chat_support import read as _read
from tests.chat_support import wecom as _wecom


def test_lists_in_every_numbering_style() -> None:
    for text in (
        "1、空调不制冷\n2、洗衣机不排水",
        "(1)空调不制冷 (2)洗衣机不排水",
        "①空调不制冷②洗衣机不排水",
        "一、空调不制冷\n二、洗衣机不排水",
        "【1】空调不制冷\n【2】洗衣机不排水",
        "1 空调不制冷\n2 洗衣机不排水",
        "第一家空调不制冷；第二家洗衣机不排水",
    ):
        items, _ = split_items(text)
        assert [t for _, t in items] == ["空调不制冷", "洗衣机不排水"], text
    # Numbers that do not count 1, 2 … are no list: a decimal, a time, a building.
    for text in ("1.5匹的空调不制冷，明天 9:30 在家", "3号楼2单元空调不制冷"):
        assert len(split_items(text)[0]) == 1, text
    # The lines around the list are shared; the last item keeps its own line only.
    items, shared = split_items("今天两单：\n1.王阿姨 空调不制冷\n2.李先生 热水器漏水\n麻烦尽快")
    assert [t for _, t in items] == ["王阿姨 空调不制冷", "李先生 热水器漏水"]
    assert shared == "今天两单：；麻烦尽快"


def test_wecom_list_items_each_get_their_own_details(service) -> None:  # type: ignore[no-untyped-def]
    export = _wecom(
        ("u101", "临平店-小李", 0,
         "报修两单\n1. 3幢501王阿姨 空调不制冷 显示E1 电话138 1234 5678\n"
         "2. 5幢302李先生 洗衣机不排水 电话13987654321"),
        ("u101", "临平店-小李", 5, "1号空调型号KFR-35GW\n2号洗衣机是WD-100"),
    )  # fmt: skip
    reading = _read(export)
    ac, wm = reading.requests
    assert ac.product_type == "空调" and wm.product_type == "洗衣机"
    # The follow-up list went item by item: each request has its own model only.
    assert "KFR-35GW" in "；".join(ac.texts()) and "WD-100" not in "；".join(ac.texts())
    assert "WD-100" in "；".join(wm.texts()) and "KFR-35GW" not in "；".join(wm.texts())
    assert (_fields(reading, 0)["model"], _fields(reading, 1)["model"]) == ("KFR-35GW", "WD-100")
    assert _fields(reading, 0)["phone"] == "13812345678"
    # Triage reads each request's own fault, not the neighbour's.
    assert "不排水" not in next(iter(wechat_import.to_drafts(reading.requests, "c"))).text


def test_unnumbered_lines_one_household_each(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(("09:00:00", "阳光物业-刘管家",
             "3幢501 空调不制冷 13812345678\n5幢302 热水器打不着火 13987654321"))
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["空调", "热水器"]
    assert all("每行一户" in r.why[0] for r in reading.requests)
    # One customer's lines about one appliance stay one request.
    one = _read(_pc(("09:00:00", "顾客-王女士", "空调不制冷\n显示E1\n电话13812345678")))
    assert len(one.requests) == 1


def test_staff_fill_in_a_wecom_customers_request(service) -> None:  # type: ignore[no-untyped-def]
    export = _wecom(
        ("wmCust000001", "韩梅", 0, "你好，我家热水器打不着火了"),
        ("u001", "小林", 1, "您好，麻烦提供一下型号、地址和联系电话"),
        ("u001", "小林", 9, "看了您发的铭牌照片，型号是JSQ-16"),
        ("wmCust000001", "韩梅", 14, "地址西湖区文三路50号2幢301，电话幺三九 零零一二 三四五六"),
        ("u001", "小林", 15, "好的韩女士，已登记，安排师傅明天上午上门"),
    )  # fmt: skip
    reading = _read(export)
    assert len(reading.requests) == 1
    fields = _fields(reading, 0)
    assert fields["model"] == "JSQ-16" and fields["phone"] == "13900123456"
    assert any("客服回复" in w for w in reading.requests[0].why)


def test_roles_told_by_what_is_said() -> None:
    roles = Roles()
    roles.learn(
        {
            "小林": ["麻烦提供一下地址", "好的，已登记，安排师傅明天上门"],
            "老张": ["我到了", "修好了，换了电容"],
            "快乐每一天": ["我家空调坏了"],
        }
    )
    assert roles.of("小林").role == STAFF
    assert roles.of("老张").role == TECHNICIAN
    assert roles.of("快乐每一天").role == CUSTOMER
    assert roles.of("客服-小王").role == STAFF  # a name that says it is never overruled


def test_staff_relays_and_reads_back(service) -> None:  # type: ignore[no-untyped-def]
    # Staff passing a call on start a request; staff reading a live one back do not.
    relayed = _read(_pc(("09:00:00", "客服-小王", "派单：翠苑三区5幢 王女士 空调漏水 13812345678")))
    assert len(relayed.requests) == 1 and relayed.requests[0].role == "staff"
    read_back = _read(
        _pc(
            ("09:00:00", "顾客-王女士", "空调漏水了，电话13812345678"),
            ("09:02:00", "客服-小王", "登记了：王女士 空调漏水"),
        )
    )
    assert len(read_back.requests) == 1


def test_technicians_group(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "调度-小周", "新单：文一西路1号3幢 赵先生 洗衣机不排水 13800001111"),
            ("09:01:00", "张师傅", "我去"),
            ("11:00:00", "张师傅", "文一西路洗衣机修好了，排水泵堵了"),
            ("11:05:00", "张师傅", "修好了。另外客户家冰箱也不制冷，顺便报个单"),
            ("11:30:00", "李师傅", "下午的单客户不在家，改明天"),
        )
    )
    # The dispatch is one request, work done and scheduling are none, a new fault found on
    # the job is one.
    assert [(r.role, r.product_type) for r in reading.requests] == [
        ("staff", "洗衣机"),
        ("technician", "冰箱"),
    ]


def test_questions_orders_and_appointments_make_no_ticket(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "顾客-王女士", "请问空调延保多少钱？"),
            ("09:10:00", "顾客-李先生", "热水器能不能换个位置装"),
            ("09:20:00", "顾客-周阿姨", "净水器滤芯再订两支"),
            ("09:30:00", "顾客-孙先生", "想预约一下空调清洗"),
        )
    )
    assert reading.requests == []
    assert {s.kind for s in reading.skipped} == {"question", "order", "appointment"}


def test_a_relays_households_and_same_as_above(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "万达店-小陈", "帮顾客王女士报修：空调不制冷，电话13812345678"),
            ("09:20:00", "万达店-小陈", "还有李先生家空调也不制冷，5幢302"),
            ("09:40:00", "顾客-赵先生", "我家热水器漏水，电话13900112234"),
            ("09:50:00", "顾客-赵先生", "还有洗衣机不排水，电话同上"),
        )
    )
    products = [r.product_type for r in reading.requests]
    assert products == ["空调", "空调", "热水器", "洗衣机"]
    # Another household of the same store is its own request and not given the first one's
    # phone; a customer's second appliance keeps the customer's own number.
    assert _fields(reading, 1).get("phone") is None
    assert _fields(reading, 3)["phone"] == "13900112234"


def test_staff_reply_goes_to_the_customer_it_names(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust000001", "韩梅", 0, "我家空调不制冷"),
            ("wmCust000002", "罗志刚", 2, "洗衣机不排水了"),
            ("u001", "小林", 5, "韩女士，看了铭牌，型号是KFR-35GW"),
            ("u001", "小林", 6, "罗先生，您的洗衣机是WD-100吧"),
        )
    )
    ac, wm = reading.requests
    assert "KFR-35GW" in "；".join(ac.texts()) and "WD-100" not in "；".join(ac.texts())
    assert "WD-100" in "；".join(wm.texts())


def test_staff_pass_on_a_cancellation(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "顾客-王女士", "空调漏水了，电话13812345678"),
            ("09:30:00", "客服-小王", "王女士来电说自己弄好了，这单取消了"),
            ("10:00:00", "顾客-李先生", "热水器打不着火，电话13987654321"),
            ("10:30:00", "客服-小王", "李先生的热水器师傅明天上门"),
        )
    )
    assert [r.product_type for r in reading.requests] == ["热水器"]
    assert [s.kind for s in reading.skipped] == ["withdrawn"]


def test_fixed_with_remote_help_is_a_repair_withdrawn_is_not(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "顾客-王女士", "门锁指纹识别不了，电话13812345678"),
            ("09:05:00", "客服-小王", "我们远程给您升级一下固件，您再试试"),
            ("09:20:00", "顾客-王女士", "现在好了，谢谢"),
            ("10:00:00", "顾客-李先生", "热水器打不着火，电话13987654321"),
            ("10:20:00", "顾客-李先生", "自己弄好了，不用来了"),
        )
    )
    assert [r.product_type for r in reading.requests] == ["智能门锁"]
    assert any("远程指导" in w for w in reading.requests[0].why)
    assert [s.kind for s in reading.skipped] == ["withdrawn"]


def test_a_fault_waits_for_its_appliance_to_be_named(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "顾客-沈建平", "家里那个扫地的小圆盘今天不对劲，老是在原地打转"),
            ("09:01:00", "客服-小王", "您好沈先生，是扫地机器人吧？"),
            ("09:02:00", "顾客-沈建平", "app上写的E2"),
            ("10:00:00", "顾客-李先生", "师傅昨天来修得很好，点赞"),
            ("10:01:00", "顾客-李先生", "请问净水器滤芯多少钱？"),
        )
    )
    (robot,) = reading.requests
    assert robot.product_type == "扫地机器人"
    fields = _fields(reading, 0)
    assert fields["fault_code"] == "E2" and fields["customer_name"] == "沈建平"


def test_a_technicians_new_fault_takes_the_households_contact(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "蒋丽丽", "店里来了个阿姨说她家洗衣机脱水时晃得厉害"),
            ("09:01:00", "蒋丽丽", "她说是WD-100，顾阿姨，电话 139-1546-0728"),
            ("09:02:00", "蒋丽丽", "她说试过了，还是晃\n地址 长蠡路 新家园 16栋 404"),
            ("11:00:00", "老周", "我两点以后过去"),
            ("14:30:00", "老周", "顾阿姨家的滚筒看了，螺栓没拆，已经拆掉了，正常了"),
            ("14:31:00", "老周", "她家净水器也不对劲，一直嗡嗡响，RO-400，我这趟没带配件"),
            ("14:32:00", "老周", "电话地址一样的"),
        )
    )
    washer, purifier = reading.requests
    assert (washer.role, purifier.role) == ("relay", "technician")
    fields = _fields(reading, 1)
    assert fields["phone"] == "13915460728" and fields["customer_name"] == "顾阿姨"
    assert fields["address"] == "长蠡路新家园16栋404"


def test_a_later_correction_reaches_the_items_it_names(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmStore00001", "观前店-阿珍", 0,
             "今天三单：\n①冰箱不冷了，BCD-300，陈阿姨 152 6231 9904\n"
             "②空调不制冷，KFR-35GW，俞先生 13809061275\n"
             "③还是陈阿姨家那台冰箱，灯也不亮了，电话同上"),
            ("wmStore00001", "观前店-阿珍", 180,
             "陈阿姨冰箱的铭牌我刚才看错了，是BCD-450，不是300"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 3
    first, second, third = (_fields(reading, k) for k in range(3))
    assert first["model"] == third["model"] == "BCD-450" and second["model"] == "KFR-35GW"
    assert third["phone"] == "15262319904"  # 电话同上: the same customer's item


def test_contacts_and_device_numbers_as_the_chat_says_them(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "物业-小邵", "3幢2单元的电梯门关不上，梯号写在轿厢里是3-2，显示E30"),
            ("09:01:00", "物业-小邵", "现场找我，电话137 7186 0452"),
            ("10:00:00", "顾客-徐建军", "充电桩充不进去电，EVC-11K，编号 SN-E11K-2207-0193"),
            ("10:01:00", "顾客-徐建军", "联系我老婆王女士 13962157708"),
        )
    )
    lift, charger = (_fields(reading, k) for k in range(2))
    assert (lift["hardware_id"], lift["customer_name"]) == ("3-2", "小邵")
    assert charger["hardware_id"] == "SN-E11K-2207-0193"
    assert charger["customer_name"] == "王女士"


def test_a_message_going_on_to_another_appliance_is_split(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "园区店-小蒋",
             "早，昨天登记的两个：\n一、夏先生，冰箱不凉了，BCD-300，电话 135-8492-6610\n"
             "二、夏先生的邻居孔阿姨，热水器下面接口漏水，电话 0512-62951073"),
            ("09:30:00", "园区店-小蒋",
             "孔阿姨又打电话来，说她家热水器是电的，DSZF-60\n还有她家冰箱也嗡嗡响，电话同上"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["冰箱", "热水器", "冰箱"]
    assert any("另一台设备" in w for w in reading.requests[2].why)
    heater, fridge = _fields(reading, 1), _fields(reading, 2)
    assert heater["customer_name"] == "孔阿姨" and heater["model"] == "DSZF-60"
    assert fridge["phone"] == "051262951073"  # 电话同上: 孔阿姨's, not 夏先生's


def test_what_is_not_a_withdrawal_or_a_request(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:00", "物业-前台阿敏",
             "汇总一下昨晚报的：\n一、6幢1403朱先生，电热水器一直滴水，电话 138 6255 0917\n"
             "二、2幢电梯有人说咔嗒一声就停了，后来又好了"),
            ("09:10:00", "顾客-孔德明", "门口那个刷脸的老是认不出我，S7"),
            ("09:12:00", "客服-小林", "这个版本有问题，我们远程推升级，不用上门"),
            ("09:13:00", "顾客-孔德明", "那不用上门了？"),
            ("09:20:00", "石路店-小潘", "有个顾客问门锁电池一般能用多久，她家K1的"),
            ("09:30:00", "相城店-阿东", "厂家通知：部分EVC-7K充电枪要召回更换，有人问就这么解释"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["热水器", "智能门锁"]
    assert [s.kind for s in reading.skipped] == ["withdrawn", "question"]


def test_technicians_group_without_role_prefixes(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("08:00:00", "周敏", "早，今天18单，地址呢都在app上"),
            ("09:00:00", "孙卫东", "车上没有读卡模块了，谁有"),
            ("09:05:00", "潘小军", "我车上有一个，中午碰头给你"),
            ("10:00:00", "黄海", "木渎那单门锁好了，锁体里卡了个螺丝，拿出来就好了"),
            ("10:05:00", "黄海", "那户业主说她妈家的锁X3密码按键按了不亮，电话 135 1260 7738"),
            ("11:00:00", "潘小军", "胥口三单全部完工"),
        )
    )
    assert [(r.sender, r.product_type) for r in reading.requests] == [("黄海", "智能门锁")]
    assert reading.requests[0].lines[0] == 13


def test_group_talk_that_is_no_repair(service) -> None:  # type: ignore[no-untyped-def]
    said = [
        ("顾客-王女士", "空调修好了，谢谢师傅"),
        ("顾客-李先生", "门锁电池是几号的？"),
        ("物业-老陈", "明天上午小区停水，热水器请先关掉"),
        ("万达店-小陈", "今天店里空调卖了十台，大家辛苦"),
        ("师傅-老张", "我到了，客户不在家"),
        ("顾客-周阿姨", "你们的净水器滤芯多久换一次"),
        ("客服-小王", "各位业主，空调清洗季开始了，有需要的预约"),
        ("顾客-赵先生", "冰箱买了两年了还在保修吗"),
        ("阳光物业-刘管家", "电梯年检通过了，下周一恢复运行"),
        ("师傅-小马", "今天路上堵死了，晚点到"),
        ("顾客-钱先生", "我家洗衣机用了三年了，想换个新的，有没有活动"),
        ("调度-陈姐", "这单改到明天下午，客户说上午不在家"),
        ("顾客-吴女士", "上次师傅来修得很好，点赞"),
    ]
    reading = _read(_pc(*((f"09:{k:02d}:00", who, text) for k, (who, text) in enumerate(said))))
    assert reading.requests == []


def test_faults_as_people_describe_them(service) -> None:  # type: ignore[no-untyped-def]
    from intake.chat_reader import kind_of

    for said, product in [
        ("3栋1单元502的业主反映，家里空调开了没冷气", "空调"),
        ("热水器出来的水一会冷一会热", "热水器"),
        ("洗衣机转起来声音像拖拉机", "洗衣机"),
        ("电梯门一直开开关关", "电梯"),
        ("冰箱门关不严", "冰箱"),
        ("充电桩屏幕黑了", "充电桩"),
        ("门锁指纹老是要刷好几次才开", "智能门锁"),
        ("我家扫地机的地图又没了，每次扫都重新建图", "扫地机器人"),
    ]:
        assert kind_of(said) == ("repair", product), said


def test_facts_go_to_the_request_a_message_is_about(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmMgr0000001", "顾红梅", 0,
             "青剑湖人才公寓 A栋305 的租客说空调开一天屋里也不凉，电话 173 1268 4590"),
            ("wmDorm000001", "小邹", 40, "顾主管，B栋洗衣房那台波轮洗衣机又不甩干了"),
            ("wmMgr0000001", "顾红梅", 42,
             "@林晓 这个也一起，青剑湖人才公寓B栋一楼洗衣房，联系宿管小邹，电话 0512-62830077"),
            ("wmMgr0000001", "顾红梅", 50, "郑经理，6幢那台电梯也不动了，屏上E02"),
        )
    )  # fmt: skip
    ac, washer, lift = reading.requests
    assert (ac.product_type, washer.product_type) == ("空调", "洗衣机")
    assert _fields(reading, 1)["phone"] == "051262830077"  # the washer's, not the AC's
    assert _fields(reading, 0)["phone"] == "17312684590"
    assert lift.product_type == "电梯" and lift.sender == "顾红梅"


def test_another_buildings_number_is_no_fact_of_a_request(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("08:40:00", "物业-前台阿敏",
             "一、6幢1单元1403 朱先生，电热水器下面一直在滴水，电话 138 6255 0917\n"
             "二、2幢电梯有人说咔嗒一声就停了，后来又好了"),
            ("08:50:00", "物业-工程部老沈", "2幢我刚坐了几趟，正常的，三先不用报了"),
        )
    )  # fmt: skip
    (heater,) = reading.requests
    assert "2幢我刚坐了几趟" not in "；".join(heater.texts())


def test_numbers_that_are_not_the_customers(service) -> None:  # type: ignore[no-untyped-def]
    # A relay's own number beside the customer's, a technician's own and staff's 师傅电话 in
    # replies, and the company's 400 line are not the number to call.
    reading = _read(
        _pc(
            (
                "09:00:00",
                "万达店-小陈",
                "我是万达店小陈 13800001111，帮顾客王女士报修：空调不制冷，她电话13912345678",
            ),
            (
                "09:05:00",
                "客服-小林",
                "王女士您好，师傅明天上午到，师傅电话13700002222，有事打我们400-820-8820",
            ),
            ("09:06:00", "师傅-老张", "收到，王女士的空调我去，我电话13600003333"),
        )
    )
    fields = _fields(reading, 0)
    assert fields["phone"] == "13912345678"
    assert set(fields["phones"]) <= {"13912345678", "13800001111"}
    # The relay's own number stays when it is the only one: then it is the number to call.
    reading = _read(
        _pc(("09:00:00", "物业-小周", "5栋电梯困人 8-9楼之间 现场联系我 幺八幺 洞八幺二 三五六七"))
    )
    assert _fields(reading, 0)["phone"] == "18108123567"


def test_a_later_number_goes_to_the_item_it_is_about(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            (
                "08:00:00",
                "调度-老郑",
                "今天4个单\n1.南方新城6栋 赵婆婆 冰箱冷冻室结冰 电话:028 8398 1175\n"
                "2.铂金城2栋1502 吴先生 充电桩一插枪就跳闸 电话 136-8802-9147\n"
                "3.万科城市花园 智能门锁 安装预约 电话13982255031\n"
                "4.罗马假日广场 净水器下面在漏水 顾客没留电话",
            ),
            ("08:05:00", "调度-老郑", "4号那个是茶楼 地址补充：A座2楼 听雨轩茶楼"),
            ("08:40:00", "调度-老郑", "茶楼是黄老板开的 黄老板电话 139 0801 6274"),
            ("08:50:00", "调度-老郑", "她孙女的电话：17708123349，说婆婆耳朵不好，打这个"),
        )
    )
    by_product = {r.product_type: k for k, r in enumerate(reading.requests)}
    assert _fields(reading, by_product["冰箱"])["phone"] == "17708123349"
    assert _fields(reading, by_product["充电桩"])["phones"] == ["13688029147"]
    assert _fields(reading, by_product["净水器"])["phones"] == ["13908016274"]


def test_whose_number_a_relay_and_a_technician_give(service) -> None:  # type: ignore[no-untyped-def]
    # A relay's own number is given for the request, but the customer's is the one to call.
    reading = _read(
        _pc(
            (
                "09:00:00",
                "物业-小周",
                "17栋2门电梯平层不准 有台阶 业主余老师电话 138 7120 5533 "
                "我的是027-59207718 有事也可以找我",
            )
        )
    )
    fields = _fields(reading, 0)
    assert fields["phone"] == "13871205533"
    assert set(fields["phones"]) == {"13871205533", "02759207718"}
    # A technician's own number, given for a fault found on a job, is not the customer's.
    reading = _read(
        _pc(
            (
                "09:00:00",
                "师傅-老邓",
                "楼下邻居蒲先生空调挂机开几分钟就停 外机不转 显示E1 电话180 2365 4471",
            ),
            ("09:05:00", "师傅-老邓", "我把我电话给他了 136 6838 0092 他有事直接找我"),
        )
    )
    assert _fields(reading, 0)["phones"] == ["18023654471"]


def test_a_number_for_one_item_of_a_list(service) -> None:  # type: ignore[no-untyped-def]
    listed = (
        "08:00:00",
        "派单-小蒲",
        "今天的单\n1）邱女士 电热水器显示E4 电话：135 5128 7736\n"
        "2）吴先生 空调制热不热 电话 136 8802 9147\n"
        "3）麓湖 充电桩模块故障灯亮 报ER-51 联系物业工程部 028-85076618",
    )
    # Hours later, the number for the item it names goes to that item alone.
    reading = _read(
        _pc(listed, ("11:05:00", "派单-小蒲", "麓湖那个桩 打工程部张工手机150 2801 7743"))
    )
    by_product = {r.product_type: k for k, r in enumerate(reading.requests)}
    assert "15028017743" in _fields(reading, by_product["充电桩"])["phones"]
    assert _fields(reading, by_product["热水器"])["phones"] == ["13551287736"]
    # A reply naming nothing is about what the message it answers names.
    reading = _read(
        _pc(
            listed,
            ("14:30:00", "客服-陈姐", "@派单-小蒲 吴先生座机一直没人接哦"),
            ("14:33:00", "派单-小蒲", "那打他儿子嘛 13708196624 他儿子就住楼上"),
        )
    )
    by_product = {r.product_type: k for k, r in enumerate(reading.requests)}
    assert _fields(reading, by_product["空调"])["phone"] == "13708196624"
    assert _fields(reading, by_product["热水器"])["phones"] == ["13551287736"]
    # A number that names no item, right after the list, goes to none of them.
    reading = _read(_pc(listed, ("08:10:00", "派单-小蒲", "他孙子说电话打孙子13277089361")))
    assert [_fields(reading, k)["phone"] for k in range(3)] == [
        "13551287736",
        "13688029147",
        "02885076618",
    ]


def test_a_number_split_over_two_messages(service) -> None:  # type: ignore[no-untyped-def]
    # A relay's list: a follow-up on the first item's appliance reaches it, even while the
    # last item is the latest; its number, finished in the next message, is read whole.
    reading = _read(
        _pc(
            (
                "09:00:00",
                "物业-老邓",
                "两个单：\n一、8栋2单元电梯 运行的时候哐当哐当响 梯号8-2-A\n"
                "二、3栋1单元602 刘婆婆 电热水器下面一直在滴水 刘婆婆电话13880937215",
            ),
            ("09:06:00", "物业-老邓", "电梯的事现场找我 我手机139 0812"),
            ("09:06:30", "物业-老邓", "5527"),
        )
    )
    assert _fields(reading, 0)["phone"] == "13908125527"
    assert _fields(reading, 1)["phones"] == ["13880937215"]
    # Staff give a number in two halves.
    reading = _read(
        _pc(
            (
                "14:00:00",
                "调度-胡姐",
                "补一个：汉街万达公馆3号楼2503 空调外机嗡嗡响 客户孙先生 电话前面是135 5452",
            ),
            ("14:01:00", "调度-胡姐", "后面是7731"),
        )
    )
    assert _fields(reading, 0)["phone"] == "13554527731"


def test_a_customer_named_by_surname_only_in_the_list(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            (
                "08:40:00",
                "物业-前台阿敏",
                "汇总一下：\n一、6幢1403 朱先生 电热水器下面一直在滴水 电话 138 6255 0917\n"
                "二、11幢702 业主姓邵 洗衣机一开就漏水 电话 0512-68093327",
            ),
            ("10:10:00", "物业-前台阿敏", "邵女士说她下午不在家，另外她还有个手机 199 6213 0485"),
        )
    )
    assert _fields(reading, 1)["phones"] == ["051268093327", "19962130485"]
    assert _fields(reading, 0)["phones"] == ["13862550917"]
