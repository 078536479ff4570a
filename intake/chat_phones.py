"""Which numbers in a chat request's messages are for calling its customer.

A request gathers what several people said. The customer's numbers are kept (their own, a
spouse's, one staff read back or a relay passed on); a number someone gives as their own when
they are not the customer (我是万达店小陈 138…, 有事打我, a technician's 我电话…, staff's 师傅电话…)
is not the customer's and is masked from the request's words before its phone is read, and so
is a company's 400 line. A relay's own number is given for the request too, but the customer's
is the one to call; a technician's own number stays only when it is the only one given.
"""

import re

from intake.chat_address import CLAUSE
from intake.chat_roles import CUSTOMER, RELAY, STAFF, TECHNICIAN
from triage import phones
from triage.dialect import mandarin

# Said just before a number, in its clause: the speaker's own (我是…, 我电话, 有事打我) …
OWN = re.compile(
    r"(?:我是|我的是|我的?(?:电话|手机|号码|号)|打我|找我|联系我|本人|有事(?:打|找|联系|call)?|我这边)"
)
# … a technician's (师傅电话, 师傅老张) …
FITTER = re.compile(r"(?:师傅|技术员|工程师|维修员)")
# … or the customer's (业主电话, 她老公的, 王女士), which wins over the others in the same clause.
THEIRS = re.compile(
    r"(?:业主|客户|顾客|住户|用户|户主|车主|房东|租客|家属|联系人|[他她](?:的|家|电话|手机|号码)|老公|老婆|爱人|儿子|女儿|家里"
    r"|先生|女士|小姐|阿姨|大姐|大爷|奶奶|爷爷|老师|经理|主管|负责人|对接人|行政|前台|值班)"
)


def customer_texts(
    texts: list[str], senders: list[str], owner: str, roles: dict[str, str]
) -> list[str]:
    """The request's words (texts[k] said by senders[k]) with the numbers that are not its
    customer's masked; the owner's own number stays when no other number is left."""
    masked = _masked(texts, senders, owner, roles, keep_own=False)
    if phones.numbers("；".join(masked)):
        return masked
    return _masked(texts, senders, owner, roles, keep_own=True)


def numbers_for_customer(text: str) -> list[str]:
    """The numbers of one message that are not given as the speaker's or a technician's own
    (现场联系我 181… is the speaker's)."""
    return [p.number for p in phones.find(text) if _whose(text, p.start) not in ("own", "fitter")]


def own_numbers(
    texts: list[str], senders: list[str], owner: str, roles: dict[str, str]
) -> set[str]:
    """The numbers a relay gives as its own for a request (我的是027-…, 有事也可以找我), its
    own or a customer's it passes on: kept among the request's numbers, but the customer's is
    the one to call."""
    return {
        phone.number
        for text, sender in zip(texts, senders, strict=True)
        if roles.get(sender) == RELAY
        for phone in phones.find(text)
        if _whose(text, phone.start) == "own"
    }


def desk_numbers(
    texts: list[str], senders: list[str], owner: str, roles: dict[str, str]
) -> list[str]:
    """The numbers a relay gave for a request as its own or its desk's (找我 曹工 139…;
    监控室电话 028…), none said to be a customer's: how to reach the relay for its next
    request too."""
    found = [
        phone.number
        for text, sender in zip(texts, senders, strict=True)
        if sender == owner and roles.get(sender) == RELAY
        for phone in phones.find(text)
        if phone.kind != "service" and _whose(text, phone.start) in ("own", None)
    ]
    return list(dict.fromkeys(found))


def customer_numbers(
    text: str, role: str, owner: bool = False, keep_own: bool = False
) -> list[str]:
    """The numbers one message gives for its request's customer, by who says it (role; owner:
    the request is theirs) and the words before each number (see _whose)."""
    return [p.number for p in phones.find(text) if _customers(text, p, role, owner, keep_own)]


def theirs(texts: list[str], senders: list[str], roles: dict[str, str]) -> set[str]:
    """The numbers a request's words give as its customer's: said by a customer, or said to
    be someone's (业主电话…, 他老婆的…) by anyone else."""
    return {
        phone.number
        for text, sender in zip(texts, senders, strict=True)
        for phone in phones.find(text)
        if roles.get(sender, CUSTOMER) == CUSTOMER or _whose(text, phone.start) == "theirs"
    }


def _customers(text: str, phone: phones.Phone, role: str, owner: bool, keep_own: bool) -> bool:
    whose = _whose(text, phone.start)
    if phone.kind == "service":
        return False  # a company's 400 line is never the customer's
    if owner:
        # A relay's own number is given for the request (not the one to call when the
        # customer's is there, see own_numbers); a technician's or staff member's is not.
        return keep_own or role not in (STAFF, TECHNICIAN) or whose not in ("own", "fitter")
    if role == STAFF:
        return whose not in ("own", "fitter") and not (whose is None and FITTER.search(text))
    if role == TECHNICIAN:
        return whose == "theirs"
    return True


def _masked(
    texts: list[str], senders: list[str], owner: str, roles: dict[str, str], keep_own: bool
) -> list[str]:
    out = []
    for text, sender in zip(texts, senders, strict=True):
        role = roles.get(sender, CUSTOMER)
        kept = text
        for phone in reversed(phones.find(text)):
            if not _customers(text, phone, role, sender == owner, keep_own):
                kept = kept[: phone.start] + kept[phone.end :]
        out.append(kept)
    return out


def _whose(text: str, start: int) -> str | None:
    """Whose a number is by the words of its clause before it: "theirs" (the customer's),
    "fitter" (a technician's), "own" (the speaker's), or None when the clause says not."""
    before = mandarin(text[:start])
    cuts = [0, *(m.end() for m in CLAUSE.finditer(before))]
    # Its own clause, else whose the clause before names (叫我联系他老公，号码 186…; not
    # 明天找我，物业电话 0512…: the speaker's number is told as such).
    kinds = (("theirs", THEIRS), ("fitter", FITTER), ("own", OWN))
    for a, b in ((cuts[-1], start), (cuts[-2], cuts[-1]) if len(cuts) > 1 else (0, 0)):
        cues = [
            (m.end(), kind)
            for kind, pattern in (kinds if b == start else kinds[:2])
            for m in pattern.finditer(before[a:b])
        ]
        if cues:
            return max(cues)[1]
        if phones.find(before[a:b]):
            break  # the clause before has a number of its own: its words are about that
    return None
