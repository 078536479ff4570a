"""What a later message of a conversation does to the requests before it: a technician with a
plain nickname gives their own number, a customer's second request and a relay's next one are
reached as the first was, a list posted again in full completes its items, and 第二个… after
第一个… is another request."""

from tests.chat_support import fields_of as _fields
from tests.chat_support import pc as _pc
from tests.chat_support import read as _read
from tests.chat_support import wecom as _wecom


def test_a_technician_with_a_plain_nickname_gives_their_own_number(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("08:02:10", "陈亮",
             "今天两个单\n"
             "1、滨江花园地库B2-11车位 业主吴先生 EVC-11K 一插枪就跳闸 电话 136-8800-2415\n"
             "2、城南那家4S店，直流桩DC-60K充不进电，报ER-51，联系人邓经理 028-84856210转8016"),
            ("08:05:12", "阿飞", "1号我去"),
            ("08:05:40", "黄建军", "2号我去嘛"),
            ("10:12:48", "黄建军", "邓经理电话没人接，我发短信给他了，让他打我 139 8005 7312"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 2
    assert _fields(reading, 1)["phone"] == "02884856210转8016"
    assert "13980057312" not in _fields(reading, 1)["phones"]


def test_a_customers_second_request_next_morning_takes_the_first_ones_contact(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0901", "顾客-马俊", 0, "你好 我家充电桩扫码一直转圈，APP提示设备离线"),
            ("u901", "客服-小冉", 2, "好的，安排师傅上门，留个电话地址"),
            ("wmCust0901", "顾客-马俊", 5, "17781063325 高新区新园大道9号 新城国际 A-203车位"),
            ("wmCust0901", "顾客-马俊", 600, "还有个事，昨天晚上充完电枪拔不下来了"),
            ("u901", "客服-小冉", 602, "您拉一下应急解锁试试"),
            ("wmCust0901", "顾客-马俊", 605, "拉了 拔下来了，但是充电桩屏幕上显示ER-24"),
            ("u901", "客服-小冉", 606, "好的，今天师傅上门一起看，电话地址还是昨天那个吧"),
            ("wmCust0901", "顾客-马俊", 607, "对 同上"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 2
    assert _fields(reading, 1)["phone"] == "17781063325"


def test_a_relays_own_number_serves_its_next_request_in_the_conversation(service) -> None:  # type: ignore[no-untyped-def]
    first = [
        ("u911", "物业-工程部曹工", 0, "11栋那台电梯不动了，按钮都不亮，控制柜在报警，显示E02"),
        ("u912", "调度-小冉", 1, "现场找哪个？"),
        ("u911", "物业-工程部曹工", 2, "找我 曹工 139-0805-7728"),
    ]
    second = "还有一个，2栋的TE-2000最近运行抖得厉害，停靠的时候往下溜"
    soon = _read(_wecom(*first, ("u911", "物业-工程部曹工", 20, second)))
    assert _fields(soon, 1)["phone"] == "13908057728"
    # Hours later a "find me" no longer holds unless the relay says so again.
    later = _read(_wecom(*first, ("u911", "物业-工程部曹工", 300, second)))
    assert later.requests[1].product_type == "电梯"
    assert not _fields(later, 1).get("phone")
    said = _read(_wecom(*first, ("u911", "物业-工程部曹工", 300, second + "，联系物业这边就行")))
    assert _fields(said, 1)["phone"] == "13908057728"


def test_a_relay_naming_a_customer_lends_no_number_to_its_next_request(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u921", "物业-小罗", 0, "8栋1203业主唐姐家里门锁半夜一直在报警，电话13688027741"),
            ("u921", "物业-小罗", 10, "还有一个，3栋2单元的电梯门关到一半又弹开，一直开开关关"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 2
    assert not _fields(reading, 1).get("phone")  # 唐姐's number is hers, not the desk's


def test_a_list_posted_again_in_full_completes_its_items(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("u931", "调度-小冉", 0,
             "西区今天三单\n"
             "一、郫都区 恒大绿洲 17-2-603 万先生 电热水器显示E4，一直在加热 133 0822 7416\n"
             "二、温江区 光华大道三段 ... 光华逸景\n三、金牛区 茶店子 充电桩"),
            ("u931", "调度-小冉", 1, "不好意思 发快了，二和三的信息如下"),
            ("u931", "调度-小冉", 3,
             "二、温江区光华大道三段1588号 光华逸景 3栋1单元2001 尹女士 挂机开起半天不凉 "
             "电话 138 8077 2364\n"
             "三、金牛区茶店子西街 泰山花园车库 C-086 车位 冷先生 EVC-7K 充不进电 "
             "电话 15928833507"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 3
    by_product = {r.product_type: k for k, r in enumerate(reading.requests)}
    assert _fields(reading, by_product["热水器"])["phone"] == "13308227416"
    assert _fields(reading, by_product["空调"])["phone"] == "13880772364"
    assert _fields(reading, by_product["充电桩"])["phone"] == "15928833507"


def test_the_second_of_a_list_told_one_message_at_a_time(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("09:00:01", "阿杰", "小周 帮忙登记两个"),
            ("09:00:02", "阿杰", "第一个 柏大姐 空调开制热吹出来是自然风 显示F3\n"
             "电话 幺八零 八零二二 六五四一\n地址 武侯区高升桥东路 高升桥小区 4栋3楼"),
            ("09:00:03", "阿杰", "第二个是我们店长家里的，空调出风很小，还有一股霉味"),
            ("09:00:04", "Lily店长", "我自己的 13308172265 武侯区洗面桥街 25号 3-2-5"),
        )
    )  # fmt: skip
    assert len(reading.requests) == 2
    assert _fields(reading, 0)["phones"] == ["18080226541"]
    assert _fields(reading, 1)["phone"] == "13308172265"


def test_a_relay_names_the_appliance_of_its_request_before_to_add_to_it(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wm951", "融创物业-管家阿美", 0, "有户业主反映，他家净水器一直嗡嗡响，半夜都在响"),
            ("wm951", "融创物业-管家阿美", 5,
             "业主不想留电话，让师傅到了找管家，我电话 177 8036 2209"),
            ("wm951", "融创物业-管家阿美", 30,
             "还有我们物业前台那台空调，遥控器按了没反应，换了新电池也不行"),
            ("wm951", "融创物业-管家阿美", 32,
             "地址 郫都区 红光大道 融创九棠府，净水器那户是15栋1单元1102"),
            ("wm951", "融创物业-管家阿美", 33, "前台有事找我们座机 028-87899012"),
        )
    )  # fmt: skip
    assert [r.product_type for r in reading.requests] == ["净水器", "空调"]
    assert "15栋1单元1102" in _fields(reading, 0)["address"]
    assert _fields(reading, 1)["phone"] == "02887899012"


def test_staff_without_a_role_prefix_known_by_asking_for_the_details(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _pc(
            ("10:02:00", "Amy林", "请问扫地机一直乱撞是啥子原因，上面那个圆的不转了"),
            ("10:05:00", "周倩", "您好，是顶部的激光雷达不转吗？APP里面有没有报错"),
            ("10:07:00", "Amy林", "提示激光测距传感器异常 E5"),
            ("10:16:00", "周倩", "好的 那我们安排处理，您的机器是R20吧？"),
            ("10:17:00", "周倩", "电话多少？"),
            ("10:24:00", "Amy林", "18628047715 成华区府青路三段 和美东城 8-1-2603"),
        )
    )  # fmt: skip
    assert [r.sender for r in reading.requests] == ["Amy林"]
    assert _fields(reading, 0)["phone"] == "18628047715"


def test_a_desk_passes_a_residents_request_on_an_hour_later(service) -> None:  # type: ignore[no-untyped-def]
    reading = _read(
        _wecom(
            ("wmCust0961", "望江名邸-物业客服", 0, "紧急！5栋电梯困人了，停在9楼和10楼中间"),
            ("wmCust0961", "望江名邸-物业客服", 1, "麻烦赶紧派人！！监控室电话 028-85437710"),
            ("u962", "调度-陈亮", 2, "收到，马上安排"),
            ("wmCust0963", "2栋王嬢嬢", 4, "我们2栋那个电梯也要修一下哦，每次停下来都跟地上差一截"),
            ("wmCust0961", "望江名邸-物业客服", 6, "王嬢嬢我们先处理5栋困人的，2栋的我一会儿报"),
            ("wmCust0961", "望江名邸-物业客服", 70,
             "@调度-陈亮 2栋2单元那台电梯平层不准，TE-1000，显示E35，联系物业这边就行"),
        )
    )  # fmt: skip
    assert [r.sender for r in reading.requests] == ["望江名邸-物业客服", "2栋王嬢嬢"]
    resident = _fields(reading, 1)
    assert (resident["model"], resident["fault_code"]) == ("TE-1000", "E35")
    assert resident["phone"] == "02885437710"
