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

# Said just before a number, in its clause: the speaker's own (我是…, 我电话, 有事打我) …
OWN = re.compile(
    r"(?:我是|我的是|我的?(?:电话|手机|号码|号)|打我|找我|联系我|本人|有事(?:打|找|联系|call)?|我这边)"
)
# … a technician's (师傅电话, 师傅老张) …
FITTER = re.compile(r"(?:师傅|技术员|工程师|维修员)")
# … or the customer's (业主电话, 她老公的, 王女士), which wins over the others in the same clause.
THEIRS = re.compile(
    r"(?:业主|客户|顾客|住户|用户|户主|租客|家属|联系人|[他她](?:的|家|电话|手机|号码)|老公|老婆|爱人|儿子|女儿|家里"
    r"|先生|女士|小姐|阿姨|大姐|大爷|奶奶|爷爷|老师|经理)"
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


def own_numbers(
    texts: list[str], senders: list[str], owner: str, roles: dict[str, str]
) -> set[str]:
    """The numbers a relay gives as its own for a request (我的是027-…, 有事也可以找我): kept
    among the request's numbers, but the customer's is the one to call."""
    if roles.get(owner) != RELAY:
        return set()
    return {
        phone.number
        for text, sender in zip(texts, senders, strict=True)
        if sender == owner
        for phone in phones.find(text)
        if _whose(text, phone.start) == "own"
    }


def _masked(
    texts: list[str], senders: list[str], owner: str, roles: dict[str, str], keep_own: bool
) -> list[str]:
    out = []
    for text, sender in zip(texts, senders, strict=True):
        role = roles.get(sender, CUSTOMER)
        kept = text
        for phone in reversed(phones.find(text)):
            whose = _whose(text, phone.start)
            if phone.kind == "service":
                drop = True  # a company's 400 line is never the customer's
            elif sender == owner:
                # A relay's own number is given for the request (not the one to call when
                # the customer's is there, see own_numbers); a technician's is not.
                drop = not keep_own and role in (STAFF, TECHNICIAN) and whose in ("own", "fitter")
            elif role == STAFF:
                drop = whose in ("own", "fitter") or (whose is None and bool(FITTER.search(text)))
            elif role == TECHNICIAN:
                drop = whose != "theirs"
            else:
                drop = False
            if drop:
                kept = kept[: phone.start] + kept[phone.end :]
        out.append(kept)
    return out


def _whose(text: str, start: int) -> str | None:
    """Whose a number is by the words of its clause before it: "theirs" (the customer's),
    "fitter" (a technician's), "own" (the speaker's), or None when the clause says not."""
    clause = text[:start]
    cut = max((m.end() for m in CLAUSE.finditer(clause)), default=0)
    clause = clause[cut:]
    cues = [
        (m.end(), kind)
        for kind, pattern in (("theirs", THEIRS), ("fitter", FITTER), ("own", OWN))
        for m in pattern.finditer(clause)
    ]
    return max(cues)[1] if cues else None
