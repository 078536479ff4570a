"""Where a chat says the customer is: addresses as people type them (姑苏区十全街 南园新村
33幢 201), in pieces over several messages (the estate now, the flat a quarter of an hour
later), kept as written with the spaces dropped."""

import re

from triage import phones
from triage.rules import get_rules

FLAT = re.compile(
    r"\d{1,3}(?:幢|栋|号楼)(?:\d{1,2}单元)?(?:\d{2,4}(?:室|号)?)?|\d{1,2}单元\d{2,4}室?"
)
UNIT = re.compile(r"(幢|栋|单元|号楼|楼|层|室|车位|\d{3,4}$|\d+-\d+(?:-\d+)?$)")
# Words of a place in a Chinese address, and the label that introduces one.
PLACE = re.compile(
    r"(省|市|区|县|镇|乡|街道|路|街|大道|巷|弄|村|苑|园|小区|花园|新村|公寓|大厦|大楼|广场|中心|新城"
    r"|湾|府|庭|邸|城|幢|栋|单元|号楼|室|车位|车库|地库|停车场|充电站|门卫|物业"
    r"|(?<!\d)\d{1,3}-\d{1,4}(?:-\d{1,4})?(?!\d))"
)
ADDRESS_LABEL = re.compile(
    r"^(?:.{0,6}?(?:地址|住址)(?:都|也)?(?:是|在|为)?|(?:我家|家|我)?住在|我家在|我在|在)[:：\s]*"
)
# A token up to its flat (滨江区长河路8号3幢402 of 滨江区长河路8号3幢402洗衣机不脱水).
FLAT_END = re.compile(
    r"(?:[\u4e00-\u9fff\dA-Za-z\-]*?(?:区|市|县|镇|路|街|大道|巷|弄|村|苑|园|小区|花园|新村|公寓|大厦|大楼|号))?"
    r"(?:\d{1,4}(?:幢|栋|号楼|单元|室|号))+\d{0,4}室?"
)
FILLER = re.compile(r"^(?:对|嗯|好的?|就是?|是|在|一样|还是)[的，,\s]*")
CLAUSE = re.compile(r"[，,。；;！!？?\n]")
NOT_PLACE = re.compile(
    r"(电话|手机|座机|联系|先生|女士|阿姨|经理|型号|显示|故障|报修|坏|漏|不|吗|呢|吧|了|路上|马上|上门"
    r"|冷冻|冷藏|结冰)"
)


def _is_place(body: str, labelled: bool) -> bool:
    if not PLACE.search(body) or NOT_PLACE.search(body) or len(body) > 40:
        return False
    if phones.numbers(body):
        return False  # 孙工0512-66857320转3 is a contact
    if any(len(w) > 1 and w in body.lower() for w in get_rules().synonym_to_product):
        return False  # 门卫室那个热水器: the appliance, not where it is
    return labelled or len(PLACE.findall(body)) >= 2 or bool(FLAT.fullmatch(body))


def _token_runs(clause: str) -> list[str]:
    """Runs of place tokens typed apart (金门路 华阳公寓 3幢 1106 of …1106 陶先生), joined."""
    runs, run = [], []
    for token in re.split(r"\s+", clause):
        placeish = _is_place(token, True)
        number = bool(run) and bool(re.fullmatch(r"[\d\-]+(?:室|号|楼)?", token))
        if (placeish or number) and not phones.numbers(token):
            run.append(token)
            continue
        if run:
            runs.append("".join(run))
        run = []
    if run:
        runs.append("".join(run))
    return [r for r in runs if len(PLACE.findall(r)) >= 2 or FLAT.search(r)]


def _span_in(clause: str) -> str | None:
    """A place inside a clause that says more (王女士 138… 滨江区江南大道88号3栋201 空调不制冷;
    滨江区长河路8号3幢402洗衣机不脱水): the longest run of place tokens, or a token's part up
    to its flat."""
    for segment in re.split(r"[:：]", clause)[1:]:
        if _is_place(re.sub(r"\s+", "", segment), True):
            return re.sub(r"\s+", "", segment)  # 姚阿姨发来了：相城区 元和街道 …
    best = max(_token_runs(clause), key=len, default="")
    for token in re.split(r"[\s:：]+", clause):
        token = ADDRESS_LABEL.sub("", token)
        if _is_place(token, False):
            candidate = token
        elif m := FLAT_END.search(token):
            candidate = m.group(0)
        else:
            continue
        if not NOT_PLACE.search(candidate) and len(candidate) > len(best):
            best = candidate
    return best or None


def address_pieces(text: str) -> list[tuple[str, bool]]:
    """Where a message says a place, as written (spaces dropped): the clause after 地址/住在,
    or a clause that is all place words (姑苏区十全街 南园新村 33幢 201), else the place inside
    a clause that says more, else the flat in a sentence about the fault (12幢那台电梯… →
    12幢); each with whether it was introduced as an address."""
    pieces = []
    for clause in CLAUSE.split(text):
        clause = clause.strip()
        labelled = ADDRESS_LABEL.match(clause)
        after = clause[labelled.end() :] if labelled else clause
        head, _, rest = after.strip().partition(" ")
        if labelled and rest and not PLACE.search(head) and re.search(r"[我问了是就的]", head):
            after = rest  # 地址我也问了 狮山街道 …: the words before the place
        body = FILLER.sub("", after).strip()
        body = re.sub(r"\s+", "", body)
        if not body:
            continue
        if _is_place(body, bool(labelled)):
            pieces.append((body, bool(labelled)))
        elif span := _span_in(clause):
            pieces.append((span, False))
        elif flat := FLAT.search(body):
            pieces.append((flat.group(0), False))
    return pieces


def joined_address(texts: list[str]) -> str | None:
    """The address of a request, as written, from the place its messages name: pieces over
    several messages joined in order (翠苑三区 … 3幢2单元1202); None when none is said."""
    said = [(p, labelled) for t in texts for p, labelled in address_pieces(t)]
    if not said:
        return None
    # An address introduced as one (地址…, 住在…) outranks a place said in passing before it.
    first = next((k for k, (_, labelled) in enumerate(said) if labelled), 0)
    pieces = [p for p, _ in said[first:]]
    joined = pieces[0]
    for piece in pieces[1:]:
        if piece in joined or joined in piece:
            joined = max(joined, piece, key=len)
        elif not UNIT.search(joined) and UNIT.search(piece):
            joined += piece  # the building and flat after the estate
    return joined
