"""The serving state's wire codec and change application (prefixgate.edge.state), pure."""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prefixgate.domain.net import IPAddress
from prefixgate.edge.state import (
    KINDS,
    AppRow,
    BindingRow,
    Change,
    CorruptSnapshot,
    DelegationRow,
    EdgeState,
    FallbackOriginRow,
    HostnameRow,
    PrefixRow,
    ZoneRow,
    _address_text,
    _network_text,
    address_from_text,
    apply_changes,
    decode_change,
    decode_snapshot,
    encode_change,
    encode_snapshot,
    network_from_text,
    state_checksum,
)

P, Z = "p" * 32, "z" * 32
APP = AppRow(
    "a" * 32,
    Z,
    "b" * 32,
    "tcp/1000-1010",
    (ipaddress.ip_address("1.2.3.4"), ipaddress.ip_address("2001:db8::4")),
    (),
    "origin.example.com",
    "2000-2010",
    "v2",
    "direct",
    "active",
    datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
)
ROWS = [
    PrefixRow(P, "o" * 32, ipaddress.ip_network("1.2.3.0/24"), True),
    DelegationRow("d" * 32, P, ipaddress.ip_network("1.2.3.4/32"), "b" * 32),
    BindingRow("s" * 32, P, ipaddress.ip_network("1.2.3.0/24"), "f7c3d9e2a5b8c1d4e7f0a3b6c9d2e5f8"),
    ZoneRow(Z, "b" * 32, False),
    APP,
    HostnameRow("00000000-0000-4000-8000-000000000001", Z, "b" * 32, "shop.example.net", None),
    FallbackOriginRow(Z, "fallback.example.com"),
]


def test_a_snapshot_round_trips_and_encodes_deterministically() -> None:
    state = EdgeState.of(42, ROWS)
    doc = encode_snapshot(state)
    assert decode_snapshot(doc) == state
    assert encode_snapshot(EdgeState.of(42, list(reversed(ROWS)))) == doc
    assert doc["checksum"] == state_checksum(state) and str(doc["checksum"]).startswith("sha256:")


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["state"]["delegation"][0].__setitem__(2, "1.2.3.5/32"),  # a row changed in transit
        lambda d: d.__setitem__("revision", 43),
        lambda d: d.__setitem__("checksum", "sha256:" + "0" * 64),
        lambda d: d["state"].pop("app"),
        lambda d: d.__setitem__("format", "prefixgate.edge/0"),
    ],
)
def test_a_damaged_snapshot_is_refused(damage: object) -> None:
    doc = copy.deepcopy(encode_snapshot(EdgeState.of(42, ROWS)))
    damage(doc)  # type: ignore[operator]
    with pytest.raises(CorruptSnapshot):
        decode_snapshot(doc)


def test_a_malformed_row_with_a_matching_checksum_is_refused_not_crashed_on() -> None:
    state = EdgeState.of(1, [PrefixRow(P, "o" * 32, ipaddress.ip_network("1.2.3.0/24"), True)])
    doc = encode_snapshot(state)
    tables = copy.deepcopy(doc["state"])
    tables["prefix"][0][2] = "not a cidr"  # type: ignore[index]
    forged = encode_snapshot(state) | {"state": tables}
    body = json.dumps({"revision": 1, "state": tables}, separators=(",", ":"), sort_keys=True).encode()
    forged["checksum"] = "sha256:" + hashlib.sha256(body).hexdigest()
    with pytest.raises(CorruptSnapshot, match="malformed"):
        decode_snapshot(forged)


def test_changes_round_trip_and_apply_with_cascades() -> None:
    state = EdgeState.of(5, ROWS)
    before = encode_snapshot(state)
    moved = FallbackOriginRow(Z, "other.example.com")
    changes = [Change(6, "fallback_origin", Z, moved), Change(7, "prefix", P, None)]
    assert [decode_change(encode_change(c)) for c in changes] == changes
    kept = {kind: dict(state.table(kind)) for kind in KINDS}
    after = apply_changes(state, 7, changes)
    # a new state: the agent saves the old one in the background while the next change is applied, so
    # the old one must not change (tables no change touches may be shared: nothing writes to them)
    assert encode_snapshot(state) == before
    assert all(dict(state.table(kind)) == kept[kind] for kind in KINDS)
    changed = ("fallback_origin", "prefix", "delegation", "binding")
    assert all(after.table(kind) is not state.table(kind) for kind in changed)
    assert after.revision == 7 and after.fallback_origins[Z] == moved
    assert not after.prefixes and not after.delegations and not after.bindings  # the prefix took its children
    gone = apply_changes(after, 8, [Change(8, "zone", Z, None)])
    assert not gone.apps and not gone.hostnames and not gone.fallback_origins and not gone.zones
    assert state.prefixes  # the old state is untouched


def test_a_change_whose_row_names_another_entity_is_refused() -> None:
    doc = encode_change(Change(3, "app", APP.id, APP)) | {"id": "c" * 32}
    with pytest.raises(CorruptSnapshot):
        decode_change(doc)
    with pytest.raises(CorruptSnapshot):
        decode_change({"revision": 3, "kind": "account", "id": "x", "row": None})


_TRICKY = ["::", "::1", "1::", "::ffff:1.2.3.4", "::1.2.3.4", "::ffff:0:1.2.3.4", "0:0:1::", "1:0:0:1:0:0:1:1"]
_TRICKY += ["1:0:1:0:1:0:1:0", "2001:db8::", "2001:db8:0:0:1::1", "ffff::", "64:ff9b::1.2.3.4", "fe80::1"]


_ADDRESSES = st.one_of(
    st.sampled_from(_TRICKY).map(ipaddress.IPv6Address),
    st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
    st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF]), min_size=8, max_size=8).map(
        lambda h: ipaddress.IPv6Address(sum(x << (16 * i) for i, x in enumerate(h)))
    ),
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
)


@given(_ADDRESSES, st.integers(0, 128))
def test_addresses_and_networks_are_written_as_ipaddress_writes_them(address: IPAddress, length: int) -> None:
    """The codec writes addresses faster than `str` does, and to the same text (the checksum depends on it)."""
    assert _address_text(address) == str(address)
    network = ipaddress.ip_network((address, min(length, address.max_prefixlen)), strict=False)
    assert _network_text(network) == str(network)


@given(_ADDRESSES, st.integers(0, 128))
def test_addresses_and_networks_are_read_back_as_ipaddress_reads_them(address: IPAddress, length: int) -> None:
    """The codec and the edge's database reads parse faster than `ipaddress` does, to equal objects."""
    for text in {str(address), _address_text(address), address.exploded}:
        assert address_from_text(text) == address and type(address_from_text(text)) is type(address)
    network = ipaddress.ip_network((address, min(length, address.max_prefixlen)), strict=False)
    assert network_from_text(str(network)) == network and type(network_from_text(str(network))) is type(network)


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.4/33",
        "1.2.3.5/31",
        "01.2.3.4/32",
        "1.2.3/24",
        "1.2.3.4",
        "1.2.3.4/",
        "1.2.3.4/+8",
        "1.2.3.4/ 8",
        "1.2.3.4/\u0668",
        "::1/129",
        "2001:db8::1/32",
        "fe80::1%eth0/128",
        "2001:db8:::/48",
        "",
        "/24",
        "x/8",
        "1.2.3.4/8/8",
        "2001:db8::/048\x00",
    ],
)
def test_text_that_is_not_a_network_with_its_prefix_length_is_refused(text: str) -> None:
    """Stricter than `ipaddress` too: a bare address, a scope id."""
    with pytest.raises(ValueError, match=r"not |host bits"):
        network_from_text(text)


@given(st.text(alphabet="0123456789abcdef.:/%+ \u0668", max_size=45))
def test_network_from_text_never_accepts_what_ipaddress_refuses(text: str) -> None:
    try:
        parsed = network_from_text(text)
    except ValueError:
        return
    assert ipaddress.ip_network(text) == parsed
