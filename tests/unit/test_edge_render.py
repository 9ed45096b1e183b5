"""The HAProxy maps (prefixgate.edge.render) route as the table answers, and their diffs are safe.

A model of HAProxy's map lookups and of the frontend's steps (tests/unit/haproxy_model.py) runs over
the rendered map files; for random states, origin resolutions and connections it must do what the
table says: a served connection reaches the same object, origin address and port; a refused one is
refused. Applying `haproxy_maps.plan_changes` step by step through the model's runtime API turns the old maps into the
new ones, and no connection meets a third answer on the way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.domain.net import IPAddress
from prefixgate.domain.spectrum import parse_protocol
from prefixgate.edge.haproxy_maps import plan_changes
from prefixgate.edge.render import MAP_NAMES, MapSet, only_adds, render_maps
from prefixgate.edge.state import AppRow, BindingRow, DelegationRow, EdgeState, HostnameRow, PrefixRow, ZoneRow
from prefixgate.edge.table import EdgeTable, Tracked, compile_table, stale_connections
from tests.unit.edge_states import ORIGIN_NAMES, evolved, probe_ips, probe_ips_for, probe_names, spectrum_probe, states
from tests.unit.haproxy_model import Decision, Runtime, frontend

Resolved = Mapping[str, IPAddress | None]
_ADDRESSES = (None, ipaddress.ip_address("192.0.2.50"), ipaddress.ip_address("2001:db8::50"))
resolutions = st.fixed_dictionaries({name: st.sampled_from(_ADDRESSES) for name in ORIGIN_NAMES})
Query = tuple[IPAddress, int, str | None]


def _origin(app: AppRow, port: int, resolved: Resolved) -> tuple[IPAddress | None, int]:
    """Where the app's connection to `port` goes, read from the app independently of the renderer."""
    first = parse_protocol(app.protocol).ports.start
    if app.origin_dns_name:
        assert app.origin_port is not None
        return resolved.get(app.origin_dns_name), int(app.origin_port.split("-")[0]) + port - first
    uri = urlsplit(app.origin_direct[0])
    assert uri.hostname is not None and uri.port is not None
    return ipaddress.ip_address(uri.hostname), uri.port + port - first


def expected(table: EdgeTable, resolved: Resolved, query: Query) -> Decision:
    ip, port, sni = query
    answer = table.spectrum(ip, "tcp", port)
    refusal = answer.reason
    if answer.served:
        assert answer.object_id is not None
        app = table.apps[answer.object_id]
        origin, origin_port = _origin(app, port, resolved)
        if origin is not None:
            proxy = app.proxy_protocol if app.proxy_protocol in ("v1", "v2") else "off"
            return Decision(True, "served", "spectrum", app.id, origin, origin_port, proxy)
        refusal = "origin_unresolved"
    if port not in (80, 443) or sni is None:
        return Decision(False, refusal)
    host = table.hostname(ip, sni)
    if host.reason in ("hostname_not_active", "zone_paused"):
        return Decision(False, host.reason)
    if not host.served:
        return Decision(False, "not_granted")
    origin = resolved.get(host.origin) if host.origin else None
    if origin is None:
        return Decision(False, "origin_unresolved")
    return Decision(True, "served", "hostname", host.object_id, origin, port)


def _queries(state: EdgeState, data: st.DataObject, n: int) -> list[Query]:
    out: list[Query] = []
    names = [None, *probe_names(state)]
    hosts = sorted(state.hostnames.values(), key=lambda h: h.id)
    for _ in range(n):
        if hosts and data.draw(st.booleans()):  # a hostname's request, likely on an address its account has
            host = data.draw(st.sampled_from(hosts))
            ips = probe_ips_for(state, host.account_id) or probe_ips(state)
            port = data.draw(st.sampled_from((80, 443)))
            out.append(
                (
                    data.draw(st.sampled_from(ips)),
                    port,
                    data.draw(st.sampled_from((host.hostname, host.hostname.upper()))),
                )
            )
            continue
        ip, _, port = spectrum_probe(state, data)
        if data.draw(st.booleans()):
            port = data.draw(st.sampled_from((80, 443)))
        out.append((ip, port, data.draw(st.sampled_from(names))))
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), resolutions, st.data())
def test_the_maps_route_as_the_table_answers(state: EdgeState, resolved: Resolved, data: st.DataObject) -> None:
    table = compile_table(state)
    maps = render_maps(table, resolved=resolved)
    rt = Runtime(maps)
    for query in _queries(state, data, 40):
        assert frontend(rt, *query) == expected(table, resolved, query), query
    assert maps.udp_apps == tuple(sorted(a.id for a in state.apps.values() if a.protocol.startswith("udp/")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), resolutions, st.booleans(), st.data())
def test_a_diff_applied_step_by_step_never_gives_a_third_answer(
    old_state: EdgeState, old_resolved: Resolved, keep_numbers: bool, data: st.DataObject
) -> None:
    new_state = data.draw(st.one_of(evolved(old_state), evolved(old_state), states()))
    new_resolved = data.draw(st.one_of(st.just(old_resolved), resolutions))
    old = render_maps(compile_table(old_state), resolved=old_resolved)
    new = render_maps(compile_table(new_state), resolved=new_resolved, previous=old if keep_numbers else None)
    steps = plan_changes(old.as_dict(), new.as_dict())
    candidates = _queries(old_state, data, 40) + _queries(new_state, data, 40)
    before = {q: frontend(Runtime(old), *q) for q in candidates}
    after = {q: frontend(Runtime(new), *q) for q in candidates}
    # the telling ones: served before or after (most random connections are refused both times)
    queries = [q for q in before if before[q].served or after[q].served][:30] + list(before)[:10]
    unchanged_host = {q for q in queries if q[2] is None or _host(old, q[2]) == _host(new, q[2])}
    rt = Runtime(old)
    for step in steps:
        rt.apply(step)
        for q in queries:
            got = frontend(rt, *q)
            if keep_numbers and q in unchanged_host:
                assert got in (before[q], after[q]), (step, q, got)  # not even a gap
            else:
                assert got in (before[q], after[q]) or not got.served, (step, q, got)
    assert rt.as_mapset(new.udp_apps) == new
    for step in steps:  # only what differs is sent, and only as the new maps have it
        assert old.entries(step.name).get(step.key) != new.entries(step.name).get(step.key), step
        assert step.value == new.entries(step.name).get(step.key) or step.op == "del", step


def _host(maps: MapSet, sni: str) -> str | None:
    return maps.hostname.get(sni.lower().removesuffix("."))


@settings(max_examples=100, deadline=None)
@given(states(), resolutions)
def test_rendering_is_deterministic(state: EdgeState, resolved: Resolved) -> None:
    reordered = EdgeState.of(state.revision, reversed([r for k in _KINDS for r in state.table(k).values()]))
    one = render_maps(compile_table(state), resolved=resolved)
    two = render_maps(compile_table(reordered), resolved=dict(reversed(list(resolved.items()))))
    assert [one.file_text(n) for n in MAP_NAMES] == [two.file_text(n) for n in MAP_NAMES]
    assert one == two
    again = render_maps(compile_table(state), resolved=resolved, previous=one)
    assert again == one and plan_changes(one.as_dict(), again.as_dict()) == []


_KINDS = ("prefix", "delegation", "binding", "zone", "app", "hostname", "fallback_origin")


def test_a_cdn_area_cut_in_two_stays_served_while_the_diff_is_applied() -> None:
    """A binds .0/26 of its CDN /24 to Spectrum: the /24 entry gives way to a /26 and a /25, and B's
    hostname stays served on the rest of the /24 at every step."""
    p = PrefixRow("p1", "acct-a", ipaddress.ip_network("203.0.113.0/24"), True)
    rows: list[object] = [
        p,
        ZoneRow("z1", "acct-b", False),
        DelegationRow("d1", p.id, p.cidr, "acct-b"),
        BindingRow("b1", p.id, p.cidr, CDN.id),
        HostnameRow("h1", "z1", "acct-b", "shop.example.net", "origin1.example.net"),
    ]
    resolved = {"origin1.example.net": ipaddress.ip_address("192.0.2.50")}
    old = render_maps(compile_table(EdgeState.of(1, rows)), resolved=resolved)
    override = BindingRow("b2", p.id, ipaddress.ip_network("203.0.113.0/26"), SPECTRUM.id)
    new = render_maps(compile_table(EdgeState.of(2, [*rows, override])), resolved=resolved, previous=old)
    assert dict(old.cdn_ip) == {"203.0.113.0/24": "1"}
    assert dict(new.cdn_ip) == {"203.0.113.64/26": "1", "203.0.113.128/25": "1"}
    rt = Runtime(old)
    for step in plan_changes(old.as_dict(), new.as_dict()):
        rt.apply(step)
        for last in (64, 127, 128, 255):
            got = frontend(rt, ipaddress.ip_address(f"203.0.113.{last}"), 443, "shop.example.net")
            assert (got.served, got.object_id) == (True, "h1"), (step, last)
    assert not frontend(rt, ipaddress.ip_address("203.0.113.5"), 443, "shop.example.net").served


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), resolutions, st.data())
def test_maps_that_only_add_entries_leave_every_served_connection_its_object(
    old_state: EdgeState, resolved: Resolved, data: st.DataObject
) -> None:
    """The agent skips the search for connections to close when the new maps only add entries
    (render.only_adds): then every connection the old table served keeps its object in the new one."""
    new_state = data.draw(st.one_of(evolved(old_state), evolved(old_state)))
    old_table, new_table = compile_table(old_state), compile_table(new_state)
    old = render_maps(old_table, resolved=resolved)
    new = render_maps(new_table, resolved=resolved, previous=old)
    assert only_adds(old, old) and only_adds(old, new) == all(
        new.entries(n).get(k) == v for n in MAP_NAMES for k, v in old.entries(n).items()
    )
    tracked = []
    for ip, port, sni in _queries(old_state, data, 60):
        answer = old_table.hostname(ip, sni) if sni is not None and port in (80, 443) else None
        if answer is None or not answer.served:
            answer, sni = old_table.spectrum(ip, "tcp", port), None
        if answer.served and answer.object_id is not None:
            tracked.append(Tracked(ip, port, answer.object_id, sni))
    if only_adds(old, new):
        assert stale_connections(new_table, tracked) == ()
