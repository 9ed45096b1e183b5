"""Spectrum's pure domain: parsing apps, bindings' longest match, the edge-IP rule, the serving
decision (domain/spectrum.py, domain/bindings.py) and DNS names (domain/dnsname.py)."""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prefixgate.domain.bindings import CDN, MAGIC_TRANSIT, SPECTRUM, Binding, Service, check_new_binding
from prefixgate.domain.bindings import effective_binding as effective
from prefixgate.domain.codes import Code
from prefixgate.domain.dnsname import is_within, parse_hostname
from prefixgate.domain.errors import Conflict, InvalidInput
from prefixgate.domain.model import Access, IpAccess, Prefix
from prefixgate.domain.spectrum import (
    MAX_STATIC_IPS,
    PROXY_PROTOCOLS,
    EdgeIps,
    OriginDns,
    PortRange,
    Protocol,
    SpectrumApp,
    check_option,
    edge_ip_problem,
    parse_origin_direct,
    parse_origin_port,
    parse_protocol,
    parse_static_ips,
    resolve_connection,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNT = "a" * 32
ip = ipaddress.ip_address
net = ipaddress.ip_network


def refused(code: int, fn: object, *args: object) -> str:
    """fn(*args) raises InvalidInput with `code`; returns the message."""
    assert callable(fn)
    with pytest.raises(InvalidInput) as info:
        fn(*args)
    assert info.value.code == code, info.value.message
    return info.value.message


# --- protocol, origin, static IPs -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "transport", "start", "end"),
    [
        ("tcp/22", "tcp", 22, 22),
        ("udp/53", "udp", 53, 53),
        ("tcp/1000-2000", "tcp", 1000, 2000),
        ("tcp/1", "tcp", 1, 1),
    ],
)
def test_parse_protocol_accepts(text: str, transport: str, start: int, end: int) -> None:
    p = parse_protocol(text)
    assert p == Protocol(transport, PortRange(start, end))
    assert str(p) == text and p.ports.size == end - start + 1


@pytest.mark.parametrize(
    "text",
    [
        *("tcp/0", "tcp/70000", "tcp/65536", "tcp/5-1", "icmp/1", "tcp/", "tcp/a", "tcp 22", "TCP/22", "tcp/22-"),
        *("tcp/022", "tcp/00022", "tcp/1000-02000"),  # not canonical: leading zeros
        *("/22", "", "tcp/22\n", "tcp/1000-2000\n", "udp/53 ", "tcp/-22", "tcp/1-2-3", "tcp/\u0662\u0662"),
    ],
)
def test_parse_protocol_refuses(text: str) -> None:
    refused(Code.INVALID_PROTOCOL, parse_protocol, text)


def test_parse_protocol_accepts_the_whole_port_space() -> None:
    assert parse_protocol("udp/1-65535").ports.size == 65535


def test_parse_origin_port_sizes_must_match() -> None:
    one, many = parse_protocol("tcp/22"), parse_protocol("tcp/1000-2000")
    assert parse_origin_port(2222, one) == PortRange(2222, 2222)
    assert parse_origin_port("22", one) == PortRange(22, 22)
    assert parse_origin_port("3000-4000", many) == PortRange(3000, 4000)
    assert "sizes must match" in refused(Code.INVALID_ORIGIN, parse_origin_port, "3000-3999", many)
    refused(Code.INVALID_ORIGIN, parse_origin_port, 3000, many)
    refused(Code.INVALID_ORIGIN, parse_origin_port, "22-23", one)
    refused(Code.INVALID_ORIGIN, parse_origin_port, 0, one)
    refused(Code.INVALID_ORIGIN, parse_origin_port, 65536, one)
    for bad in ("x", "22\n", "0", "70000", "23-22", "22 "):  # origin errors, not protocol errors
        refused(Code.INVALID_ORIGIN, parse_origin_port, bad, one)


def test_parse_origin_direct() -> None:
    tcp, udp = parse_protocol("tcp/22"), parse_protocol("udp/53")
    assert parse_origin_direct(["tcp://192.0.2.1:22", "tcp://[2001:db8::1]:2222"], tcp) == (
        "tcp://192.0.2.1:22",
        "tcp://[2001:db8::1]:2222",
    )
    assert parse_origin_direct(["udp://198.51.100.7:53"], udp) == ("udp://198.51.100.7:53",)
    for bad in (
        ["udp://192.0.2.1:22"],  # transport differs from the protocol's
        ["tcp://192.0.2.1"],
        ["tcp://192.0.2.1:0"],
        ["tcp://192.0.2.1:70000"],
        ["tcp://999.0.2.1:22"],
        ["tcp://[zz::1]:22"],
        ["tcp://origin.example.com:22"],
        ["http://192.0.2.1:22"],
        [],
        ["tcp://192.0.2.1:22"] * (MAX_STATIC_IPS + 1),
        ["tcp://192.0.2.1:22\n"],  # a newline must not reach the edge's origin list
        ["tcp://192.0.2.1:22 "],
    ):
        refused(Code.INVALID_ORIGIN, parse_origin_direct, bad, tcp)


def test_check_option_accepts_only_the_listed_values() -> None:
    assert check_option("proxy_protocol", "v2", PROXY_PROTOCOLS) == "v2"
    message = refused(Code.INVALID_FIELD, check_option, "proxy_protocol", "v3", PROXY_PROTOCOLS)
    assert message == "proxy_protocol must be one of off, v1, v2, simple, not 'v3'"


def test_parse_static_ips() -> None:
    assert parse_static_ips(["192.0.2.1", "2001:db8::1"]) == (ip("192.0.2.1"), ip("2001:db8::1"))
    assert len(parse_static_ips([f"192.0.2.{i}" for i in range(MAX_STATIC_IPS)])) == MAX_STATIC_IPS
    assert "192.0.2.1" in refused(Code.INVALID_EDGE_IPS, parse_static_ips, ["192.0.2.1", "192.0.2.2", "192.0.2.1"])
    refused(Code.INVALID_EDGE_IPS, parse_static_ips, [])
    refused(Code.INVALID_EDGE_IPS, parse_static_ips, [f"192.0.2.{i}" for i in range(MAX_STATIC_IPS + 1)])
    refused(Code.INVALID_IP, parse_static_ips, ["not-an-ip"])
    refused(Code.INVALID_IP, parse_static_ips, ["192.0.2.0/24"])
    assert "2001:db8::1" in refused(Code.NON_CANONICAL_CIDR, parse_static_ips, ["2001:DB8::1"])
    refused(Code.INVALID_CIDR, parse_static_ips, [" 192.0.2.1"])


ports = st.integers(min_value=1, max_value=64)
ranges = st.tuples(ports, ports).map(lambda t: PortRange(min(t), max(t)))


@given(ranges, ranges)
def test_port_ranges_overlap_exactly_when_they_share_a_port(a: PortRange, b: PortRange) -> None:
    shared = set(range(a.start, a.end + 1)) & set(range(b.start, b.end + 1))
    assert a.overlaps(b) == b.overlaps(a) == bool(shared)
    assert all(p in a and p in b for p in shared)


@given(ranges, st.integers(min_value=0, max_value=70))
def test_port_range_membership(r: PortRange, port: int) -> None:
    assert (port in r) == (r.start <= port <= r.end)
    assert str(r) in (str(r.start), f"{r.start}-{r.end}") and r.size == r.end - r.start + 1


# --- bindings ---------------------------------------------------------------------------------


def prefix(cidr: str = "198.18.0.0/24") -> Prefix:
    return Prefix(
        id="p" * 32,
        account_id=ACCOUNT,
        cidr=net(cidr),
        asn=13335,
        description="",
        approved="V",
        created_at=NOW,
        modified_at=NOW,
    )


def binding(cidr: str, service: Service = SPECTRUM, bid: str = "") -> Binding:
    return Binding(
        id=bid or cidr,
        prefix_id="p" * 32,
        account_id=ACCOUNT,
        cidr=net(cidr),
        service=service,
        state="active",
        created_at=NOW,
    )


def test_effective_binding_is_the_longest_match() -> None:
    bindings = [binding("198.18.0.0/24"), binding("198.18.0.0/28", CDN), binding("198.18.0.4/30")]
    for order in (bindings, bindings[::-1], [bindings[1], bindings[2], bindings[0]]):
        assert effective(order, ip("198.18.0.5")) == bindings[2]
        assert effective(order, ip("198.18.0.9")) == bindings[1]
        assert effective(order, ip("198.18.0.200")) == bindings[0]
        assert effective(order, ip("198.18.1.1")) is None
        assert effective(order, ip("2001:db8::5")) is None
    assert effective([], ip("198.18.0.1")) is None


def test_first_binding_must_cover_the_whole_prefix() -> None:
    p = prefix()
    check_new_binding(p, net("198.18.0.0/24"), [])
    assert "198.18.0.0/24" in refused(Code.BINDING_NOT_WHOLE_PREFIX, check_new_binding, p, net("198.18.0.0/25"), [])
    check_new_binding(p, net("198.18.0.0/25"), [binding("198.18.0.0/24")])
    check_new_binding(p, net("198.18.0.7/32"), [binding("198.18.0.0/24")])


@pytest.mark.parametrize("cidr", ["198.18.1.0/24", "198.18.0.0/23", "198.0.0.0/8", "2001:db8::/48"])
def test_binding_outside_the_prefix_is_refused(cidr: str) -> None:
    refused(Code.BINDING_OUTSIDE_PREFIX, check_new_binding, prefix(), net(cidr), [binding("198.18.0.0/24")])


def test_a_cidr_has_at_most_one_binding() -> None:
    existing = [binding("198.18.0.0/24", bid="whole"), binding("198.18.0.0/26", CDN, bid="part")]
    for cidr, holder in (("198.18.0.0/24", "whole"), ("198.18.0.0/26", "part")):
        with pytest.raises(Conflict) as info:
            check_new_binding(prefix(), net(cidr), existing)
        assert info.value.code == Code.BINDING_EXISTS and holder in info.value.message


# --- edge IPs and the serving decision --------------------------------------------------------


def access(allowed: bool, message: str = "why") -> IpAccess:
    return IpAccess(
        ip=ip("198.18.0.4"),
        account_id=ACCOUNT,
        access=Access.OWNED if allowed else Access.NONE,
        allowed=allowed,
        message=message,
    )


def test_edge_ip_problem() -> None:
    here = ip("198.18.0.4")
    assert edge_ip_problem(here, access(True), binding("198.18.0.0/24")) is None
    assert edge_ip_problem(here, access(False, "not yours"), binding("198.18.0.0/24")) == ("ip_not_usable", "not yours")
    assert edge_ip_problem(here, access(False, "not yours"), None) == ("ip_not_usable", "not yours")
    reason, message = edge_ip_problem(here, access(True), None) or ("", "")
    assert reason == "wrong_service" and "not bound to any service" in message
    for service in (CDN, MAGIC_TRANSIT):
        reason, message = edge_ip_problem(here, access(True), binding("198.18.0.0/30", service, "b1")) or ("", "")
        assert reason == "wrong_service" and service.name in message and "b1" in message and "198.18.0.0/30" in message


def app(status: str = "active", reason: str | None = None) -> SpectrumApp:
    protocol = parse_protocol("tcp/22")
    return SpectrumApp(
        id="app1",
        zone_id="zone1",
        account_id=ACCOUNT,
        dns_type="ADDRESS",
        dns_name="ssh.example.com",
        protocol=protocol,
        traffic_type="direct",
        edge_ips=EdgeIps("static", None, (ip("198.18.0.4"),)),
        origin_direct=("tcp://192.0.2.1:22",),
        origin_dns=None,
        origin_port=None,
        proxy_protocol="off",
        ip_firewall=False,
        tls=None,
        argo_smart_routing=False,
        created_on=NOW,
        modified_on=NOW,
        status=status,
        blocked_reason=reason,
    )


def test_resolve_connection_reasons() -> None:
    where, tcp22 = ip("198.18.0.4"), parse_protocol("tcp/22")
    none = resolve_connection(where, tcp22, None, None)
    assert (none.served, none.reason, none.app) == (False, "no_app", None)
    assert none.message == "no Spectrum app listens on tcp/22 on 198.18.0.4"
    served = resolve_connection(where, tcp22, app(), None)
    assert (served.served, served.reason, served.app) == (True, "served", app())
    assert ACCOUNT in served.message and "app1" in served.message
    blocked = app("blocked", "delegation d1 was removed")
    for problem in (None, ("ip_not_usable", "gone")):  # blocked wins: it was decided when it happened
        r = resolve_connection(where, tcp22, blocked, problem)
        assert (r.served, r.reason, r.app) == (False, "app_blocked", blocked)
        assert "delegation d1 was removed" in r.message
    for reason in ("ip_not_usable", "wrong_service"):
        r = resolve_connection(where, tcp22, app(), (reason, "because"))
        assert (r.served, r.reason, r.app) == (False, reason, app()) and "because" in r.message
    paused = resolve_connection(where, tcp22, app(), ("ip_not_usable", "gone"), zone_paused=True)
    assert (paused.served, paused.reason, paused.app) == (False, "zone_paused", app())


def test_app_origin_names_its_target() -> None:
    assert app().origin == "tcp://192.0.2.1:22"
    dns = dataclasses.replace(
        app(), origin_direct=(), origin_dns=OriginDns("origin.example.net"), origin_port=PortRange(22, 22)
    )
    assert dns.origin == "origin.example.net:22"


# --- DNS names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM.", "example.com"),
        ("a-b.x1.example.com", "a-b.x1.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        (f"{'a' * 63}.com", f"{'a' * 63}.com"),
    ],
)
def test_parse_hostname_normalises(text: str, expected: str) -> None:
    assert parse_hostname(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "com",
        "-a.example.com",
        "a-.example.com",
        "a..example.com",
        "a_b.example.com",
        " example.com",
        "example.com ",
        "exämple.com",
        "1.2.3.4",
        f"{'a' * 64}.com",
        ".".join(["abcdefghi"] * 26) + ".com",
        "*.example.com",
        "a\n.example.com",
        "ssh.example\n.com",
    ],
)
def test_parse_hostname_refuses(text: str) -> None:
    refused(Code.INVALID_FIELD, parse_hostname, text)


def test_parse_hostname_wildcards_only_when_allowed() -> None:
    assert parse_hostname("*.Example.com", allow_wildcard=True) == "*.example.com"
    refused(Code.INVALID_FIELD, lambda: parse_hostname("*.com", allow_wildcard=True))
    refused(Code.INVALID_FIELD, lambda: parse_hostname("a.*.example.com", allow_wildcard=True))


def test_is_within() -> None:
    assert is_within("example.com", "example.com")
    assert is_within("ssh.example.com", "example.com")
    assert is_within("a.b.example.com", "example.com")
    assert not is_within("notexample.com", "example.com")
    assert not is_within("example.com.evil", "example.com")
    assert not is_within("com", "example.com")
