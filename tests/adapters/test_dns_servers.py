"""parse_dns_server / format_dns_server: the HOST[:PORT] form of the DNS server setting."""

from __future__ import annotations

import pytest

from prefixgate.adapters.dns import format_dns_server, parse_dns_server


@pytest.mark.parametrize(
    ("text", "server"),
    [
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("127.0.0.1", ("127.0.0.1", 53)),
        (" 192.0.2.53:53 ", ("192.0.2.53", 53)),
        ("[::1]:53", ("::1", 53)),
        ("[::1]", ("::1", 53)),
        ("[2001:DB8:0::53]:65535", ("2001:db8::53", 65535)),
        ("10.0.0.1:1", ("10.0.0.1", 1)),
    ],
)
def test_accepted_forms(text: str, server: tuple[str, int]) -> None:
    assert parse_dns_server(text) == server


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "is empty"),
        ("  ", "is empty"),
        ("dns.example:53", "is not an IP address"),
        ("localhost", "is not an IP address"),
        ("127.0.0.1:", "must be a number from 1 to 65535"),
        ("127.0.0.1:0", "must be a number from 1 to 65535"),
        ("127.0.0.1:65536", "must be a number from 1 to 65535"),
        ("127.0.0.1:53a", "must be a number from 1 to 65535"),
        ("127.0.0.1:-53", "must be a number from 1 to 65535"),
        ("127.0.0.1:\u0665\u0663", "must be a number from 1 to 65535"),  # Arabic-Indic digits
        ("::1", "write an IPv6 address in brackets"),
        ("2001:db8::53:53", "write an IPv6 address in brackets"),
        ("[::1", "unclosed or misplaced bracket"),
        ("[::1]53", "unclosed or misplaced bracket"),
        ("[127.0.0.1]:53", "only IPv6 addresses go in brackets"),
        ("[::1]:99999", "must be a number from 1 to 65535"),
        ("[nonsense:]:53", "is not an IP address"),
        ("127.0.0.256:53", "is not an IP address"),
    ],
)
def test_refused_forms_say_why_and_quote_the_text(text: str, why: str) -> None:
    with pytest.raises(ValueError, match="a DNS server is an IP address with an optional port") as err:
        parse_dns_server(text)
    assert why in str(err.value)
    assert repr(text) in str(err.value)


@pytest.mark.parametrize("text", ["127.0.0.1:5353", "[::1]:53", "[2001:db8::53]:5300"])
def test_format_is_the_inverse(text: str) -> None:
    assert format_dns_server(parse_dns_server(text)) == text
