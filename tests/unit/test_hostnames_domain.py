"""The custom-hostname decision and input rules, without I/O."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from prefixgate.domain.dnsname import parse_hostname
from prefixgate.domain.errors import InvalidInput
from prefixgate.domain.hostnames import (
    IN_USE,
    NO_CNAME,
    NO_FALLBACK_ORIGIN,
    NO_PROOF,
    NOT_OWNED,
    NOT_OWNED_NO_PROOF,
    CustomHostname,
    DnsAnswer,
    SslRequest,
    decide,
    parse_custom_hostname,
    parse_ssl,
    resolve_request,
)

ZONE = "saas.example.com"
FALLBACK = f"fallback.{ZONE}"
IP10 = ipaddress.ip_address("1.2.3.10")
IP200 = ipaddress.ip_address("1.2.3.200")


def host(status: str = "pending", **kw: object) -> CustomHostname:
    fields: dict[str, object] = {
        "id": "0d89c70d-ad9f-4843-b99f-6cc0252067e9",
        "zone_id": "z" * 32,
        "account_id": "b" * 32,
        "hostname": "shop.example.net",
        "status": status,
        "ssl_id": "1d89c70d-ad9f-4843-b99f-6cc0252067e9",
        "ssl": SslRequest(),
        "ownership_token": "token-1",
        "custom_origin_server": None,
        "custom_origin_sni": None,
        "custom_metadata": None,
        "verification_errors": (),
        "created_at": datetime(2026, 12, 1, tzinfo=UTC),
        **kw,
    }
    return CustomHostname(**fields)  # type: ignore[arg-type]


def run(
    dns: DnsAnswer,
    problems: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, tuple[str, str] | None] | None = None,
    *,
    current: CustomHostname | None = None,
    fallback: str | None = FALLBACK,
    elsewhere: bool = False,
) -> tuple[str, tuple[str, ...]]:
    v = decide(
        current or host(),
        zone_name=ZONE,
        fallback_origin=fallback,
        dns=dns,
        address_problems=problems or {},
        active_elsewhere=elsewhere,
    )
    return v.status, v.errors


def test_apex_path_needs_every_address_usable_and_the_token() -> None:
    assert run(DnsAnswer(txt=("token-1",), addresses=(IP10,)), {IP10: None}) == ("active", ())
    bad = ("ip_not_usable", "not yours")
    status, errors = run(DnsAnswer(txt=("token-1",), addresses=(IP10, IP200)), {IP10: None, IP200: bad})
    assert status == "pending" and errors == (NOT_OWNED, "1.2.3.200: ip_not_usable: not yours")
    status, errors = run(DnsAnswer(addresses=(IP200,)), {IP200: bad})
    assert errors[0] == NOT_OWNED_NO_PROOF and NO_PROOF not in errors
    status, errors = run(DnsAnswer(txt=("other",), addresses=(IP10,)), {IP10: None})
    assert (status, errors) == ("pending", (NO_PROOF,))


def test_the_http_token_proves_ownership_too() -> None:
    assert run(DnsAnswer(addresses=(IP10,), http_token_found=True), {IP10: None})[0] == "active"


def test_cname_path_to_the_fallback_or_any_name_in_the_zone() -> None:
    for chain in ((FALLBACK,), ("a.example.org", FALLBACK), (f"x.{ZONE}",), (ZONE,)):
        assert run(DnsAnswer(txt=("token-1",), cname_chain=chain)) == ("active", ()), chain
    assert run(DnsAnswer(txt=("token-1",), cname_chain=("x.saas.example.com.evil.org",)))[1] == (NO_CNAME,)
    assert run(DnsAnswer(txt=("token-1",)))[1][0] == NO_CNAME


def test_no_fallback_origin_is_reported_in_cloudflares_words() -> None:
    dns = DnsAnswer(txt=("token-1",), addresses=(IP10,))
    assert run(dns, {IP10: None}, fallback=None) == ("pending", (NO_FALLBACK_ORIGIN,))


def test_a_resolver_failure_never_changes_the_status() -> None:
    active = host("active", addresses=(IP10,), route="apex")
    v = decide(
        active,
        zone_name=ZONE,
        fallback_origin=FALLBACK,
        dns=DnsAnswer(failure="timeout"),
        address_problems={},
        active_elsewhere=False,
    )
    assert v.status == "active" and v.addresses == (IP10,) and v.route == "apex"
    assert v.errors == ("DNS lookup failed, status unchanged: timeout",)
    assert run(DnsAnswer(failure="SERVFAIL"))[0] == "pending"


def test_the_first_zone_to_validate_wins() -> None:
    assert run(DnsAnswer(txt=("token-1",), addresses=(IP10,)), {IP10: None}, elsewhere=True) == ("pending", (IN_USE,))


def test_resolve_request_names_the_reason() -> None:
    active = host("active")
    assert resolve_request(IP10, "shop.example.net", None, None, origin=None).reason == "hostname_not_active"
    r = resolve_request(IP10, "shop.example.net", active, ("wrong_service", "bound to Spectrum"), origin=FALLBACK)
    assert (r.served, r.reason, r.object_id, r.origin) == (False, "wrong_service", active.id, FALLBACK)
    ok = resolve_request(IP10, "shop.example.net", active, None, origin=FALLBACK)
    assert ok.served and ok.kind == "custom_hostname" and ok.account_id == active.account_id
    assert (
        resolve_request(IP10, "shop.example.net", active, None, origin=None, zone_paused=True).reason == "zone_paused"
    )


@pytest.mark.parametrize(
    "text",
    ["bücher.example", "xn--.example", "xn--a.example", "shop.example.", "*.example.net", "a_b.example", "1.2.3.4"],
)
def test_custom_hostnames_refuse(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_custom_hostname(text)


def test_names_normalise_and_zones_keep_accepting_a_trailing_dot() -> None:
    assert parse_custom_hostname("Shop.Example.NET") == "shop.example.net"
    assert parse_hostname("example.com.") == "example.com"
    assert parse_hostname("*.example.com", allow_wildcard=True) == "*.example.com"


def test_ssl_settings_are_checked_and_echoed() -> None:
    ssl = parse_ssl(
        method="http",
        type="dv",
        settings={"min_tls_version": "1.3", "ciphers": ["AES128-SHA"]},
        bundle_method=None,
        wildcard=None,
        certificate_authority="lets_encrypt",
    )
    assert ssl == SslRequest(
        "http", "dv", {"min_tls_version": "1.3", "ciphers": ["AES128-SHA"]}, "ubiquitous", False, "lets_encrypt"
    )
    for bad in ({"min_tls_version": "0.9"}, {"early_hints": True}, {"nope": "on"}, {"ciphers": "AES"}):
        with pytest.raises(InvalidInput):
            parse_ssl(
                method=None, type=None, settings=bad, bundle_method=None, wildcard=None, certificate_authority=None
            )
