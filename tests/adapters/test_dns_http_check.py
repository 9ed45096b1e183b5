"""The HTTP ownership check, against real HTTP servers on loopback and a real DNS server.

Every address these tests put in DNS for an HTTP check is a loopback one: the lab flag lets the
inspector connect to it, and nothing is ever sent anywhere else.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from ipaddress import ip_address

import pytest

from prefixgate.adapters.dns import DnsInspector, may_connect
from prefixgate.domain.hostnames import DnsAnswer, http_challenge_path
from tests.challenge import ChallengeServer
from tests.dnsserver import LoopbackDns

HOST = "shop.example.net"
HOSTNAME_ID = "0b9c1e6e-7d5a-4c43-9a4f-2f1c5e0a7b11"
TOKEN = "5b7d2c1e-http-token"
PATH = http_challenge_path(HOSTNAME_ID)


@pytest.fixture
def web() -> Iterator[ChallengeServer]:
    s = ChallengeServer()
    yield s
    s.close()


def lab(dns: LoopbackDns, port: int, timeout_s: float = 2.0) -> DnsInspector:
    return DnsInspector(dns.address, timeout_s, http_port=port, allow_non_global_http=True)


def check(inspector: DnsInspector, *, check_http: bool = True) -> DnsAnswer:
    return inspector.inspect(HOST, hostname_id=HOSTNAME_ID, token=TOKEN, check_http=check_http)


def test_the_token_at_the_challenge_path_is_found(loopback_dns: LoopbackDns, web: ChallengeServer) -> None:
    loopback_dns.set(HOST, "A", "127.0.0.1")
    web.serve(PATH, f"{TOKEN}\r\n".encode())  # surrounding whitespace is stripped
    answer = check(lab(loopback_dns, web.port))
    assert answer == DnsAnswer(addresses=(ip_address("127.0.0.1"),), http_token_found=True)
    assert web.requests == [("GET", f"/.well-known/cf-custom-hostname-challenge/{HOSTNAME_ID}", HOST)]


def test_the_check_follows_the_cname_chain_to_its_addresses(loopback_dns: LoopbackDns, web: ChallengeServer) -> None:
    loopback_dns.set(HOST, "CNAME", "lb.customer.example")
    loopback_dns.set("lb.customer.example", "A", "127.0.0.1")
    web.serve(PATH, TOKEN.encode())
    assert check(lab(loopback_dns, web.port)).http_token_found is True
    assert web.requests == [("GET", PATH, HOST)]  # the Host is the custom hostname, not the CNAME target


def test_over_ipv6(loopback_dns: LoopbackDns) -> None:
    web = ChallengeServer("::1")
    try:
        loopback_dns.set(HOST, "AAAA", "::1")
        web.serve(PATH, TOKEN.encode())
        assert check(lab(loopback_dns, web.port)).http_token_found is True
        assert web.requests == [("GET", PATH, HOST)]
    finally:
        web.close()


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (200, b"some-other-token", {}),
        (200, b"", {}),
        (200, TOKEN.encode() + b" extra", {}),
        (200, TOKEN.encode() + b"\n" + b" " * 5000, {}),  # past the 4 KiB read limit
        (500, TOKEN.encode(), {}),
        (302, TOKEN.encode(), {"Location": "/elsewhere"}),
    ],
    ids=["wrong-body", "empty", "token-and-more", "too-long", "server-error", "redirect-with-token-body"],
)
def test_anything_but_a_200_with_the_token_is_not_found(
    loopback_dns: LoopbackDns, web: ChallengeServer, status: int, body: bytes, headers: dict[str, str]
) -> None:
    loopback_dns.set(HOST, "A", "127.0.0.1")
    web.serve(PATH, body, status, headers)
    answer = check(lab(loopback_dns, web.port))
    assert answer == DnsAnswer(addresses=(ip_address("127.0.0.1"),), http_token_found=False)


def test_a_404_is_not_found_and_not_a_failure(loopback_dns: LoopbackDns, web: ChallengeServer) -> None:
    loopback_dns.set(HOST, "A", "127.0.0.1")
    web.serve(f"{PATH}/", TOKEN.encode())  # a near miss
    answer = check(lab(loopback_dns, web.port))
    assert answer.failure is None and answer.http_token_found is False
    assert web.requests == [("GET", PATH, HOST)]


def test_redirects_are_not_followed(loopback_dns: LoopbackDns, web: ChallengeServer) -> None:
    loopback_dns.set(HOST, "A", "127.0.0.1")
    web.serve(PATH, b"moved", 301, {"Location": f"http://{HOST}:{web.port}/token"})
    web.serve("/token", TOKEN.encode())
    assert check(lab(loopback_dns, web.port)).http_token_found is False
    assert web.requests == [("GET", PATH, HOST)]  # /token was never asked for


def test_no_http_request_unless_asked(loopback_dns: LoopbackDns, web: ChallengeServer) -> None:
    loopback_dns.set(HOST, "A", "127.0.0.1")
    web.serve(PATH, TOKEN.encode())
    assert check(lab(loopback_dns, web.port), check_http=False).http_token_found is False
    assert web.requests == []


def test_no_http_request_when_the_txt_record_holds_the_token(loopback_dns: LoopbackDns, web: ChallengeServer) -> None:
    loopback_dns.set(HOST, "A", "127.0.0.1")
    loopback_dns.set(f"_cf-custom-hostname.{HOST}", "TXT", TOKEN)
    web.serve(PATH, TOKEN.encode())
    answer = check(lab(loopback_dns, web.port))
    assert answer.txt == (TOKEN,) and answer.http_token_found is False
    assert web.requests == []


def test_no_addresses_means_no_request(loopback_dns: LoopbackDns, web: ChallengeServer) -> None:
    assert check(lab(loopback_dns, web.port)) == DnsAnswer()
    assert web.requests == []


def test_an_address_that_refuses_connections_is_skipped_for_the_next(loopback_dns: LoopbackDns) -> None:
    web = ChallengeServer("127.0.0.3")
    try:
        loopback_dns.set(HOST, "A", "127.0.0.2", "127.0.0.3")  # nothing listens on 127.0.0.2
        web.serve(PATH, TOKEN.encode())
        assert check(lab(loopback_dns, web.port)).http_token_found is True
        assert web.requests == [("GET", PATH, HOST)]
    finally:
        web.close()


def test_at_most_four_addresses_are_tried(loopback_dns: LoopbackDns) -> None:
    web = ChallengeServer("127.0.0.6")  # nothing listens on 127.0.0.2 to 127.0.0.5
    try:
        web.serve(PATH, TOKEN.encode())
        loopback_dns.set(HOST, "A", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.6")
        assert check(lab(loopback_dns, web.port)).http_token_found is True  # the fourth address
        loopback_dns.set(HOST, "A", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6")
        assert check(lab(loopback_dns, web.port)).http_token_found is False  # the fifth is never tried
        assert web.requests == [("GET", PATH, HOST)]  # from the first check only
    finally:
        web.close()


def test_the_ssrf_guard_never_connects_to_loopback_without_the_lab_flag(
    loopback_dns: LoopbackDns, web: ChallengeServer
) -> None:
    loopback_dns.set(HOST, "A", "127.0.0.1")
    loopback_dns.set(HOST, "AAAA", "::1")
    web.serve(PATH, TOKEN.encode())
    inspector = DnsInspector(loopback_dns.address, 2.0, http_port=web.port)  # allow_non_global_http=False
    answer = check(inspector)
    assert answer == DnsAnswer(addresses=(ip_address("127.0.0.1"), ip_address("::1")), http_token_found=False)
    assert web.requests == []


def test_a_server_that_never_answers_is_not_found_within_the_timeout(loopback_dns: LoopbackDns) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) but never reads or writes
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        loopback_dns.set(HOST, "A", "127.0.0.1")
        answer = check(lab(loopback_dns, silent.getsockname()[1], timeout_s=0.3))
        assert answer == DnsAnswer(addresses=(ip_address("127.0.0.1"),), http_token_found=False)


def test_a_server_trickling_bytes_cannot_hold_the_check_past_its_timeout(loopback_dns: LoopbackDns) -> None:
    done = threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)

        def trickle() -> None:
            conn, _ = listener.accept()
            with conn:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                    if done.wait(0.05):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        return  # the client gave up, as it should

        sender = threading.Thread(target=trickle)
        sender.start()
        try:
            loopback_dns.set(HOST, "A", "127.0.0.1")
            started = time.monotonic()
            answer = check(lab(loopback_dns, listener.getsockname()[1], timeout_s=0.3))
            took = time.monotonic() - started
        finally:
            done.set()
            sender.join(timeout=10)
    assert answer.http_token_found is False and answer.failure is None
    assert took < 5, took  # each byte comes well within the timeout: only a whole-exchange deadline stops it


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "240.0.0.1",
        "192.0.2.1",  # documentation
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:a00:1::1",  # Teredo
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "198.18.0.1",  # benchmarking
        "3fff::1",  # documentation
    ],
)
def test_non_global_addresses_are_never_connected_to_outside_the_lab(address: str) -> None:
    ip = ip_address(address)
    assert may_connect(ip, allow_non_global=False) is False
    assert may_connect(ip, allow_non_global=True) is True


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::1"])
def test_global_unicast_addresses_may_be_connected_to(address: str) -> None:
    # A pure check: nothing connects to these addresses here.
    assert may_connect(ip_address(address), allow_non_global=False) is True
