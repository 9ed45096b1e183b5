"""Strict CIDR and IP parsing, range keys, and the public-space check (domain/net.py)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from prefixgate.domain.codes import Code
from prefixgate.domain.errors import InvalidInput
from prefixgate.domain.net import (
    IPAddress,
    IPNetwork,
    address_key,
    is_public,
    non_public_reason,
    parse_cidr,
    parse_ip,
    range_key,
)

V4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def refusal(text: str, *, ip: bool = False) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse_ip(text) if ip else parse_cidr(text)
    return info.value


# --- parse_cidr: accepted ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.0/24",
        "0.0.0.0/0",
        "203.0.113.7/32",
        "2606:4700::/32",
        "2001:db8::/32",
        "2001:db8:0:1::/64",
        "2001:db8::1/128",
        "ffff:ffff:ffff::/48",
        "64:ff9b::102:300/120",
    ],
)
def test_canonical_cidrs_are_accepted(text: str) -> None:
    net = parse_cidr(text)
    assert net == ipaddress.ip_network(text)
    assert str(net) == text


def test_families_are_told_apart() -> None:
    assert isinstance(parse_cidr("1.2.3.0/24"), ipaddress.IPv4Network)
    assert isinstance(parse_cidr("2606:4700::/32"), ipaddress.IPv6Network)


# --- parse_cidr: refused as non-canonical (1101), naming the canonical form ----------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1.2.3.4/24", "1.2.3.0/24"),  # host bits set
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("2001:db8::1/32", "2001:db8::/32"),
        ("2001:DB8::/32", "2001:db8::/32"),  # upper case
        ("2606:4700:0:0:0:0:0:0/32", "2606:4700::/32"),  # uncompressed
        ("2001:db8:0:0::/64", "2001:db8::/64"),  # partly compressed
        ("2001:0db8::/32", "2001:db8::/32"),  # leading zeros in a group
        ("1.2.3.0/024", "1.2.3.0/24"),  # leading zeros in the length
        ("1.2.3.4", "1.2.3.4/32"),  # no prefix length
        ("2001:db8::1", "2001:db8::1/128"),
    ],
)
def test_non_canonical_cidrs_name_the_canonical_network(text: str, canonical: str) -> None:
    err = refusal(text)
    assert err.code == Code.NON_CANONICAL_CIDR == 1101
    assert canonical in err.message
    assert text in err.message


def test_host_bits_are_called_out() -> None:
    assert "host bits are set" in refusal("1.2.3.4/24").message
    assert "host bits" not in refusal("2001:DB8::/32").message


# --- parse_cidr: refused as invalid (1100) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "banana",
        "/24",
        "1.2.3.0/",
        "1.2.3.0/33",
        "2001:db8::/129",
        "1.2.3.0/-1",
        "1.2.3.0/+24",
        "1.2.3.0/24/24",
        "1.2.3.0/\uff12\uff14",  # full-width digits
        "1.2.3.0/\u0662\u0664",  # Arabic-Indic digits
        "1.2.3.0/\u00b2",  # superscript two
        "1.2.3.0/255.255.255.0",  # netmask form
        "1.2.3.0/0.0.0.255",  # host-mask form
        "01.2.3.0/24",  # leading zero in an IPv4 octet (octal ambiguity)
        "1.2.3.256/32",
        "1.2.3/24",
        "2001:db8:::/48",
    ],
)
def test_invalid_cidrs_are_refused(text: str) -> None:
    assert refusal(text).code == Code.INVALID_CIDR == 1100


@pytest.mark.parametrize(
    "text", [" 1.2.3.0/24", "1.2.3.0/24 ", "1.2.3.0/24\n", "\t1.2.3.0/24", "1.2.3.0 /24", "2001:db8:: /32"]
)
def test_whitespace_is_refused(text: str) -> None:
    err = refusal(text)
    assert err.code == Code.INVALID_CIDR
    assert "whitespace" in err.message


@pytest.mark.parametrize("text", ["fe80::1%eth0/128", "fe80::%1/64", "2001:db8::%en0/32"])
def test_zone_ids_are_refused(text: str) -> None:
    err = refusal(text)
    assert err.code == Code.INVALID_CIDR
    assert "zone id" in err.message


@pytest.mark.parametrize("text", ["::ffff:1.2.3.4/128", "::ffff:1.2.3.0/120", "::ffff:0:0/96", "::ffff:102:300/120"])
def test_ipv4_mapped_networks_are_refused(text: str) -> None:
    err = refusal(text)
    assert err.code == Code.INVALID_CIDR
    assert "IPv4-mapped" in err.message


def test_too_long_text_is_refused_before_parsing() -> None:
    err = refusal("1" * 65)
    assert err.code == Code.INVALID_CIDR
    assert "too long" in err.message
    # The longest real IPv6 CIDR (43 characters) is well under the limit.
    longest = "2001:db8:1:2:3:4:5:6/128"
    assert str(parse_cidr(longest)) == longest


# --- parse_ip --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1.2.3.4", "0.0.0.0", "255.255.255.255", "2606:4700::1111", "::1", "2001:db8::"])
def test_canonical_ips_are_accepted(text: str) -> None:
    ip = parse_ip(text)
    assert ip == ipaddress.ip_address(text)
    assert str(ip) == text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:0db8::1", "2001:db8::1"),
        ("2001:db8:0:0:0:0:0:1", "2001:db8::1"),
        ("::1.2.3.4", "::102:304"),
    ],
)
def test_non_canonical_ips_name_the_canonical_form(text: str, canonical: str) -> None:
    err = refusal(text, ip=True)
    assert err.code == Code.NON_CANONICAL_CIDR
    assert canonical in err.message


@pytest.mark.parametrize("text", ["", "x", "1.2.3.256", "01.2.3.4", "1.2.3.4/32", "2001:db8::/32", "1.2.3"])
def test_invalid_ips_are_refused_with_1500(text: str) -> None:
    assert refusal(text, ip=True).code == Code.INVALID_IP == 1500


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (" 1.2.3.4", "whitespace"),
        ("1.2.3.4\n", "whitespace"),
        ("fe80::1%eth0", "zone id"),
        ("::ffff:1.2.3.4", "IPv4-mapped"),
        ("::ffff:102:304", "IPv4-mapped"),
        ("9" * 65, "too long"),
    ],
)
def test_ip_oddities_are_refused(text: str, fragment: str) -> None:
    err = refusal(text, ip=True)
    assert err.code == Code.INVALID_CIDR
    assert fragment in err.message


# --- properties ----------------------------------------------------------------------------------------------------

v4_networks = st.builds(
    lambda addr, length: ipaddress.IPv4Network((addr, length), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
v6_networks = st.builds(
    lambda addr, length: ipaddress.IPv6Network((addr, length), strict=False),
    st.integers(0, 2**128 - 1),
    st.integers(0, 128),
)
networks = st.one_of(v4_networks, v6_networks)
v4_addresses = st.builds(ipaddress.IPv4Address, st.integers(0, 2**32 - 1))
v6_addresses = st.builds(ipaddress.IPv6Address, st.integers(0, 2**128 - 1))
addresses = st.one_of(v4_addresses, v6_addresses)


def not_mapped(net: IPNetwork) -> bool:
    return not (isinstance(net, ipaddress.IPv6Network) and net.overlaps(V4_MAPPED))


@given(networks)
def test_every_canonical_network_round_trips(net: IPNetwork) -> None:
    # parse_cidr refuses any IPv6 network reaching into ::ffff:0:0/96 (see test_ipv4_mapped_networks_are_refused).
    assume(not_mapped(net))
    parsed = parse_cidr(str(net))
    assert parsed == net
    assert type(parsed) is type(net)


touching_mapped = st.builds(
    lambda offset, length: ipaddress.IPv6Network((int(V4_MAPPED.network_address) + offset, length), strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(0, 128),
)


@given(touching_mapped)
def test_v6_networks_touching_mapped_space_are_refused(net: ipaddress.IPv6Network) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_cidr(str(net))
    assert info.value.code == Code.INVALID_CIDR


@given(networks)
def test_host_bits_are_refused_with_the_canonical_network(net: IPNetwork) -> None:
    assume(net.num_addresses > 1 and not_mapped(net))
    host = net.broadcast_address
    err = refusal(f"{host}/{net.prefixlen}")
    assert err.code == Code.NON_CANONICAL_CIDR
    assert str(net) in err.message


@given(addresses)
def test_every_canonical_address_round_trips(ip: IPAddress) -> None:
    assume(not (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None))
    assert parse_ip(str(ip)) == ip


@given(st.one_of(st.tuples(v4_addresses, v4_addresses), st.tuples(v6_addresses, v6_addresses)))
def test_address_keys_order_like_integers(pair: tuple[IPAddress, IPAddress]) -> None:
    a, b = pair
    (fa, ka), (fb, kb) = address_key(a), address_key(b)
    assert fa == fb == a.version
    assert len(ka) == len(kb) == 16
    assert (ka < kb) == (int(a) < int(b))
    assert (ka == kb) == (a == b)


@given(st.one_of(st.tuples(v4_networks, v4_networks), st.tuples(v6_networks, v6_networks)))
def test_range_keys_order_like_integers(pair: tuple[IPNetwork, IPNetwork]) -> None:
    a, b = pair
    ka, kb = range_key(a), range_key(b)
    assert ka.family == a.version and kb.family == b.version
    assert len(ka.start) == len(ka.end) == 16
    assert ka.start <= ka.end
    assert (ka.start < kb.start) == (int(a.network_address) < int(b.network_address))
    assert (ka.end < kb.end) == (int(a.broadcast_address) < int(b.broadcast_address))
    assert (ka.start <= kb.end) == (int(a.network_address) <= int(b.broadcast_address))


@given(st.one_of(st.tuples(v4_networks, v4_addresses), st.tuples(v6_networks, v6_addresses)))
def test_containment_via_keys_agrees_with_ipaddress(pair: tuple[IPNetwork, IPAddress]) -> None:
    net, ip = pair
    key = range_key(net)
    family, k = address_key(ip)
    assert family == key.family
    assert (key.start <= k <= key.end) == (ip in net)


@given(v4_networks, st.integers(0, 2**32 - 1))
def test_containment_of_an_inside_address(net: ipaddress.IPv4Network, offset: int) -> None:
    ip = net.network_address + offset % net.num_addresses
    key, (_, k) = range_key(net), address_key(ip)
    assert key.start <= k <= key.end


@given(st.one_of(st.tuples(v4_networks, v4_networks), st.tuples(v6_networks, v6_networks)))
def test_subnet_via_keys_agrees_with_ipaddress(pair: tuple[IPNetwork, IPNetwork]) -> None:
    inner, outer = pair
    ki, ko = range_key(inner), range_key(outer)
    assert (ko.start <= ki.start and ki.end <= ko.end) == inner.subnet_of(outer)  # type: ignore[arg-type]
    assert (ki.start <= ko.end and ko.start <= ki.end) == inner.overlaps(outer)


def test_families_share_key_bytes_but_not_family() -> None:
    # Same integer, different family: only the family column tells them apart in the index.
    v4, v6 = ipaddress.ip_address("1.2.3.4"), ipaddress.ip_address("::102:304")
    assert address_key(v4)[1] == address_key(v6)[1]
    assert address_key(v4)[0] == 4 and address_key(v6)[0] == 6


# --- non_public_reason -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "172.31.255.0/24",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
        "64:ff9b::/96",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2001:db8:1::/48",
        "2002::/16",
        "3fff::/20",
        "4000::/3",
    ],
)
def test_special_purpose_blocks_are_not_public(text: str) -> None:
    net = ipaddress.ip_network(text)
    reason = non_public_reason(net)
    assert reason is not None
    assert "range" in reason or "outside" in reason
    assert not is_public(net)


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.0/24",
        "11.0.0.0/8",
        "104.16.0.0/13",
        "223.255.255.0/24",
        "2606:4700::/32",
        "2a0f::/16",
        "2001:200::/23",
        "2001:4860::/32",
        "3ffe::/16",
    ],
)
def test_public_space_is_public(text: str) -> None:
    net = ipaddress.ip_network(text)
    assert non_public_reason(net) is None
    assert is_public(net)


@pytest.mark.parametrize(
    ("text", "block"),
    [
        ("8.0.0.0/5", "10.0.0.0/8"),
        ("0.0.0.0/0", "0.0.0.0/8"),
        ("192.0.0.0/8", "192.0.0.0/24"),
        ("172.0.0.0/8", "172.16.0.0/12"),
        ("2000::/3", "2001::/23"),
        ("2001::/16", "2001::/23"),
    ],
)
def test_a_supernet_straddling_special_space_is_refused(text: str, block: str) -> None:
    reason = non_public_reason(ipaddress.ip_network(text))
    assert reason is not None
    assert block in reason


def test_v6_outside_global_unicast_names_it() -> None:
    assert "2000::/3" in (non_public_reason(ipaddress.ip_network("fc00::/7")) or "")


@given(addresses)
def test_public_addresses_are_globally_reachable(ip: IPAddress) -> None:
    # Cross-check with the stdlib's registry: anything we call public, Python calls global unicast.
    if is_public(ipaddress.ip_network(ip)):
        assert ip.is_global
        assert not ip.is_multicast


@given(networks)
def test_a_network_is_public_only_if_both_halves_are(net: IPNetwork) -> None:
    assume(net.num_addresses > 1)
    low, high = net.subnets()
    assert is_public(net) == (is_public(low) and is_public(high))
