"""The customer's progress link: `<public url>/c/<ticket id>.<expiry>.<signature>`, no login.

The signature is an HMAC-SHA256 of "<ticket id>.<expiry>" with a secret from settings (or one
generated once and kept under the data dir), so a link names exactly one ticket and cannot be
forged or walked to a neighbour. The expiry is the start of the issuing UTC day plus the TTL:
a link is the same all day (notifications and page views agree) and lives at least the TTL.
"""

import base64
import hashlib
import hmac
import os
import secrets
import uuid
from functools import lru_cache
from pathlib import Path

from core import clock, public_url
from core.errors import ApiError
from core.settings import get_settings

PATH = "/c"
DAY_S = 86_400
SIG_BYTES = 18  # 144 bits: forging one by guessing is out of reach


@lru_cache
def _stored_secret(data_dir: Path) -> bytes:
    """The generated key under data_dir, created by whichever process comes first."""
    path = data_dir / "customer_link.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".customer_link.{uuid.uuid4().hex}")
        tmp.write_text(secrets.token_hex(32))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic: a concurrent first process keeps its own key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def _secret() -> bytes:
    settings = get_settings()
    if settings.customer_link_secret:
        return settings.customer_link_secret.encode()
    return _stored_secret(settings.data_dir.resolve())


def _sign(ticket_id: int, expires: int) -> str:
    mac = hmac.new(_secret(), f"{ticket_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:SIG_BYTES]).decode().rstrip("=")


def token_for(ticket_id: int) -> str:
    """The signed token of a ticket's link, valid until the end of its TTL."""
    ttl_s = int(get_settings().customer_link_ttl_days * DAY_S)
    today = int(clock.now().timestamp()) // DAY_S * DAY_S
    expires = today + DAY_S + ttl_s
    return f"{ticket_id}.{expires}.{_sign(ticket_id, expires)}"


def link_for(ticket_id: int, *, sent: bool = False) -> str:
    """The customer's progress page of a ticket (absolute URL) on the service's public address
    (`core.public_url`); sent=True for a link that goes out in a message (SMS, WeChat)."""
    base = public_url.sent_base_url() if sent else public_url.base_url()
    return f"{base}{PATH}/{token_for(ticket_id)}"


def verify(token: str) -> int:
    """The ticket id a token names; 403 for anything not signed by us (the same answer
    whether or not that ticket exists), 410 for a genuine link past its expiry."""
    invalid = ApiError(403, "invalid_link", "链接无效：请使用短信或微信中收到的完整链接。")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(token) > 80:
        raise invalid
    ticket_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(parts[2].encode(), _sign(ticket_id, expires).encode()):
        raise invalid
    if expires <= clock.now().timestamp():
        raise ApiError(410, "link_expired", "链接已过期：请拨打客服热线获取新的进度链接。")
    return ticket_id
