"""The test DNS server (tests/dnsserver.py) answers as real authoritative servers do."""

from __future__ import annotations

import socket
import threading

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.dnsserver import LoopbackDns


def ask(server: LoopbackDns, name: str, rtype: str, *, tcp: bool = False, timeout: float = 2.0) -> dns.message.Message:
    query = dns.message.make_query(name, rtype)
    host, port = server.address
    if tcp:
        return dns.query.tcp(query, host, timeout=timeout, port=port)
    return dns.query.udp(query, host, timeout=timeout, port=port, raise_on_truncation=False)


def answer_text(response: dns.message.Message) -> list[str]:
    return [line for rrset in response.answer for line in rrset.to_text().splitlines()]


def test_address_and_spec(loopback_dns: LoopbackDns) -> None:
    host, port = loopback_dns.address
    assert host == "127.0.0.1" and port > 0
    assert loopback_dns.spec == f"127.0.0.1:{port}"


def test_records_over_udp_and_tcp(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set("Www.Example.net.", "A", "192.0.2.1", "192.0.2.2", ttl=30)
    for tcp in (False, True):
        response = ask(loopback_dns, "www.example.net", "A", tcp=tcp)
        assert response.rcode() == dns.rcode.NOERROR
        assert response.flags & dns.flags.AA
        assert sorted(answer_text(response)) == [
            "www.example.net. 30 IN A 192.0.2.1",
            "www.example.net. 30 IN A 192.0.2.2",
        ]
    assert loopback_dns.queries() == [("www.example.net", "A")] * 2
    assert loopback_dns.queries(transport="tcp") == [("www.example.net", "A")]


def test_nxdomain_nodata_and_empty_non_terminals(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set("_cf-custom-hostname.shop.example.net", "TXT", "token")
    nodata = ask(loopback_dns, "_cf-custom-hostname.shop.example.net", "A")
    assert (nodata.rcode(), nodata.answer) == (dns.rcode.NOERROR, [])
    between = ask(loopback_dns, "shop.example.net", "A")  # exists: it has a name below it
    assert (between.rcode(), between.answer) == (dns.rcode.NOERROR, [])
    unknown = ask(loopback_dns, "other.example.net", "TXT")
    assert (unknown.rcode(), unknown.answer) == (dns.rcode.NXDOMAIN, [])


def test_txt_records_with_several_strings(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set("t.example.net", "TXT", ("a b", "c"), "d")
    assert sorted(answer_text(ask(loopback_dns, "t.example.net", "TXT"))) == [
        't.example.net. 60 IN TXT "a b" "c"',
        't.example.net. 60 IN TXT "d"',
    ]


def test_a_cname_answers_every_type_alone_or_with_the_whole_chain(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set("shop.example.net", "CNAME", "one.example.org")
    loopback_dns.set("one.example.org", "CNAME", "edge.zone.example")
    loopback_dns.set("edge.zone.example", "A", "192.0.2.1")
    for rtype in ("A", "AAAA", "TXT", "CNAME"):
        assert answer_text(ask(loopback_dns, "shop.example.net", rtype)) == [
            "shop.example.net. 60 IN CNAME one.example.org."
        ]
    loopback_dns.answer_whole_chains()
    assert answer_text(ask(loopback_dns, "shop.example.net", "A")) == [
        "shop.example.net. 60 IN CNAME one.example.org.",
        "one.example.org. 60 IN CNAME edge.zone.example.",
        "edge.zone.example. 60 IN A 192.0.2.1",
    ]
    assert answer_text(ask(loopback_dns, "shop.example.net", "CNAME")) == [
        "shop.example.net. 60 IN CNAME one.example.org."
    ]
    loopback_dns.delete("edge.zone.example")
    dangling = ask(loopback_dns, "shop.example.net", "A")
    assert dangling.rcode() == dns.rcode.NXDOMAIN and len(dangling.answer) == 2


def test_a_looping_chain_is_answered_without_hanging(loopback_dns: LoopbackDns) -> None:
    loopback_dns.answer_whole_chains()
    loopback_dns.set("a.example.org", "CNAME", "b.example.org")
    loopback_dns.set("b.example.org", "CNAME", "a.example.org")
    assert len(ask(loopback_dns, "a.example.org", "A").answer) == 2


def test_big_answers_are_truncated_over_udp_and_whole_over_tcp(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set("big.example.net", "TXT", *(f"{i:03d}" + "y" * 100 for i in range(10)))  # > 512 bytes
    over_udp = ask(loopback_dns, "big.example.net", "TXT")
    assert over_udp.flags & dns.flags.TC and over_udp.answer == []
    assert len(ask(loopback_dns, "big.example.net", "TXT", tcp=True).answer[0]) == 10


def test_modes_per_name_and_for_every_name(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set("a.example.net", "A", "192.0.2.1")
    loopback_dns.set("b.example.net", "A", "192.0.2.2")
    loopback_dns.servfail("a.example.net")
    assert ask(loopback_dns, "a.example.net", "A").rcode() == dns.rcode.SERVFAIL
    assert ask(loopback_dns, "b.example.net", "A").rcode() == dns.rcode.NOERROR
    loopback_dns.refuse()
    assert ask(loopback_dns, "a.example.net", "A").rcode() == dns.rcode.SERVFAIL  # the name's own mode first
    assert ask(loopback_dns, "b.example.net", "A").rcode() == dns.rcode.REFUSED
    loopback_dns.heal("a.example.net")
    assert ask(loopback_dns, "a.example.net", "A").rcode() == dns.rcode.REFUSED
    loopback_dns.heal()
    assert ask(loopback_dns, "a.example.net", "A").rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("tcp", [False, True])
def test_dropped_queries_time_out(loopback_dns: LoopbackDns, tcp: bool) -> None:
    loopback_dns.drop("a.example.net")
    with pytest.raises(dns.exception.Timeout):
        ask(loopback_dns, "a.example.net", "A", tcp=tcp, timeout=0.2)
    assert loopback_dns.count("a.example.net", "A") == 1  # asked, and logged, but never answered


def test_truncate_mode_sends_clients_to_tcp(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set("a.example.net", "A", "192.0.2.1")
    loopback_dns.truncate()
    assert ask(loopback_dns, "a.example.net", "A").flags & dns.flags.TC
    assert answer_text(ask(loopback_dns, "a.example.net", "A", tcp=True)) == ["a.example.net. 60 IN A 192.0.2.1"]


def test_the_log_filters_counts_and_clears(loopback_dns: LoopbackDns) -> None:
    for name, rtype in [("a.example.net", "A"), ("A.example.net", "AAAA"), ("b.example.net", "TXT")]:
        ask(loopback_dns, name, rtype)
    assert loopback_dns.queries("a.example.net.") == [("a.example.net", "A"), ("a.example.net", "AAAA")]
    assert loopback_dns.queries(rtype="txt") == [("b.example.net", "TXT")]
    assert loopback_dns.count("a.example.net") == 2
    assert loopback_dns.count("a.example.net", "AAAA") == 1
    loopback_dns.clear_log()
    assert loopback_dns.queries() == []


def test_set_and_delete(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set("a.example.net", "A", "192.0.2.1")
    loopback_dns.set("a.example.net", "A", "192.0.2.9")  # replaces
    loopback_dns.set("a.example.net", "AAAA", "2001:db8::1")
    assert answer_text(ask(loopback_dns, "a.example.net", "A")) == ["a.example.net. 60 IN A 192.0.2.9"]
    loopback_dns.delete("a.example.net", "A")
    assert ask(loopback_dns, "a.example.net", "A").answer == []
    loopback_dns.delete("a.example.net")
    assert ask(loopback_dns, "a.example.net", "AAAA").rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize(
    ("rtype", "values", "message"),
    [
        ("MX", ("10 mail.example.net",), "serves A, AAAA, CNAME, TXT"),
        ("A", ("2001:db8::1",), "not an IPv4 address"),
        ("AAAA", ("192.0.2.1",), "not an IPv6 address"),
        ("CNAME", ("x.example", "y.example"), "at most one CNAME"),
        ("A", (), "at least one value"),
    ],
)
def test_set_refuses_what_a_zone_cannot_hold(
    loopback_dns: LoopbackDns, rtype: str, values: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        loopback_dns.set("a.example.net", rtype, *values)


def test_a_cname_stands_alone(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set("a.example.net", "A", "192.0.2.1")
    with pytest.raises(ValueError, match="cannot have a CNAME and other records"):
        loopback_dns.set("a.example.net", "CNAME", "b.example.net")
    loopback_dns.set("c.example.net", "CNAME", "b.example.net")
    with pytest.raises(ValueError, match="cannot have a CNAME and other records"):
        loopback_dns.set("c.example.net", "TXT", "x")


def test_stop_closes_the_sockets_and_the_thread() -> None:
    before = set(threading.enumerate())
    with LoopbackDns() as server:
        host, port = server.address
        with socket.create_connection((host, port), timeout=2):  # an open TCP client at stop time
            pass
        conn = socket.create_connection((host, port), timeout=2)
    conn.close()
    assert set(threading.enumerate()) == before
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((host, port))  # both ports are free again
    with socket.socket() as tcp:
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT, but not a listener
        tcp.bind((host, port))
        tcp.listen(1)
    server.stop()  # a second stop does nothing
