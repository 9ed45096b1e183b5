"""The dashboard's Spectrum form: what was typed becomes the service's AppInput (the service checks the
rules), an app becomes the form's prefilled fields, and each refusal lands by the field it concerns."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from prefixgate.domain.codes import Code
from prefixgate.domain.errors import Conflict, InvalidInput
from prefixgate.domain.spectrum import EdgeIps, OriginDns, PortRange, Protocol, SpectrumApp
from prefixgate.web.forms import Form
from prefixgate.web.zone_forms import TOP, AppFields, app_errors, hostname_errors

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def posted(**fields: str) -> AppFields:
    return AppFields.posted(Form({name: [value] for name, value in fields.items()}))


def app(**changes: object) -> SpectrumApp:
    base: dict[str, object] = {
        "id": "app1",
        "zone_id": "z1",
        "account_id": "a" * 32,
        "dns_type": "ADDRESS",
        "dns_name": "ssh.example.com",
        "protocol": Protocol("tcp", PortRange(22, 22)),
        "traffic_type": "direct",
        "edge_ips": EdgeIps("static", None, (ipaddress.ip_address("1.2.3.4"),)),
        "origin_direct": ("tcp://127.0.0.1:2222",),
        "origin_dns": None,
        "origin_port": None,
        "proxy_protocol": "off",
        "ip_firewall": False,
        "tls": None,
        "argo_smart_routing": False,
        "created_on": NOW,
        "modified_on": NOW,
    }
    return SpectrumApp(**{**base, **changes})  # type: ignore[arg-type]


def test_static_ips_and_a_direct_origin() -> None:
    spec = posted(
        hostname=" ssh.example.com ",
        protocol="tcp/22",
        edge_ips="1.2.3.4,\n1.2.3.5  2001:db8::1",
        origin="127.0.0.1:2222, [2001:db8::2]:22",
        proxy_protocol="v1",
        ip_firewall="on",
        tls="full",
    ).to_input()
    assert (spec.dns_type, spec.dns_name, spec.edge_ips_type) == ("ADDRESS", "ssh.example.com", "static")
    assert spec.edge_ips == ("1.2.3.4", "1.2.3.5", "2001:db8::1")
    assert spec.origin_direct == ["tcp://127.0.0.1:2222", "tcp://[2001:db8::2]:22"]
    assert (spec.origin_dns_name, spec.origin_port) == (None, None)
    assert (spec.proxy_protocol, spec.ip_firewall, spec.tls) == ("v1", True, "full")


def test_no_edge_ips_means_dynamic_and_a_named_origin_is_origin_dns() -> None:
    spec = posted(hostname="game.example.com", protocol="udp/27015", origin="origin.example.org:27015").to_input()
    assert (spec.dns_type, spec.edge_ips_type, spec.edge_ips) == ("CNAME", "dynamic", ())
    assert (spec.origin_direct, spec.origin_dns_name, spec.origin_port) == (None, "origin.example.org", "27015")
    assert (spec.proxy_protocol, spec.tls, spec.ip_firewall) == ("off", None, False)


def test_a_uri_is_kept_and_an_empty_origin_is_left_to_the_service() -> None:
    assert posted(protocol="udp/53", origin="udp://192.0.2.1:53").to_input().origin_direct == ["udp://192.0.2.1:53"]
    spec = posted(protocol="tcp/22", origin="").to_input()
    assert (spec.origin_direct, spec.origin_dns_name) == (None, None)
    assert posted(origin="origin.example.org").to_input().origin_port is None


def test_an_app_prefills_the_form_and_round_trips() -> None:
    fields = AppFields.of(app(proxy_protocol="v2", tls="strict"))
    assert fields == AppFields("ssh.example.com", "tcp/22", "1.2.3.4", "127.0.0.1:2222", "v2", False, "strict")
    assert fields.to_input().origin_direct == ["tcp://127.0.0.1:2222"]
    named = app(
        origin_direct=(),
        origin_dns=OriginDns("origin.example.org", "A", 300),
        origin_port=PortRange(9000, 9010),
        protocol=Protocol("tcp", PortRange(8000, 8010)),
    )
    assert AppFields.of(named).origin == "origin.example.org:9000-9010"


def test_an_edit_keeps_what_the_form_does_not_show() -> None:
    before = app(
        dns_type="CNAME",
        edge_ips=EdgeIps("dynamic", "ipv6"),
        traffic_type="https",
        argo_smart_routing=False,
        origin_direct=(),
        origin_dns=OriginDns("origin.example.org", "AAAA", 120),
        origin_port=PortRange(443, 443),
        protocol=Protocol("tcp", PortRange(443, 443)),
    )
    spec = AppFields.of(before).to_input(before)
    assert (spec.edge_connectivity, spec.traffic_type) == ("ipv6", "https")
    assert (spec.origin_dns_name, spec.origin_dns_type, spec.origin_dns_ttl) == ("origin.example.org", "AAAA", 120)


@pytest.mark.parametrize(
    ("error", "field"),
    [
        (InvalidInput("not authorized", code=Code.EDGE_IPS_NOT_AUTHORIZED), "edge_ips"),
        (Conflict("tcp/22 on 1.2.3.4 is already used", code=Code.EDGE_PORT_TAKEN), "edge_ips"),
        (InvalidInput("protocol 'icmp/1' must be ...", code=Code.INVALID_PROTOCOL), "protocol"),
        (InvalidInput("an origin is required", code=Code.INVALID_ORIGIN), "origin"),
        (InvalidInput("dns.name x.org is not in zone example.com", code=Code.INVALID_FIELD), "hostname"),
        (InvalidInput("proxy_protocol must be one of off, v1", code=Code.INVALID_FIELD), "proxy_protocol"),
        (InvalidInput("argo_smart_routing needs traffic_type direct", code=Code.INVALID_FIELD), TOP),
    ],
)
def test_app_refusals_land_by_their_field(error: InvalidInput, field: str) -> None:
    assert list(app_errors(error).by_field) == [field]


def test_each_refused_edge_ip_is_listed() -> None:
    details = ((Code.EDGE_IPS_NOT_AUTHORIZED, "1.2.3.5: ip_not_usable: not yours"),)
    error = app_errors(InvalidInput("not authorized", code=Code.EDGE_IPS_NOT_AUTHORIZED, details=details))
    shown = error.get("edge_ips")
    assert shown is not None and shown.details == ("1.2.3.5: ip_not_usable: not yours",)


def test_hostname_refusals_land_by_their_field() -> None:
    origin = InvalidInput("custom_origin_server 'x' is not a valid DNS name", code=Code.INVALID_HOSTNAME)
    assert list(hostname_errors(origin).by_field) == ["custom_origin_server"]
    exists = Conflict("shop.example.net is already a custom hostname of this zone", code=Code.HOSTNAME_EXISTS)
    assert list(hostname_errors(exists).by_field) == ["hostname"]
    no_fallback = InvalidInput("Zone does not have a fallback origin set.", code=Code.NO_FALLBACK_ORIGIN)
    assert list(hostname_errors(no_fallback).by_field) == [TOP]
