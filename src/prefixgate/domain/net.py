"""Strict parsing of addresses and CIDRs, and the range keys used to index them.

Inside prefixgate a CIDR is an `ipaddress` network. Strings exist only at the edges, and
the edge accepts only the canonical text of a network: the form `str(network)` prints.
Anything else is refused with a message that names the canonical form when there is one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

from .codes import Code
from .errors import InvalidInput

__all__ = [
    "IPAddress",
    "IPNetwork",
    "RangeKey",
    "address_key",
    "is_public",
    "non_public_reason",
    "parse_cidr",
    "parse_ip",
    "range_key",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAX_TEXT: Final = 64  # the longest IPv6 CIDR is 43 characters


@dataclass(frozen=True, slots=True)
class RangeKey:
    """A network as (family, first, last), each key 16 bytes big-endian.

    Byte strings of equal length compare like the integers they encode, on SQLite (memcmp)
    and on PostgreSQL (bytea) alike, so one B-tree index answers containment questions.
    """

    family: int
    start: bytes
    end: bytes


def _key(value: int) -> bytes:
    return value.to_bytes(16, "big")


def range_key(net: IPNetwork) -> RangeKey:
    """Return the index key of a network."""
    return RangeKey(net.version, _key(int(net.network_address)), _key(int(net.broadcast_address)))


def address_key(ip: IPAddress) -> tuple[int, bytes]:
    """Return (family, key) of one address, comparable with `RangeKey` bounds."""
    return ip.version, _key(int(ip))


def _reject_oddities(text: str, what: str) -> None:
    if len(text) > _MAX_TEXT:
        raise InvalidInput(f"{what} is too long to be an IP address or CIDR", code=Code.INVALID_CIDR)
    if text != text.strip() or any(c.isspace() for c in text):
        raise InvalidInput(f"{what} {text.strip()!r} must not contain whitespace", code=Code.INVALID_CIDR)
    if "%" in text:
        raise InvalidInput(f"{what} {text!r} has an IPv6 zone id; zone ids are not routable", code=Code.INVALID_CIDR)


def _reject_mapped(net_or_ip: IPNetwork | IPAddress, text: str) -> None:
    if isinstance(net_or_ip, ipaddress.IPv6Address):
        inside, around = net_or_ip in _V4_MAPPED, False
    elif isinstance(net_or_ip, ipaddress.IPv6Network):
        inside = net_or_ip.subnet_of(_V4_MAPPED)
        around = not inside and net_or_ip.overlaps(_V4_MAPPED)
    else:
        return
    if inside:
        raise InvalidInput(
            f"{text!r} is an IPv4-mapped IPv6 address; use the IPv4 form instead", code=Code.INVALID_CIDR
        )
    if around:
        raise InvalidInput(
            f"{text!r} contains the IPv4-mapped range {_V4_MAPPED}, which is IPv4 space written as IPv6",
            code=Code.INVALID_CIDR,
        )


def parse_cidr(text: str, *, what: str = "cidr") -> IPNetwork:
    """Parse the canonical text of an IPv4 or IPv6 network.

    Raises:
        InvalidInput: the text is not a CIDR (code 1100), or is not in canonical form (1101),
            e.g. host bits set (`1.2.3.4/24`), upper case or uncompressed IPv6, no prefix length.
    """
    _reject_oddities(text, what)
    if "/" not in text:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise InvalidInput(f"{what} {text!r} is not a valid CIDR", code=Code.INVALID_CIDR) from None
        _reject_mapped(ip, text)
        canonical = f"{ip}/{ip.max_prefixlen}"
        raise InvalidInput(
            f"{what} {text!r} has no prefix length; write it as {canonical}", code=Code.NON_CANONICAL_CIDR
        )
    addr, _, length = text.partition("/")
    if not length.isdigit() or not length.isascii():
        raise InvalidInput(f"{what} {text!r} must end in /<prefix length>, a decimal number", code=Code.INVALID_CIDR)
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a valid CIDR", code=Code.INVALID_CIDR) from None
    _reject_mapped(loose, text)
    canonical = str(loose)
    if text != canonical:
        host_bits = ipaddress.ip_address(addr) != loose.network_address
        hint = "host bits are set" if host_bits else "it is not in canonical form"
        raise InvalidInput(
            f"{what} {text!r} is not canonical ({hint}); did you mean {canonical}?", code=Code.NON_CANONICAL_CIDR
        )
    return loose


def parse_ip(text: str, *, what: str = "ip") -> IPAddress:
    """Parse one IPv4 or IPv6 address in canonical form.

    Raises:
        InvalidInput: not an address (code 1500) or not canonical (1101).
    """
    _reject_oddities(text, what)
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a valid IP address", code=Code.INVALID_IP) from None
    _reject_mapped(ip, text)
    if str(ip) != text:
        raise InvalidInput(f"{what} {text!r} is not canonical; write it as {ip}", code=Code.NON_CANONICAL_CIDR)
    return ip


_V4_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")

# Special-purpose space (IANA registries) that can never be a customer's routed prefix.
_NON_PUBLIC_V4: Final = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_GLOBAL_UNICAST_V6: Final = ipaddress.IPv6Network("2000::/3")
_NON_PUBLIC_V6: Final = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID ...)
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "3fff::/20",  # documentation
    )
)


def non_public_reason(net: IPNetwork) -> str | None:
    """Return why a network is not public unicast space, or None when it is."""
    if isinstance(net, ipaddress.IPv4Network):
        for block in _NON_PUBLIC_V4:
            if net.overlaps(block):
                return f"it overlaps special-purpose range {block}"
        return None
    if not net.subnet_of(_GLOBAL_UNICAST_V6):
        return f"it is outside global unicast space {_GLOBAL_UNICAST_V6}"
    for block6 in _NON_PUBLIC_V6:
        if net.overlaps(block6):
            return f"it overlaps special-purpose range {block6}"
    return None


def is_public(net: IPNetwork) -> bool:
    """True when no address of `net` is private, loopback, link-local, multicast, reserved or documentation."""
    return non_public_reason(net) is None
