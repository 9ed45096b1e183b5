"""The compiled table (prefixgate.edge.table) answers as `resolve` does, on random control-plane states.

The reference (tests/unit/edge_states.py) applies the domain's own decision functions to the same state;
the compiler's bisected interval indexes must agree with it on every probe, inside and outside the
prefixes and on the edges of every range.
"""

from __future__ import annotations

import ast
import ipaddress
import random
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import prefixgate.edge
from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.edge.intervals import Segments, cidr_cover, laminar_flatten, merge, sweep_sets
from prefixgate.edge.state import AppRow, BindingRow, DelegationRow, EdgeState, HostnameRow, PrefixRow, ZoneRow
from prefixgate.edge.table import Answer, Tracked, compile_table, stale_connections
from tests.unit.edge_states import (
    BASE_TIME,
    app_at,
    probe_names,
    probe_ports,
    probes,
    record,
    reference_hostname,
    reference_spectrum,
    spectrum_probe,
    states,
)

ip = ipaddress.ip_address
net = ipaddress.ip_network


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.data())
def test_spectrum_answers_are_resolves(state: EdgeState, data: st.DataObject) -> None:
    table = compile_table(state)
    for _ in range(40):
        address, transport, port = spectrum_probe(state, data)
        expected = reference_spectrum(state, address, transport, port)
        assert record(table.spectrum(address, transport, port)) == expected, (address, transport, port)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.data())
def test_hostname_answers_are_resolves(state: EdgeState, data: st.DataObject) -> None:
    table = compile_table(state)
    names = probe_names(state)
    for _ in range(40):
        address = probes(state, data)
        sni = data.draw(st.sampled_from(names))
        assert record(table.hostname(address, sni)) == reference_hostname(state, address, sni), (address, sni)


@settings(max_examples=100, deadline=None)
@given(states())
def test_every_edge_ip_and_port_of_every_app_agrees(state: EdgeState) -> None:
    """Exhaustive over the apps' own addresses and range ends (where claims meet)."""
    table = compile_table(state)
    for address in {a for app in state.apps.values() for a in app.edge_ips}:
        for transport in ("tcp", "udp"):
            for port in probe_ports(state):
                expected = reference_spectrum(state, address, transport, port)
                assert record(table.spectrum(address, transport, port)) == expected


@settings(max_examples=100, deadline=None)
@given(states())
def test_compiling_is_deterministic(state: EdgeState) -> None:
    reordered = EdgeState.of(state.revision, reversed([*_rows(state)]))
    assert compile_table(state) == compile_table(reordered)


def _rows(state: EdgeState) -> list[object]:
    return [
        row
        for kind in ("prefix", "delegation", "binding", "zone", "app", "hostname", "fallback_origin")
        for row in state.table(kind).values()
    ]


ACCT, OTHER = "acct-a", "acct-b"
P = PrefixRow("p1", ACCT, net("203.0.113.0/24"), True)
Z = ZoneRow("z1", OTHER, False)


def _app(app_id: str, protocol: str, status: str, minutes: int, *ips: str) -> AppRow:
    return AppRow(
        app_id,
        Z.id,
        OTHER,
        protocol,
        tuple(ip(a) for a in ips),
        ("tcp://192.0.2.1:22",),
        None,
        None,
        "off",
        "direct",
        status,
        BASE_TIME + timedelta(minutes=minutes),
    )


def test_the_active_claim_wins_then_the_newest_then_the_greater_id() -> None:
    rows = [
        P,
        Z,
        DelegationRow("d1", P.id, net("203.0.113.0/25"), OTHER),
        BindingRow("b1", P.id, P.cidr, SPECTRUM.id),
        _app("a-old-active", "tcp/1000-1010", "active", 0, "203.0.113.5"),
        _app("a-new-blocked", "tcp/1005-1020", "blocked", 9, "203.0.113.5"),
        _app("a-tie-1", "tcp/2000", "blocked", 3, "203.0.113.5"),
        _app("a-tie-2", "tcp/2000", "blocked", 3, "203.0.113.5"),
    ]
    table = compile_table(EdgeState.of(1, rows))
    at = ip("203.0.113.5")
    assert table.spectrum(at, "tcp", 1005).object_id == "a-old-active"
    assert table.spectrum(at, "tcp", 1005).served
    assert table.spectrum(at, "tcp", 1011) == replace(table.spectrum(at, "tcp", 1020), reason="app_blocked")
    assert table.spectrum(at, "tcp", 1011).object_id == "a-new-blocked"
    assert table.spectrum(at, "tcp", 1021).reason == "no_app"
    assert table.spectrum(at, "udp", 1005).reason == "no_app"
    assert table.spectrum(at, "tcp", 2000).object_id == "a-tie-2"
    assert [(c.start, c.end, c.app_id) for c in table.claims[(at, "tcp")]] == [
        (1000, 1010, "a-old-active"),
        (1011, 1020, "a-new-blocked"),
        (2000, 2000, "a-tie-2"),
    ]


def test_sni_is_read_as_resolve_reads_it() -> None:
    host = HostnameRow("h1", Z.id, OTHER, "shop.example.net", None)
    rows = [P, Z, host, DelegationRow("d1", P.id, P.cidr, OTHER), BindingRow("b1", P.id, P.cidr, CDN.id)]
    table = compile_table(EdgeState.of(1, rows))
    at = ip("203.0.113.9")
    for sni in ("shop.example.net", "SHOP.Example.Net", "shop.example.net."):
        answer = table.hostname(at, sni)
        assert (answer.served, answer.object_id, answer.origin) == (True, "h1", None), sni
    for sni in ("shop.example.net..", "shop", "", "shop .example.net", "bücher.example"):
        assert table.hostname(at, sni) == Answer(False, "hostname_not_active", "custom_hostname"), sni


def test_a_v6_prefix_delegated_in_pieces_is_never_enumerated() -> None:
    """A /32 of IPv6 (2**96 addresses) delegated as two halves and bound to CDN with a /128 override:
    compiling costs what a handful of ranges cost."""
    v6 = PrefixRow("p6", ACCT, net("2001:db8::/32"), True)
    host = HostnameRow("h1", Z.id, OTHER, "shop.example.net", "origin.example.net")
    rows = [
        v6,
        Z,
        host,
        DelegationRow("d1", v6.id, net("2001:db8::/33"), OTHER),
        DelegationRow("d2", v6.id, net("2001:db8:8000::/33"), OTHER),
        BindingRow("b1", v6.id, v6.cidr, CDN.id),
        BindingRow("b2", v6.id, net("2001:db8::1/128"), SPECTRUM.id),
    ]
    table = compile_table(EdgeState.of(1, rows))
    assert table.hostname("2001:db8:ffff:ffff::1", "shop.example.net").served
    assert table.hostname("2001:db8::1", "shop.example.net").reason == "wrong_service"
    assert table.hostname("2001:db9::", "shop.example.net").reason == "ip_not_usable"
    assert [(a.start, a.end, a.account_ids) for a in table.cdn_areas] == [
        (int(ip("2001:db8::")), int(ip("2001:db8::")), (OTHER,)),
        (int(ip("2001:db8::2")), int(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")), (OTHER,)),
    ]
    assert table.origin_names == ("origin.example.net",)


def test_stale_connections_are_those_no_longer_served_by_their_object() -> None:
    host = HostnameRow("h1", Z.id, OTHER, "shop.example.net", None)
    rows = [
        P,
        Z,
        host,
        _app("app1", "tcp/22", "active", 0, "203.0.113.5"),
        DelegationRow("d1", P.id, net("203.0.113.0/25"), OTHER),
        BindingRow("b1", P.id, P.cidr, SPECTRUM.id),
        BindingRow("b2", P.id, net("203.0.113.64/26"), CDN.id),
    ]
    table = compile_table(EdgeState.of(1, rows))
    keep = [Tracked(ip("203.0.113.5"), 22, "app1", None), Tracked(ip("203.0.113.70"), 443, "h1", "shop.example.net")]
    close = [
        Tracked(ip("203.0.113.5"), 23, "app1", None),  # no app there
        Tracked(ip("203.0.113.5"), 22, "app0", None),  # another object serves it now
        Tracked(ip("203.0.113.200"), 443, "h1", "shop.example.net"),  # not delegated
        Tracked(ip("203.0.113.5"), 443, "h1", "shop.example.net"),  # bound to Spectrum
    ]
    assert stale_connections(table, keep + close) == tuple(close)


# ---- interval helpers ------------------------------------------------------------------------------


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**16))
def test_the_cidr_cover_is_ipaddress_summary(start: int, span: int) -> None:
    end = min(start + span, 2**32 - 1)
    got = [f"{ipaddress.IPv4Address(n)}/{length}" for n, length in cidr_cover(start, end, 32)]
    want = ipaddress.summarize_address_range(ipaddress.IPv4Address(start), ipaddress.IPv4Address(end))
    assert got == [str(n) for n in want]


@given(st.integers(0, 2**128 - 1), st.integers(0, 2**100))
def test_the_v6_cidr_cover_is_ipaddress_summary(start: int, span: int) -> None:
    end = min(start + span, 2**128 - 1)
    got = [f"{ipaddress.IPv6Address(n)}/{length}" for n, length in cidr_cover(start, end, 128)]
    want = ipaddress.summarize_address_range(ipaddress.IPv6Address(start), ipaddress.IPv6Address(end))
    assert got == [str(n) for n in want]


@st.composite
def _blocks(draw: st.DrawFn) -> tuple[int, int, int]:
    """A CIDR of an 8-bit address space, with a value."""
    size = 1 << draw(st.integers(0, 8))
    start = draw(st.integers(0, 255)) // size * size
    return start, start + size - 1, draw(st.integers(0, 3))


@given(st.lists(_blocks(), max_size=12))
def test_flattening_gives_each_point_its_longest_match(ranges: list[tuple[int, int, int]]) -> None:
    flat = Segments(laminar_flatten(ranges))
    for x in range(256):
        holding = [(e - s, -i, v) for i, (s, e, v) in enumerate(ranges) if s <= x <= e]
        assert flat.at(x) == (min(holding)[2] if holding else None)  # the smallest; of equals, the later


@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 5)), max_size=10),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 5)), max_size=10),
)
def test_sweeping_gives_each_point_the_groups_holding_it(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    groups = {"a": merge((s, s + w) for s, w in a), "b": merge((s, s + w) for s, w in b)}
    pieces = Segments(sweep_sets(sorted(groups.items())))
    for x in range(70):
        present = tuple(k for k, iv in sorted(groups.items()) if any(s <= x <= e for s, e in iv))
        assert pieces.at(x) == (present or None)
    for (_, e1, v1), (s2, _, v2) in zip(pieces.items(), list(pieces.items())[1:], strict=False):
        assert not (e1 + 1 == s2 and v1 == v2), "adjacent equal pieces are joined"


def test_the_compiler_imports_only_the_stdlib_and_the_domain() -> None:
    root = Path(prefixgate.edge.__file__).parent
    allowed_local = {"intervals", "state", "table", "render", "cdn", "map_names", "pieces"}
    for name in ("intervals", "cdn", "pieces", "table", "render", "map_names"):
        tree = ast.parse((root / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                module = node.module or ""
                assert (module.startswith("domain") and node.level == 2) or (
                    node.level == 1 and module in allowed_local
                ), (name, module)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                top = (node.names[0].name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (name, top)


@pytest.mark.parametrize("query", [("203.0.113.5", "tcp", 22), ("2001:db8::1", "udp", 53)])
def test_an_empty_state_serves_nothing(query: tuple[str, str, int]) -> None:
    table = compile_table(EdgeState())
    assert table.spectrum(*query) == Answer(False, "no_app")
    assert table.hostname(query[0], "shop.example.net") == Answer(False, "hostname_not_active", "custom_hostname")


def test_many_overlapping_claims_on_one_address_pick_what_app_at_picks() -> None:
    rnd = random.Random(7)
    rows: list[object] = [P, Z, BindingRow("b1", P.id, P.cidr, SPECTRUM.id), DelegationRow("d1", P.id, P.cidr, OTHER)]
    times = rnd.sample(range(10**6), 300)  # distinct: the database orders equal times arbitrarily
    for i in range(300):
        lo = rnd.randint(1, 1900)
        protocol = f"tcp/{lo}-{lo + rnd.randint(0, 99)}" if rnd.random() < 0.5 else f"tcp/{lo}"
        rows.append(_app(f"app{i:03d}", protocol, rnd.choice(("active", "blocked")), times[i], "203.0.113.5"))
    state = EdgeState.of(1, rows)  # type: ignore[arg-type]
    table = compile_table(state)
    at = ip("203.0.113.5")
    for port in range(1, 2001):
        want = app_at(state, at, "tcp", port)
        assert table.spectrum(at, "tcp", port).object_id == (want.id if want else None), port
