"""DnsInspector against a real DNS server on loopback (tests/dnsserver.py): nothing is mocked."""

from __future__ import annotations

import itertools
import random
import threading
from ipaddress import ip_address
from pathlib import Path

import pytest

from prefixgate.adapters.dns import MAX_CNAME_DEPTH, DnsInspector
from prefixgate.domain.hostnames import DnsAnswer
from tests.dnsserver import LoopbackDns

HOST = "shop.example.net"
OWNERSHIP = f"_cf-custom-hostname.{HOST}"
TOKEN = "4f1c5e0a-ownership-token"


def inspect(dns: LoopbackDns, hostname: str = HOST, timeout_s: float = 2.0) -> DnsAnswer:
    return DnsInspector(dns.address, timeout_s).inspect(hostname, hostname_id="id-1", token=TOKEN, check_http=False)


def test_the_ownership_token_is_read_from_txt(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(OWNERSHIP, "TXT", TOKEN)
    assert inspect(loopback_dns).txt == (TOKEN,)
    assert loopback_dns.queries(OWNERSHIP) == [(OWNERSHIP, "TXT")]


def test_several_txt_records_are_all_given_each_with_its_strings_joined(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(OWNERSHIP, "TXT", "v=other", ("4f1c5e0a-", "ownership-token"), "")
    assert inspect(loopback_dns).txt == ("", TOKEN, "v=other")


def test_no_txt_record_is_an_empty_answer_not_a_failure(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "A", "127.0.0.1")
    answer = inspect(loopback_dns)
    assert answer.failure is None
    assert answer.txt == ()


def test_a_txt_record_behind_a_cname_is_found(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(OWNERSHIP, "CNAME", "validation.saas.example")
    loopback_dns.set("validation.saas.example", "TXT", TOKEN)
    assert inspect(loopback_dns).txt == (TOKEN,)


def test_many_txt_records_come_over_tcp_after_a_truncated_udp_answer(loopback_dns: LoopbackDns) -> None:
    records = [f"{i:02d}" + "x" * 200 for i in range(20)]  # about 4 KB: more than one UDP answer holds
    loopback_dns.set(OWNERSHIP, "TXT", *records)
    assert inspect(loopback_dns).txt == tuple(records)
    assert loopback_dns.queries(OWNERSHIP, transport="udp") == [(OWNERSHIP, "TXT")]
    assert loopback_dns.queries(OWNERSHIP, transport="tcp") == [(OWNERSHIP, "TXT")]


def test_a_server_that_always_truncates_over_udp_is_asked_again_over_tcp(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "A", "192.0.2.10")
    loopback_dns.truncate()
    assert inspect(loopback_dns).addresses == (ip_address("192.0.2.10"),)
    assert loopback_dns.count(HOST, "A") == 2  # UDP, then TCP
    assert loopback_dns.queries(HOST, "A", transport="tcp") == [(HOST, "A")]


def test_direct_a_and_aaaa_records_sorted_and_unique(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "A", "192.0.2.20", "192.0.2.3")
    loopback_dns.set(HOST, "AAAA", "2001:db8::2", "2001:DB8::1")
    answer = inspect(loopback_dns)
    assert answer == DnsAnswer(
        addresses=tuple(ip_address(a) for a in ("192.0.2.3", "192.0.2.20", "2001:db8::1", "2001:db8::2"))
    )


def test_only_aaaa_records(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "AAAA", "2001:db8::7")
    assert inspect(loopback_dns) == DnsAnswer(addresses=(ip_address("2001:db8::7"),))


def test_a_chain_of_three_cnames_is_followed_one_query_per_step(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "CNAME", "One.Example.org.")
    loopback_dns.set("one.example.org", "CNAME", "two.example.org")
    loopback_dns.set("two.example.org", "CNAME", "edge.zone.example")
    loopback_dns.set("edge.zone.example", "A", "192.0.2.1")
    loopback_dns.set("edge.zone.example", "AAAA", "2001:db8::1")
    answer = inspect(loopback_dns)
    assert answer.cname_chain == ("one.example.org", "two.example.org", "edge.zone.example")
    assert answer.addresses == (ip_address("192.0.2.1"), ip_address("2001:db8::1"))
    assert [q for q in loopback_dns.queries() if q[0] != OWNERSHIP] == [
        (HOST, "A"),
        ("one.example.org", "A"),
        ("two.example.org", "A"),
        ("edge.zone.example", "A"),
        ("edge.zone.example", "AAAA"),
    ]


def test_a_server_answering_with_the_whole_chain_gives_the_same_answer(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "CNAME", "one.example.org")
    loopback_dns.set("one.example.org", "CNAME", "two.example.org")
    loopback_dns.set("two.example.org", "CNAME", "edge.zone.example")
    loopback_dns.set("edge.zone.example", "A", "192.0.2.1")
    step_by_step = inspect(loopback_dns)
    loopback_dns.answer_whole_chains()
    assert inspect(loopback_dns) == step_by_step
    assert step_by_step.cname_chain == ("one.example.org", "two.example.org", "edge.zone.example")


def test_a_chain_ending_nowhere_gives_the_chain_and_no_addresses(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "CNAME", "gone.example.org")
    for whole in (False, True):  # NXDOMAIN after a CNAME, in one answer or in the last step's
        loopback_dns.answer_whole_chains(whole)
        assert inspect(loopback_dns) == DnsAnswer(cname_chain=("gone.example.org",))


@pytest.mark.parametrize("whole_chains", [False, True])
def test_a_cname_loop_is_a_failure_naming_the_loop(loopback_dns: LoopbackDns, whole_chains: bool) -> None:
    loopback_dns.answer_whole_chains(whole_chains)
    loopback_dns.set(HOST, "CNAME", "a.example.org")
    loopback_dns.set("a.example.org", "CNAME", "b.example.org")
    loopback_dns.set("b.example.org", "CNAME", "a.example.org")
    answer = inspect(loopback_dns)
    assert answer == DnsAnswer(failure=f"CNAME loop: {HOST} -> a.example.org -> b.example.org -> a.example.org")


def test_a_name_that_is_its_own_cname_is_a_loop(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "CNAME", HOST)
    assert inspect(loopback_dns).failure == f"CNAME loop: {HOST} -> {HOST}"


def _chain(dns: LoopbackDns, length: int) -> None:
    names = [HOST, *(f"hop{i}.example.org" for i in range(1, length + 1))]
    for here, there in itertools.pairwise(names):
        dns.set(here, "CNAME", there)
    dns.set(names[-1], "A", "192.0.2.9")


def test_a_chain_at_the_depth_limit_is_followed(loopback_dns: LoopbackDns) -> None:
    _chain(loopback_dns, MAX_CNAME_DEPTH)
    answer = inspect(loopback_dns)
    assert len(answer.cname_chain) == MAX_CNAME_DEPTH == 8
    assert answer.cname_chain[-1] == "hop8.example.org"
    assert answer.addresses == (ip_address("192.0.2.9"),)


def test_a_chain_past_the_depth_limit_is_a_failure(loopback_dns: LoopbackDns) -> None:
    _chain(loopback_dns, MAX_CNAME_DEPTH + 1)
    assert inspect(loopback_dns) == DnsAnswer(failure=f"CNAME chain of {HOST} is longer than 8")
    assert loopback_dns.count("hop9.example.org") == 0  # it stopped at the limit


def test_an_unknown_name_is_an_empty_answer(loopback_dns: LoopbackDns) -> None:
    assert inspect(loopback_dns) == DnsAnswer()
    assert (HOST, "A") in loopback_dns.queries()


def test_a_known_name_without_addresses_is_an_empty_answer(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "TXT", "v=spf1 -all")  # NODATA for A and AAAA
    assert inspect(loopback_dns) == DnsAnswer()


def test_a_hostname_too_long_for_an_ownership_record_still_gets_its_addresses(loopback_dns: LoopbackDns) -> None:
    long_host = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 50, "example"])
    assert len(long_host) <= 253 < len(f"_cf-custom-hostname.{long_host}")
    loopback_dns.set(long_host, "A", "192.0.2.4")
    assert inspect(loopback_dns, long_host) == DnsAnswer(addresses=(ip_address("192.0.2.4"),))


@pytest.mark.parametrize(("mode", "text"), [("servfail", "SERVFAIL"), ("refuse", "REFUSED")])
def test_servfail_and_refused_are_failures(loopback_dns: LoopbackDns, mode: str, text: str) -> None:
    loopback_dns.set(OWNERSHIP, "TXT", TOKEN)
    loopback_dns.set(HOST, "A", "192.0.2.1")
    getattr(loopback_dns, mode)(HOST)  # only the hostname's own lookups fail
    answer = inspect(loopback_dns)
    assert answer == DnsAnswer(failure=f"{text} from {loopback_dns.spec} for A {HOST}")
    loopback_dns.heal()
    assert inspect(loopback_dns) == DnsAnswer(txt=(TOKEN,), addresses=(ip_address("192.0.2.1"),))


def test_a_failure_anywhere_in_a_chain_is_a_failure(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(HOST, "CNAME", "one.example.org")
    loopback_dns.set("one.example.org", "A", "192.0.2.1")
    loopback_dns.servfail("one.example.org")
    assert inspect(loopback_dns).failure == f"SERVFAIL from {loopback_dns.spec} for A one.example.org"


def test_a_server_that_never_answers_is_a_timeout_failure(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(OWNERSHIP, "TXT", TOKEN)
    loopback_dns.drop()
    answer = inspect(loopback_dns, timeout_s=0.3)
    assert answer == DnsAnswer(failure=f"timeout asking {loopback_dns.spec} for TXT {OWNERSHIP}")
    assert loopback_dns.queries() == [(OWNERSHIP, "TXT")]  # the first failure ends the inspection


def test_healing_one_name_leaves_the_other_modes(loopback_dns: LoopbackDns) -> None:
    loopback_dns.set(OWNERSHIP, "TXT", TOKEN)
    loopback_dns.set(HOST, "A", "192.0.2.1")
    loopback_dns.drop(OWNERSHIP)
    loopback_dns.servfail(HOST)
    loopback_dns.heal(OWNERSHIP)
    assert inspect(loopback_dns, timeout_s=0.3).failure == f"SERVFAIL from {loopback_dns.spec} for A {HOST}"


def test_nobody_listening_is_a_failure() -> None:
    with LoopbackDns() as dns:
        address = dns.address
    # The server has stopped: its port is closed.
    answer = DnsInspector(address, 0.3).inspect(HOST, hostname_id="x", token=TOKEN, check_http=False)
    assert answer.failure is not None
    assert answer.failure.startswith(f"timeout asking 127.0.0.1:{address[1]} for TXT {OWNERSHIP}")


def test_the_inspector_is_safe_from_many_threads(loopback_dns: LoopbackDns) -> None:
    for i in range(8):
        loopback_dns.set(f"h{i}.example.net", "CNAME", f"edge{i}.zone.example")
        loopback_dns.set(f"edge{i}.zone.example", "A", f"192.0.2.{i + 1}")
        loopback_dns.set(f"_cf-custom-hostname.h{i}.example.net", "TXT", f"token-{i}")
    inspector = DnsInspector(loopback_dns.address, 2.0)
    results: dict[int, list[DnsAnswer]] = {}

    def work(i: int) -> None:
        results[i] = [
            inspector.inspect(f"h{i}.example.net", hostname_id="x", token="t", check_http=False) for _ in range(10)
        ]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for i in range(8):
        expected = DnsAnswer(
            txt=(f"token-{i}",), cname_chain=(f"edge{i}.zone.example",), addresses=(ip_address(f"192.0.2.{i + 1}"),)
        )
        assert results[i] == [expected] * 10


@pytest.mark.parametrize("bad", ["a..b", "x" * 64 + ".example", ""])
def test_a_hostname_that_is_not_a_dns_name_is_a_caller_error(loopback_dns: LoopbackDns, bad: str) -> None:
    with pytest.raises(ValueError, match="is not a DNS name"):
        inspect(loopback_dns, bad)
    assert loopback_dns.queries() == []


def test_the_constructor_refuses_unusable_settings() -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        DnsInspector(("127.0.0.1", 53), 0)
    with pytest.raises(ValueError, match="HTTP validation port"):
        DnsInspector(("127.0.0.1", 53), 1, http_port=0)
    with pytest.raises(ValueError, match="DNS server port"):
        DnsInspector(("127.0.0.1", 70000), 1)
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        DnsInspector(("dns.example", 53), 1)


# --- the system's resolver (server=None): a resolv.conf of the test's own, never the machine's ---


def test_a_missing_resolv_conf_gives_failure_answers(tmp_path: Path) -> None:
    inspector = DnsInspector(None, 0.3, resolv_conf=tmp_path / "absent.conf")
    answer = inspector.inspect(HOST, hostname_id="x", token=TOKEN, check_http=True)
    assert answer == DnsAnswer(
        failure=f"no system DNS resolver: {tmp_path}/absent.conf: cannot open {tmp_path}/absent.conf"
    )


@pytest.mark.parametrize(
    "text", ["", "# no nameserver line\nsearch example.net\n", "nameserver https://doh.example/q\n"]
)
def test_a_resolv_conf_without_nameservers_gives_failure_answers(tmp_path: Path, text: str) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(text)
    answer = DnsInspector(None, 0.3, resolv_conf=conf).inspect(HOST, hostname_id="x", token=TOKEN, check_http=False)
    assert answer.failure is not None
    assert answer.failure.startswith(f"no system DNS resolver: {conf}")


def _port_53_server() -> LoopbackDns:
    """A LoopbackDns on port 53 of a random 127/8 address (resolv.conf has no ports); root only."""
    for _ in range(20):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        try:
            return LoopbackDns(host=host, port=53).start()
        except PermissionError:
            pytest.skip("binding port 53 needs root (or CAP_NET_BIND_SERVICE)")
        except OSError:
            continue
    raise AssertionError("no free 127/8 address with port 53")


def test_the_system_resolver_is_read_from_resolv_conf(tmp_path: Path) -> None:
    with _port_53_server() as dns:
        dns.set(OWNERSHIP, "TXT", TOKEN)
        dns.set(HOST, "CNAME", "edge.zone.example")
        dns.set("edge.zone.example", "A", "192.0.2.1")
        conf = tmp_path / "resolv.conf"
        conf.write_text(f"search example.net\nnameserver {dns.address[0]}\noptions timeout:9\n")
        inspector = DnsInspector(None, 2.0, resolv_conf=conf)
        answer = inspector.inspect(HOST, hostname_id="x", token=TOKEN, check_http=False)
        assert answer == DnsAnswer(
            txt=(TOKEN,), cname_chain=("edge.zone.example",), addresses=(ip_address("192.0.2.1"),)
        )
        assert dns.count(HOST, "A") == 1


def test_the_system_resolver_tries_the_next_nameserver(tmp_path: Path) -> None:
    with _port_53_server() as dead, _port_53_server() as alive:
        alive.set(HOST, "A", "192.0.2.1")
        dead.servfail()
        conf = tmp_path / "resolv.conf"
        conf.write_text(f"nameserver {dead.address[0]}\nnameserver {alive.address[0]}\n")
        answer = DnsInspector(None, 2.0, resolv_conf=conf).inspect(HOST, hostname_id="x", token=TOKEN, check_http=False)
        assert answer == DnsAnswer(addresses=(ip_address("192.0.2.1"),))
        dead.heal()
        dead.drop()
        alive.servfail()
        answer = DnsInspector(None, 0.3, resolv_conf=conf).inspect(HOST, hostname_id="x", token=TOKEN, check_http=False)
        assert answer.failure == (
            f"timeout asking {dead.address[0]}:53 for TXT {OWNERSHIP}; "
            f"SERVFAIL from {alive.address[0]}:53 for TXT {OWNERSHIP}"
        )
