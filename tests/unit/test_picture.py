"""The picture of a prefix (domain/picture.py): cells, their states, marks and bindings, against examples
and against a brute-force reading of every address."""

from __future__ import annotations

import ipaddress
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefixgate.domain.net import IPAddress, IPNetwork
from prefixgate.domain.picture import (
    DELEGATED,
    HOSTNAME,
    MIXED,
    MIXED_BINDING,
    OWNED,
    SPECTRUM,
    Bound,
    Cell,
    Grant,
    Mark,
    Picture,
    draw,
)


def net(text: str) -> IPNetwork:
    return ipaddress.ip_network(text)


def ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


def cell_at(picture: Picture, address: str) -> Cell:
    found = [c for c in picture.cells if ip(address) in c.net]
    assert len(found) == 1
    return found[0]


def test_a_24_has_one_cell_per_address_with_the_delegation_the_app_and_the_binding() -> None:
    prefix = net("1.2.3.0/24")
    picture = draw(
        prefix,
        [Grant(net("1.2.3.4/30"), "B")],
        [Mark(ip("1.2.3.5"), SPECTRUM, "Spectrum app tcp/22")],
        [Bound(prefix, "Spectrum")],
    )
    assert len(picture.cells) == 256 and picture.per_cell == 1 and picture.columns == 16
    assert [str(c.first) for c in picture.cells[:3]] == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]
    for n in range(256):
        c = picture.cells[n]
        delegated = 4 <= n <= 7
        assert c.state == (DELEGATED if delegated else OWNED)
        assert c.accounts == (("B",) if delegated else ())
        assert c.marks == ((SPECTRUM,) if n == 5 else ())
        assert c.binding == "Spectrum"
    assert picture.cells[5].found == (Mark(ip("1.2.3.5"), SPECTRUM, "Spectrum app tcp/22"),)
    assert picture.delegated == 4 and picture.accounts == ("B",)
    assert picture.summary == "4 of 256 addresses delegated to 1 account"


def test_a_22_is_drawn_in_blocks_of_four_and_a_partly_delegated_block_is_mixed() -> None:
    picture = draw(net("5.6.4.0/22"), [Grant(net("5.6.4.1/32"), "B"), Grant(net("5.6.5.0/24"), "C")], [], [])
    assert len(picture.cells) == 256 and picture.per_cell == 4
    first = picture.cells[0]
    assert (str(first.net), first.state, first.accounts, first.delegated) == ("5.6.4.0/30", MIXED, ("B",), 1)
    assert cell_at(picture, "5.6.5.200").state == DELEGATED
    assert cell_at(picture, "5.6.5.200").accounts == ("C",)
    assert cell_at(picture, "5.6.6.0").state == OWNED
    assert picture.delegated == 257
    assert picture.summary == "257 of 1024 addresses delegated to 2 accounts"


def test_an_ipv6_48_is_drawn_as_256_blocks_of_56() -> None:
    prefix = net("2a0f:1::/48")
    picture = draw(
        prefix,
        [Grant(net("2a0f:1::/57"), "B"), Grant(net("2a0f:1:0:200::/56"), "B")],
        [Mark(ip("2a0f:1:0:200::5"), HOSTNAME, "custom hostname"), Mark(ip("2a0f:1:0:200::6"), SPECTRUM, "app")],
        [Bound(prefix, "CDN"), Bound(net("2a0f:1::/64"), "Spectrum")],
    )
    assert len(picture.cells) == 256 and all(c.net.prefixlen == 56 for c in picture.cells)
    mixed, owned, delegated = picture.cells[0], picture.cells[1], picture.cells[2]
    assert (mixed.state, mixed.binding, mixed.services) == (MIXED, MIXED_BINDING, ("CDN", "Spectrum"))
    assert (owned.state, owned.binding) == (OWNED, "CDN")
    assert (delegated.state, delegated.accounts, delegated.marks) == (DELEGATED, ("B",), (SPECTRUM, HOSTNAME))
    assert [m.label for m in delegated.found] == ["custom hostname", "app"]  # in address order
    assert picture.delegated == 2**71 + 2**72
    assert picture.summary == "0.5859% of the 2^80 addresses delegated to 1 account"  # 3/512


def test_an_address_delegated_to_two_accounts_is_delegated_to_both() -> None:
    picture = draw(net("1.2.3.0/24"), [Grant(net("1.2.3.0/25"), "C"), Grant(net("1.2.3.0/24"), "B")], [], [])
    assert cell_at(picture, "1.2.3.1").accounts == ("B", "C")
    assert cell_at(picture, "1.2.3.1").state == DELEGATED
    assert cell_at(picture, "1.2.3.200").accounts == ("B",)
    assert picture.accounts == ("C", "B")  # the order the grants came in
    assert picture.delegated == 256


def test_no_binding_reads_as_empty_and_the_most_specific_binding_wins() -> None:
    prefix = net("1.2.3.0/24")
    picture = draw(prefix, [], [], [Bound(prefix, "CDN"), Bound(net("1.2.3.128/25"), "Spectrum")])
    assert cell_at(picture, "1.2.3.1").binding == "CDN"
    assert cell_at(picture, "1.2.3.129").binding == "Spectrum"
    assert draw(prefix, [], [], []).cells[0].binding == ""
    assert draw(prefix, [], [], []).summary == "None of the 256 addresses is delegated"


def test_what_lies_outside_the_prefix_is_left_out() -> None:
    picture = draw(
        net("1.2.3.0/24"),
        [Grant(net("1.2.4.0/24"), "B"), Grant(net("2a0f::/48"), "C")],
        [Mark(ip("1.2.4.1"), SPECTRUM, "x"), Mark(ip("2a0f::1"), HOSTNAME, "y")],
        [Bound(net("1.2.4.0/24"), "CDN")],
    )
    assert picture.delegated == 0 and picture.accounts == ()
    assert all(c.state == OWNED and not c.marks and c.binding == "" for c in picture.cells)


def test_a_crowded_cell_keeps_its_first_marks_and_counts_the_rest() -> None:
    marks = [Mark(ip(f"2a0f::{n:x}"), SPECTRUM, f"app {n}") for n in range(10)]
    cell = draw(net("2a0f::/48"), [], marks, []).cells[0]
    assert [m.label for m in cell.found] == ["app 0", "app 1", "app 2", "app 3"] and cell.more == 6


def test_max_cells_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        draw(net("1.2.3.0/24"), [], [], [], max_cells=100)


# --- Against brute force: every address read one by one -------------------------------------------------

ACCOUNTS = ("A2", "B", "C")
SERVICES = ("CDN", "Spectrum", "Magic Transit")


@st.composite
def scenes(draw_: st.DrawFn) -> tuple[IPNetwork, list[Grant], list[Mark], list[Bound], int]:
    v6 = draw_(st.booleans())
    bits = 128 if v6 else 32
    host_bits = draw_(st.integers(0, 9))  # up to 512 addresses: small enough to read one by one
    base = draw_(st.integers(0, (1 << (bits - host_bits)) - 1)) << host_bits
    prefix = (
        ipaddress.ip_network((base, bits - host_bits)) if not v6 else ipaddress.IPv6Network((base, bits - host_bits))
    )

    def subnet() -> IPNetwork:
        length = draw_(st.integers(bits - host_bits, bits))
        offset = draw_(st.integers(0, (1 << (length - (bits - host_bits))) - 1)) << (bits - length)
        return type(prefix)((base + offset, length))

    grants = [Grant(subnet(), draw_(st.sampled_from(ACCOUNTS))) for _ in range(draw_(st.integers(0, 6)))]
    bound_nets = {subnet() for _ in range(draw_(st.integers(0, 4)))}
    bounds = [Bound(n, draw_(st.sampled_from(SERVICES))) for n in sorted(bound_nets)]
    marks = [
        Mark(type(prefix.network_address)(base + draw_(st.integers(0, (1 << host_bits) - 1))), kind, "m")
        for kind in draw_(st.lists(st.sampled_from((SPECTRUM, HOSTNAME)), max_size=6))
    ]
    max_cells = 1 << draw_(st.integers(0, 8))
    return prefix, grants, marks, bounds, max_cells


def holders(address: IPAddress, grants: list[Grant]) -> frozenset[str]:
    return frozenset(g.account_id for g in grants if address in g.cidr)


def service(address: IPAddress, bounds: list[Bound]) -> str:
    covering = [b for b in bounds if address in b.cidr]
    return max(covering, key=lambda b: b.cidr.prefixlen).service if covering else ""


@settings(max_examples=150, deadline=None)
@given(scenes())
def test_every_address_is_in_exactly_one_cell_and_every_cell_tells_the_truth(
    scene: tuple[IPNetwork, list[Grant], list[Mark], list[Bound], int],
) -> None:
    prefix, grants, marks, bounds, max_cells = scene
    picture = draw(prefix, grants, marks, bounds, max_cells=max_cells)
    assert len(picture.cells) == min(max_cells, prefix.num_addresses)
    seen = Counter(a for c in picture.cells for a in c.net)
    assert set(seen) == set(prefix) and set(seen.values()) == {1}
    assert [c.first for c in picture.cells] == sorted(c.first for c in picture.cells)

    delegated_total = 0
    for c in picture.cells:
        per_address = [holders(a, grants) for a in c.net]
        delegated = sum(1 for h in per_address if h)
        delegated_total += delegated
        assert c.delegated == delegated
        assert c.accounts == tuple(sorted(frozenset[str]().union(*per_address)))
        expected = MIXED if len(set(per_address)) > 1 else DELEGATED if delegated else OWNED
        assert c.state == expected
        assert c.services == tuple(sorted({service(a, bounds) for a in c.net}))
        inside = [m for m in marks if m.ip in c.net]
        assert len(c.found) + c.more == len(inside)
        assert set(c.marks) == {m.kind for m in inside}
    assert picture.delegated == delegated_total == sum(1 for a in prefix if holders(a, grants))
    assert picture.total == sum(c.size for c in picture.cells)
    assert set(picture.accounts) == {g.account_id for g in grants}
