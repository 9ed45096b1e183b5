"""Bad custom hostnames, origins and SSL settings: each refused with a clear 4xx, nothing stored.

IDNs: prefixgate takes names in their ASCII (punycode, xn--) form only. A Unicode name is refused
with a message that gives its xn-- form; an xn-- label that does not decode is refused too.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.cdn_helpers import CdnStage, hostname_url, hostnames_url, shop_name
from tests.api.helpers import assert_ok, assert_refused

LONG_LABEL = "a" * 64
BAD_HOSTNAMES = {
    "unicode IDN": "bücher.example.net",
    "undecodable punycode": "xn--zz-9999999.example.net",
    "reserved -- label": "ab--cd.example.net",
    "trailing dot": "shop.example.net.",
    "wildcard": "*.example.net",
    "wildcard inside": "shop.*.example.net",
    "too long": ".".join(["a" * 60] * 4) + ".example.net",
    "long label": f"{LONG_LABEL}.example.net",
    "underscore": "my_shop.example.net",
    "IPv4 literal": "192.0.2.10",
    "IPv6 literal": "2001:db8::10",
    "empty label": "shop..example.net",
    "leading dot": ".example.net",
    "space inside": "my shop.example.net",
    "leading space": " shop.example.net",
    "single label": "localhost",
    "empty": "",
    "hyphen at the end": "shop-.example.net",
    "scheme": "https://shop.example.net",
    "port": "shop.example.net:443",
}


def _count(cdn: CdnStage) -> int:
    r = cdn.client("b").get(hostnames_url(cdn.zone("b")["id"]), params={"per_page": 50})
    return int(r.json()["result_info"]["total_count"])


@pytest.mark.parametrize("name", BAD_HOSTNAMES.values(), ids=BAD_HOSTNAMES.keys())
def test_bad_hostnames_are_refused(cdn: CdnStage, name: str) -> None:
    before = _count(cdn)
    message = assert_refused(cdn.post_hostname("b", name), 400, 2000)
    assert "hostname" in message
    assert _count(cdn) == before


def test_a_unicode_name_is_told_its_ascii_form(cdn: CdnStage) -> None:
    message = assert_refused(cdn.post_hostname("b", "bücher.example.net"), 400, 2000)
    assert "xn--bcher-kva.example.net" in message


def test_a_valid_punycode_name_is_accepted_and_kept_lower_case(cdn: CdnStage) -> None:
    host = assert_ok(cdn.post_hostname("b", "XN--BCHER-KVA.Example.NET"))
    assert host["hostname"] == "xn--bcher-kva.example.net"


BAD_ORIGINS = {
    "IPv4 literal": "192.0.2.1",
    "IPv6 literal": "2001:db8::1",
    "url": "http://origin.example.net",
    "with port": "origin.example.net:8443",
    "wildcard": "*.example.net",
    "trailing dot": "origin.example.net.",
    "underscore": "or_igin.example.net",
    "space": "origin example.net",
}


@pytest.mark.parametrize("origin", BAD_ORIGINS.values(), ids=BAD_ORIGINS.keys())
def test_a_custom_origin_server_must_be_a_hostname(cdn: CdnStage, origin: str) -> None:
    before = _count(cdn)
    assert_refused(cdn.post_hostname("b", shop_name(), custom_origin_server=origin), 400, 2000)
    assert _count(cdn) == before
    host = cdn.create("b", shop_name())
    url = hostname_url(cdn.zone("b")["id"], host["id"])
    assert_refused(cdn.client("b").patch(url, json={"custom_origin_server": origin}), 400, 2000)
    assert cdn.get("b", host["id"]) == host


BAD_BODIES: dict[str, dict[str, Any]] = {
    "no ssl": {"hostname": "x.example.net"},
    "no hostname": {"ssl": {"method": "txt"}},
    "hostname not a string": {"hostname": 7, "ssl": {"method": "txt"}},
    "unknown method": {"hostname": "x.example.net", "ssl": {"method": "dns"}},
    "unknown type": {"hostname": "x.example.net", "ssl": {"type": "ev"}},
    "unknown setting": {"hostname": "x.example.net", "ssl": {"settings": {"turbo": "on"}}},
    "bad setting value": {"hostname": "x.example.net", "ssl": {"settings": {"http2": "maybe"}}},
    "duplicate ciphers": {"hostname": "x.example.net", "ssl": {"settings": {"ciphers": ["AES128-SHA"] * 2}}},
    "custom certificate": {"hostname": "x.example.net", "ssl": {"custom_certificate": "-----BEGIN"}},
    "metadata not an object": {"hostname": "x.example.net", "ssl": {}, "custom_metadata": ["x"]},
    "metadata too large": {"hostname": "x.example.net", "ssl": {}, "custom_metadata": {"k": "v" * 5000}},
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_are_refused(cdn: CdnStage, body: dict[str, Any]) -> None:
    before = _count(cdn)
    assert_refused(cdn.client("b").post(hostnames_url(cdn.zone("b")["id"]), json=body), 400)
    assert _count(cdn) == before


def test_malformed_ids_are_not_found(cdn: CdnStage) -> None:
    zone = cdn.zone("b")["id"]
    for bad in ("0" * 36, "not-a-uuid", "x" * 300):
        assert_refused(cdn.client("b").get(hostname_url(zone, bad)), 404, 1003)
        assert_refused(cdn.client("b").post(f"{hostname_url(zone, bad)}/validate"), 404, 1003)
