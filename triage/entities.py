"""Entity extraction from normalised text: the facts a ticket needs.

Product types, models and fault codes come from the knowledge base (so a new model or a new
product type is recognised as soon as an entry naming it is published); the rules file adds
synonyms for the KB's product types and never invents a type the KB lacks. Everything else
comes from patterns of how callers give phone numbers, addresses and names.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jieba

from triage import phones

FIELD_NAMES = (
    "product_type",
    "model",
    "firmware",
    "fault_code",
    "phone",
    "address",
    "customer_name",
    "hardware_id",
    "run_count",
)

MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?\d{7,8})(?!\d)")
VERSION = re.compile(r"(?<![\d.])[Vv]?(\d{1,2}(?:\.\d{1,3}){1,3})(?![\d.])")
VERSION_CONTEXT = re.compile(r"(固件|版本|系统|软件|程序|升级|ver|Ver|V\d)")
CODE = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,3}-?\d{1,3})(?![A-Za-z0-9])")
CODE_CONTEXT = re.compile(r"(故障码|代码|错误码|报警码|显示|报|提示|闪|亮|出现|跳)")
RUN_COUNT = re.compile(r"(\d{3,7})\s*多?\s*次")
RUN_CONTEXT = re.compile(r"(运行|跑|用了|累计|开了|上下|保养|维保)")
ALNUM_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\- ]*[A-Za-z0-9]|[A-Za-z0-9]")
MODEL_CONTEXT = re.compile(r"型号(?:是|为|叫)?[:：]?\s*([A-Za-z][A-Za-z0-9\-]{0,15})")
HARDWARE_ID = re.compile(
    r"(?:SN|序列号|设备编号|设备号|机身码|机器编号|桩号|编号)(?:是|为)?[:：]?\s*([A-Za-z0-9\-]{6,32})"
)
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌"
    "毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦"
    "麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩"
    "明佘池查麻苑迟邝"
)
NAME_TITLE = re.compile(r"(?:我姓|免贵姓|姓)([\u4e00-\u9fff])[，,]?\s*(?:是)?(先生|女士|小姐)?")
TITLED = re.compile(r"([\u4e00-\u9fff])(先生|女士|小姐)")
FULL_NAME = re.compile(
    r"(?:我叫|我的名字是|名字叫|联系人是?|我是)([\u4e00-\u9fff]{2,3}?)"
    r"(?=[，,。 ]|$|电话|手机|家|住|的|，|我)"
)
ADDRESS_TRIGGER = re.compile(
    r"(?:地址(?:是|在)?|住址(?:是)?|家住在|住在|家住|家在|位置在|位于|地点(?:是|在)?)[:：]?\s*"
)
ADDRESS_MARK = re.compile(
    r"(省|市|区|县|镇|乡|村|路|街|道|巷|弄|号|栋|幢|单元|室|小区|大厦|花园|公寓|苑|广场|园区|楼)"
)
ADDRESS_SPAN = re.compile(
    r"((?:[\u4e00-\u9fff]{2,6}(?:省|市))?(?:[\u4e00-\u9fff]{2,6}(?:市|区|县))?"
    r"[\u4e00-\u9fff]{1,10}(?:路|街|大道|巷|弄|道)\d+号(?:[\dA-Za-z\-]*(?:号楼|栋|幢|单元|楼|层|室))*\d*"
    r"|(?:[\u4e00-\u9fff]{2,6}(?:省|市))?(?:[\u4e00-\u9fff]{2,6}(?:市|区|县))?"
    r"[\u4e00-\u9fff]{2,10}(?:小区|花园|公寓|大厦|苑|新村|家园)(?:[\dA-Za-z\-]+(?:号楼|栋|幢|单元|楼|层|室|号))+\d*)"
)
# Callers (and speech recognition) put spaces inside addresses: 望京街 10号, 上海市 浦东新区.
# A space is part of the address when what follows is a number or another address part.
ADDRESS_GAP = re.compile(
    r"(?<=[省市区县镇乡村路街道巷弄号栋幢楼层室元\d])\s+"
    r"(?=\d|[A-Za-z]\d|[\u4e00-\u9fff]{1,8}?(?:省|市|区|县|镇|乡|村|路|街|道|巷|弄|号|栋|幢|单元|室|小区|大厦|花园|公寓|苑|广场|园区|楼))"
)
ADDRESS_STOP = re.compile(
    r"(电话|手机|联系|号码|型号|固件|版本|我的|我家的|我们家的|门锁|空调|电梯|冰箱|洗衣机|热水器|充电桩|"
    r"那个|然后|麻烦|请|尽快|这边|这里|我叫|我姓|\s|[\u4e00-\u9fff](?:先生|女士|小姐)|"
    r"，|,|。|；|;|！|!|？|\?)"
)


@dataclass
class Vocabulary:
    """What the KB knows: models, fault codes and product synonyms, for matching in text."""

    models: dict[str, str] = field(default_factory=dict)  # model_key → canonical
    # code_key → [(canonical code, product type)]: E1 (空调) and E01 (智能门锁) share a key.
    codes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    code_product: dict[str, set[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)  # lower synonym → product_type
    model_product: dict[str, set[str]] = field(default_factory=dict)
    firmwares: set[str] = field(default_factory=set)
    # word → the product types it names together (product_families)
    families: dict[str, frozenset] = field(default_factory=dict)
    fronts: dict[str, str] = field(default_factory=dict)  # name_fronts

    @cached_property
    def naming_words(self) -> list[tuple[str, str]]:
        """(word, product type) of the synonyms of two or more characters, longest first:
        sorted once per KB, not on every call (products_named)."""
        return sorted(
            ((w, p) for w, p in self.synonyms.items() if len(w) > 1), key=lambda wp: -len(wp[0])
        )

    @classmethod
    def build(cls, entries: Iterable[dict], synonyms: dict[str, str]) -> "Vocabulary":
        """Vocabulary of published entries; of the rules' product synonyms only those of the
        KB's own product types."""
        entries = list(entries)
        vocab = cls(
            synonyms=product_words(entries, synonyms),
            families=product_families(entries, synonyms),
            fronts=name_fronts(entries),
        )
        for e in entries:
            vocab.firmwares.update(str(f) for f in e.get("firmware", []))
            for m in e.get("models", []):
                vocab.models[model_key(m)] = m
                vocab.model_product.setdefault(m, set()).add(e.get("product_type", ""))
            if e.get("fault_code"):
                code = e["fault_code"].upper()
                vocab.code_product.setdefault(code, set()).add(e.get("product_type", ""))
                owners = vocab.codes.setdefault(code_key(code), [])
                if (code, e.get("product_type", "")) not in owners:
                    owners.append((code, e.get("product_type", "")))
        return vocab


# Words of a product type's name that say nothing of which product it is (商用洗碗机 → 洗碗机).
GENERIC_PRODUCT_WORDS = frozenset(
    "商用 家用 智能 全自动 自动 机组 设备 机器 系统 一体机 专业 工业 电动 新款 立式 卧式 万能 "
    "器人 水器 电器 面板 主机 外机 内机".split()
)


def product_words(entries: Iterable[dict], synonyms: dict[str, str]) -> dict[str, str]:
    """Lower-cased word → product type, for the KB's product types only.

    A type's own name always means itself (a KB with 燃气热水器 and 电热水器 keeps both, even if
    the rules fold them into 热水器); then the rules' synonyms of KB types; then the parts of a
    type's name that only that type has (商用洗碗机 → 洗碗机, 冷库机组 → 冷库), so a caller
    who says the short name is understood without anyone writing rules for a new KB.
    """
    types = sorted({str(e["product_type"]) for e in entries if e.get("product_type")})
    words: dict[str, str] = {}
    for word, product in synonyms.items():
        if product in types:
            words[word.lower()] = product
    owners: dict[str, set[str]] = {}
    for t in types:
        for part in _name_parts(t):
            owners.setdefault(part, set()).add(t)
    for part, owning in owners.items():
        if (
            len(owning) == 1
            and part not in GENERIC_PRODUCT_WORDS
            and not any(part in t for t in types if t not in owning)
        ):
            words.setdefault(part.lower(), next(iter(owning)))
    for t in types:
        words[t.lower()] = t
    return words


def name_fronts(entries: Iterable[dict]) -> dict[str, str]:
    """Lower-cased fronts and inner words of a type's name that callers say alone (中央空调
    of 中央空调多联机, 空气能 of 空气能热泵热水机, 温控 of 智能温控面板) → that type: kept when
    no other type's name has them and the KB never uses them of another type's faults (机房 of
    机房精密空调 is where a chiller stands too).

    They name the product of a call the KB has no entry for (想约个中央空调清洗). They are
    no diagnosis feature: there a front pulls the KB's entries of that type up for calls the
    KB lacks as much as for those it has (hvac: top-1 82.5 → 80.8 % with them as features)."""
    entries = list(entries)
    types = sorted({str(e["product_type"]) for e in entries if e.get("product_type")})
    said: dict[str, list[str]] = {}
    for e in entries:
        said.setdefault(str(e.get("product_type") or ""), []).extend(
            str(e.get(k) or "") for k in ("title", "symptoms", "root_cause")
        )
    text = {t: " ".join(parts) for t, parts in said.items()}  # each type's own words, once
    heads: dict[str, str] = {}
    for t in types:
        words = jieba.lcut(t)
        ends = [sum(map(len, words[: k + 1])) for k in range(len(words) - 1)]
        parts = {t[:end] for end in ends} | {w for w in words if len(w) > 1}
        for part in parts:
            if (
                part not in GENERIC_PRODUCT_WORDS
                and not any(part in other for other in types if other != t)
                and not any(part in words for other, words in text.items() if other != t)
            ):
                heads[part.lower()] = t
    return heads


def product_families(entries: Iterable[dict], synonyms: dict[str, str]) -> dict[str, frozenset]:
    """Lower-cased words that name several of the KB's product types at once: 储能 for
    户用储能电池柜 and 工商业储能柜, 电梯 for 乘客电梯 and 载货电梯, the rules' 热水器 for
    燃气热水器 and 电热水器. A caller who says one has narrowed the product down, not named it."""
    types = sorted({str(e["product_type"]) for e in entries if e.get("product_type")})
    owners: dict[str, set[str]] = {}
    for t in types:
        for i in range(len(t) - 1):
            for j in range(i + 2, len(t) + 1):
                owners.setdefault(t[i:j].lower(), set()).add(t)
    families = {
        word: frozenset(owning)
        for word, owning in owners.items()
        if len(owning) > 1 and word not in GENERIC_PRODUCT_WORDS
    }
    for word, product in synonyms.items():
        inside = frozenset(t for t in types if product in t)
        if product not in types and len(inside) > 1 and len(word) > 1:
            families.setdefault(word.lower(), inside)
    return families


def _name_parts(name: str) -> set[str]:
    """Shorter names inside a product type's name: its tails of 2+ characters (Chinese puts
    the head noun last: 商用洗碗机 → 洗碗机) and, for a four-character name of two words
    (冷库机组), its first word."""
    parts = {name[i:] for i in range(1, len(name) - 1)}
    if len(name) == 4:
        parts.add(name[:2])
    return parts


def code_key(code: str) -> str:
    """Fault codes compare without dashes and leading zeros: E5, E05 and E-05 are one code."""
    m = re.fullmatch(r"([A-Z]+)-?0*(\d+)", code.upper())
    return f"{m.group(1)}{m.group(2)}" if m else code.upper().replace("-", "")


def _bounded_find(text_lower: str, term: str) -> int:
    """Index of term in text where it is not glued to other letters/digits, or -1."""
    start = 0
    while True:
        i = text_lower.find(term, start)
        if i < 0:
            return -1
        before = text_lower[i - 1] if i else ""
        after = text_lower[i + len(term)] if i + len(term) < len(text_lower) else ""
        if not (before.isascii() and before.isalnum()) and not (
            after.isascii() and after.isalnum()
        ):
            return i
        start = i + 1


def extract(text: str, vocab: Vocabulary) -> dict[str, Any]:
    """All ticket fields found in normalised text (None where not said)."""
    lower = text.lower()
    out: dict[str, Any] = dict.fromkeys(FIELD_NAMES)
    out["model"] = _model(text, vocab)
    found = phones.numbers(text)
    out["phone"] = found[0] if found else None
    if found:
        out["phones"] = found  # every number said, the main one first
    out["firmware"] = _known_version(_firmware(text, out["phone"]), vocab)
    said_product = _product(lower, vocab, out["model"], None)
    out["fault_code"] = _fault_code(text, vocab, out["model"], said_product)
    out["product_type"] = _product(lower, vocab, out["model"], out["fault_code"])
    if len(named := products_named(lower, vocab)) > 1:
        out["products"] = named  # several types said: the diagnosis tells which one it is
    out["hardware_id"] = _hardware_id(text)
    out["address"] = find_address(text)
    out["customer_name"] = find_name(text)
    out["run_count"] = _run_count(text)
    return out


def _run_count(text: str) -> str | None:
    """Runs since service, as elevator callers report them (一万三千多次 → 13000)."""
    for m in RUN_COUNT.finditer(text):
        if RUN_CONTEXT.search(text[max(0, m.start() - 12) : m.end() + 6]):
            return m.group(1)
    return None


def model_key(name: str) -> str:
    """Models compare on letters and digits only: kfr35gw, KFR 35GW and KFR-35GW are one."""
    return re.sub(r"[^0-9A-Z]", "", name.upper())


def _model(text: str, vocab: Vocabulary) -> str | None:
    """The KB model named in text (however it was spaced or cased), else one after 型号."""
    best: tuple[int, int, str] | None = None
    for m in ALNUM_TOKEN.finditer(text):
        token = m.group(0)
        # A token can carry a model and more (X3的 is split already; EVC-7K充电桩 too).
        for end in range(len(token), 0, -1):
            canonical = vocab.models.get(model_key(token[:end]))
            if canonical and (best is None or (-end, m.start()) < (best[0], best[1])):
                best = (-end, m.start(), canonical)
                break
    if best:
        return best[2]
    m = MODEL_CONTEXT.search(text)
    return m.group(1).upper() if m else None


def _product(lower: str, vocab: Vocabulary, model: str | None, code: str | None) -> str | None:
    best: tuple[int, int, str] | None = None
    for word, product in vocab.synonyms.items():
        i = lower.find(word)
        if i >= 0 and (best is None or (-len(word), i) < (best[0], best[1])):
            best = (-len(word), i, product)
    if best and best[0] < -1:
        return best[2]
    # No product word (or only a one-character one like 锁): a model or fault code that only
    # one product type uses is the better witness.
    for owners in (vocab.model_product.get(model or ""), vocab.code_product.get(code or "")):
        if owners and len(owners) == 1:
            return next(iter(owners))
    return best[2] if best else None


def products_named(lower: str, vocab: Vocabulary) -> list[str]:
    """Every KB product type the lower-cased text names by a word of two or more characters,
    in the order first said; a word inside a longer one said there (智能马桶 in 智能马桶盖)
    names nothing of its own. A caller who says 光猫 and 光纤, or a door that a 叉车 hit, has
    named two types, and only the fault says which one the call is about."""
    spans: list[tuple[int, int, str]] = []
    for word, product in vocab.naming_words:
        start = lower.find(word)
        while start >= 0:
            end = start + len(word)
            if not any(s < end and start < e for s, e, _ in spans):
                spans.append((start, end, product))
            start = lower.find(word, start + 1)
    return list(dict.fromkeys(product for _, _, product in sorted(spans)))


def _firmware(text: str, phone: str | None) -> str | None:
    found = []
    for m in VERSION.finditer(text):
        value = m.group(1)
        if "硬件" in text[max(0, m.start() - 6) : m.start()]:
            continue  # a hardware revision (硬件3.2) is not the firmware
        if value.count(".") == 1 and not VERSION_CONTEXT.search(
            text[max(0, m.start() - 8) : m.start() + 1]
        ):
            continue  # "1.5" alone is a quantity, not a version
        context = bool(VERSION_CONTEXT.search(text[max(0, m.start() - 8) : m.start() + 1]))
        found.append((not context, m.start(), value))
    return min(found)[2] if found else None


def _known_version(heard: str | None, vocab: Vocabulary) -> str | None:
    """A version the KB does not know, ending in exactly one it knows, is that one: speech
    recognition hears the 是 of 是二点三点一 as 十 and writes 12.3.1."""
    if heard is None or heard in vocab.firmwares:
        return heard
    known = [v for v in vocab.firmwares if heard.endswith(v) and heard[-len(v) - 1].isdigit()]
    return known[0] if len(known) == 1 else heard


def _fault_code(text: str, vocab: Vocabulary, model: str | None, product: str | None) -> str | None:
    """A KB fault code in text (dashes and leading zeros optional), else a code after a cue."""
    upper = text.upper()
    own_model = code_key(model or "")
    for key, owners in vocab.codes.items():
        if not any(ch.isdigit() for ch in key) and _bounded_find(upper, key) >= 0:
            return _pick(owners, key, product)  # letter-only codes such as UE
    fallback = None
    for m in CODE.finditer(upper):
        said = m.group(1)
        key = code_key(said)
        if key == own_model or model_key(said) in vocab.models:
            continue
        if key in vocab.codes:
            return _pick(vocab.codes[key], said, product)
        if fallback is None and CODE_CONTEXT.search(text[max(0, m.start() - 6) : m.start()]):
            fallback = said
    return fallback


def _pick(owners: list[tuple[str, str]], said: str, product: str | None) -> str:
    """The KB spelling of a code: the caller's product's, else the one said, else the first."""
    for code, owner in owners:
        if owner == product:
            return code
    for code, _ in owners:
        if code == said:
            return code
    return owners[0][0] if len(owners) == 1 else said


def _hardware_id(text: str) -> str | None:
    m = HARDWARE_ID.search(text)
    return m.group(1).upper() if m else None


def find_address(text: str) -> str | None:
    """The customer's address said in text (after 地址/住在…, or an address-shaped span)."""
    m = ADDRESS_TRIGGER.search(text)
    if m:
        rest = ADDRESS_GAP.sub("", text[m.end() :])
        stop = ADDRESS_STOP.search(rest)
        candidate = rest[: stop.start()] if stop else rest
        candidate = candidate.strip(" ，,。:：").removeprefix("在")
        if len(candidate) >= 3 and ADDRESS_MARK.search(candidate):
            return candidate
    m2 = ADDRESS_SPAN.search(text)
    return m2.group(1).lstrip("在住是于到") if m2 else None


def find_name(text: str) -> str | None:
    """The customer's name said in text (王女士, 我叫张伟, 姓李…先生)."""
    m = NAME_TITLE.search(text)
    if m and m.group(1) in SURNAMES and m.group(2):
        return m.group(1) + m.group(2)
    m = FULL_NAME.search(text)
    if m and m.group(1)[0] in SURNAMES:
        return m.group(1)
    for m in TITLED.finditer(text):
        if m.group(1) in SURNAMES:
            return m.group(1) + m.group(2)
    return None


def named_by_front(lower: str, vocab: Vocabulary) -> str | None:
    """The product type whose name's front (name_fronts) the lower-cased text says; the
    longest such word wins."""
    found = [(len(w), t) for w, t in vocab.fronts.items() if w in lower]
    return max(found)[1] if found else None
