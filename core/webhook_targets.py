"""Where the service may post webhooks: public addresses only.

A webhook URL is typed in by a person (a department's contact, a technician's WeCom robot), and
the service posts to it from inside the company network. Pointed at 127.0.0.1, 10.x, 169.254.x
(cloud metadata) or fd00::, it would make the service a messenger into that network. Such
targets are refused unless an admin allow-lists the network (`HOTLINE_WEBHOOK_ALLOW_PRIVATE`,
e.g. an on-premises relay). The host is resolved and every address it resolves to is checked,
IPv4 and IPv6 (an IPv6 address that carries an IPv4 one — mapped, 6to4, NAT64 — counts as
that), and the post goes to the address that was checked. Redirects are never followed by the
sender (core.notify), so a public URL cannot bounce the post inward.
"""

import ipaddress
import socket
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from core.errors import ApiError
from core.settings import get_settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedTarget(ValueError):
    """The URL may not be posted to; the message says why."""


@lru_cache(maxsize=8)
def parse_networks(spec: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, ::1` → networks (a bare address is a one-address network)."""
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()
    )


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _plain(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), else address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(address: Address, allowed: tuple[Network, ...]) -> str | None:
    """Why address may not be posted to (None: it may)."""
    address = _plain(address)
    if any(address.version == n.version and address in n for n in allowed):
        return None
    if address.is_global and not address.is_multicast:
        return None
    kind = (
        "loopback"
        if address.is_loopback
        else "link-local"
        if address.is_link_local
        else "private"
        if address.is_private
        else "non-public"
    )
    return f"{address} is a {kind} address (allow it with HOTLINE_WEBHOOK_ALLOW_PRIVATE)"


def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # A scoped IPv6 address comes back as "fe80::1%eth0".
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


class Target(NamedTuple):
    """Where to send a checked URL: the same URL with its host replaced by the checked
    address, and the name to send as Host and to verify the TLS certificate against."""

    url: str
    host_header: str
    hostname: str


def check(url: str, *, unresolvable_ok: bool = False) -> Target | None:
    """Raise RefusedTarget unless url is http(s) and every address of its host may be posted
    to; the target pinned to the first address (None for an unresolvable host, which passes
    only with unresolvable_ok: it is checked again when sent)."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket, "http://[::1"
        raise RefusedTarget(f"{url!r} is not an http(s) URL with a host") from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise RefusedTarget(f"{url!r} is not an http(s) URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedTarget(f"{url!r} has an invalid port") from exc
    try:
        addresses = _addresses(hostname, port)
    except (OSError, UnicodeError) as exc:
        if unresolvable_ok:
            return None
        raise RefusedTarget(f"{hostname} does not resolve: {exc}") from exc
    allowed = parse_networks(get_settings().webhook_allow_private)
    for address in addresses:
        if (why := refusal(address, allowed)) is not None:
            raise RefusedTarget(f"webhook target {hostname} refused: {why}")
    # Connect to the address just checked: resolving again when connecting would let a DNS
    # answer that changes in between (rebinding) reach an address never checked.
    first = addresses[0]
    literal = f"[{first}]" if first.version == 6 else str(first)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return Target(
        url=urlunsplit(parts._replace(netloc=netloc)),
        host_header=parts.netloc.rsplit("@", 1)[-1],
        hostname=hostname,
    )


def check_configured(url: str | None, *, field: str) -> None:
    """A webhook URL being saved: 422 `webhook_target_refused` if it may not be posted to (a
    host that does not resolve yet is accepted; every delivery checks again)."""
    if not url:
        return
    try:
        check(url, unresolvable_ok=True)
    except RefusedTarget as exc:
        raise ApiError(422, "webhook_target_refused", f"{field}: {exc}") from exc
