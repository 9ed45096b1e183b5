"""DNS server addresses as operators write them: `127.0.0.1:5353`, `[::1]:53`, `192.0.2.53` (port 53)."""

from __future__ import annotations

from ipaddress import IPv6Address, ip_address

__all__ = ["DnsServer", "format_dns_server", "parse_dns_server"]

DnsServer = tuple[str, int]  # (an IP address, a port)

_FORM = "a DNS server is an IP address with an optional port, such as 127.0.0.1:5353, 127.0.0.1 or [::1]:53"


def parse_dns_server(text: str) -> DnsServer:
    """`HOST[:PORT]` → (address, port); the port defaults to 53, IPv6 addresses go in brackets.

    The host must be an IP address: naming the resolver by a name would need a resolver first.

    Raises:
        ValueError: the text is not of that form; the message quotes it.
    """
    value = text.strip()
    if not value:
        raise ValueError(f"{_FORM}; the value {text!r} is empty")
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{_FORM}; {text!r} has an unclosed or misplaced bracket")
        port_text: str | None = rest[1:] if rest else None
        if ":" not in host:
            raise ValueError(f"{_FORM}; only IPv6 addresses go in brackets, not {text!r}")
    elif value.count(":") > 1:
        raise ValueError(f"{_FORM}; write an IPv6 address in brackets, as [{value}] or [{value}]:53, not {text!r}")
    else:
        host, colon, port_text_raw = value.partition(":")
        port_text = port_text_raw if colon else None
    try:
        address = ip_address(host)
    except ValueError:
        where = f"{text!r}" if host == value else f"{host!r} in {text!r}"
        raise ValueError(f"{_FORM}; {where} is not an IP address") from None
    port = 53 if port_text is None else _port(port_text, text)
    return str(address), port


def format_dns_server(server: DnsServer) -> str:
    """The inverse of parse_dns_server: `127.0.0.1:5353`, `[::1]:53`."""
    host, port = server
    return f"[{host}]:{port}" if isinstance(ip_address(host), IPv6Address) else f"{host}:{port}"


def _port(port_text: str, text: str) -> int:
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{_FORM}; the port in {text!r} must be a number from 1 to 65535")
    return int(port_text)
