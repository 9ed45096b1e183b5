"""`update_table` (the table brought forward over a change) equals `compile_table` of the new state.

On random states and random changes (rows of any kind dropped, edited or added, as the feed brings
them), the updated table must hold the same claims, hostname entries, CDN areas, pieces and names as a
table compiled from scratch, and answer every probe as `resolve` does. A second property runs many
changes in a row, since an update builds on an update.
"""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefixgate.edge.state import KINDS, Change, EdgeState, apply_changes_touched
from prefixgate.edge.table import EdgeTable, compile_table, update_table
from tests.unit.edge_states import (
    evolved,
    probe_names,
    probes,
    record,
    reference_hostname,
    reference_spectrum,
    spectrum_probe,
    states,
)


def touched_between(old: EdgeState, new: EdgeState) -> dict[str, set[str]]:
    """Every id whose row differs, by kind: the definition `apply_changes_touched` must cover."""
    out: dict[str, set[str]] = {}
    for kind in KINDS:
        before, after = old.table(kind), new.table(kind)
        out[kind] = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    return out


def assert_same(updated: EdgeTable, fresh: EdgeTable) -> None:
    assert dict(updated.claims) == dict(fresh.claims)
    assert dict(updated.hostnames) == dict(fresh.hostnames)
    assert list(updated.cdn_areas) == list(fresh.cdn_areas)
    assert dict(updated.usability.pieces) == dict(fresh.usability.pieces)
    assert dict(updated.usability.prefixes) == dict(fresh.usability.prefixes)
    assert updated.udp_apps == fresh.udp_apps
    assert updated.origin_names == fresh.origin_names
    assert updated == fresh, "and the bookkeeping the next update starts from"


def assert_answers_resolves(table: EdgeTable, state: EdgeState, data: st.DataObject) -> None:
    for _ in range(15):
        address, transport, port = spectrum_probe(state, data)
        assert record(table.spectrum(address, transport, port)) == reference_spectrum(state, address, transport, port)
    names = probe_names(state)
    for _ in range(15):
        address = probes(state, data)
        sni = data.draw(st.sampled_from(names))
        assert record(table.hostname(address, sni)) == reference_hostname(state, address, sni)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.data())
def test_an_updated_table_is_the_compiled_one(old_state: EdgeState, data: st.DataObject) -> None:
    new_state = data.draw(evolved(old_state))
    updated, delta = update_table(compile_table(old_state), new_state, touched_between(old_state, new_state))
    assert_same(updated, compile_table(new_state))
    assert_answers_resolves(updated, new_state, data)
    changed = {
        k for k in old_state.apps.keys() | new_state.apps.keys() if old_state.apps.get(k) != new_state.apps.get(k)
    }
    for app_id in changed:
        for row in (old_state.apps.get(app_id), new_state.apps.get(app_id)):
            if row is not None:
                transport = row.protocol.partition("/")[0]
                assert {(ip, transport) for ip in row.edge_ips} <= delta.claims, "a changed app's claims are redone"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.data())
def test_updates_in_a_row_stay_the_compiled_table(state: EdgeState, data: st.DataObject) -> None:
    table = compile_table(state)
    for _ in range(data.draw(st.integers(2, 6))):
        new_state = data.draw(evolved(state))
        table, _ = update_table(table, new_state, touched_between(state, new_state))
        state = new_state
    assert_same(table, compile_table(state))
    assert_answers_resolves(table, state, data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.data())
def test_what_apply_changes_reports_is_enough_to_update(state: EdgeState, data: st.DataObject) -> None:
    """The feed's changes, removals of prefixes and zones included (their children go with them), give
    `update_table` every id it needs."""
    changes: list[Change] = []
    for kind in ("prefix", "zone", "delegation", "app", "hostname"):
        ids = sorted(state.table(kind))
        if ids and data.draw(st.booleans()):
            changes.append(Change(state.revision + 1, kind, data.draw(st.sampled_from(ids)), None))
    new_state, touched = apply_changes_touched(state, state.revision + 1, changes)
    expected = touched_between(state, new_state)
    assert all(expected[k] <= touched[k] for k in KINDS)
    updated, _ = update_table(compile_table(state), new_state, touched)
    assert_same(updated, compile_table(new_state))


def test_a_revocation_rebuilds_only_its_prefix() -> None:
    """Two prefixes, one delegation revoked in the first: the second prefix's piece is the same object."""
    from prefixgate.domain.bindings import SPECTRUM
    from prefixgate.edge.state import AppRow, BindingRow, DelegationRow, PrefixRow, ZoneRow
    from tests.unit.edge_states import BASE_TIME

    net = ipaddress.ip_network
    p1, p2 = PrefixRow("p1", "acct-a", net("1.2.3.0/24"), True), PrefixRow("p2", "acct-a", net("198.51.100.0/24"), True)
    rows = [
        p1,
        p2,
        BindingRow("b1", "p1", p1.cidr, SPECTRUM.id),
        BindingRow("b2", "p2", p2.cidr, SPECTRUM.id),
        DelegationRow("d1", "p1", net("1.2.3.4/32"), "acct-b"),
        DelegationRow("d2", "p2", net("198.51.100.4/32"), "acct-b"),
        ZoneRow("z", "acct-b", False),
        *(
            AppRow(
                f"app{i}",
                "z",
                "acct-b",
                "tcp/22",
                (ipaddress.ip_address(ip),),
                ("tcp://192.0.2.1:22",),
                None,
                None,
                "off",
                "direct",
                "active",
                BASE_TIME,
            )
            for i, ip in enumerate(("1.2.3.4", "198.51.100.4"))
        ),
    ]
    state = EdgeState.of(1, rows)
    table = compile_table(state)
    assert table.spectrum("1.2.3.4", "tcp", 22).served
    new_state, touched = apply_changes_touched(state, 2, [Change(2, "delegation", "d1", None)])
    updated, delta = update_table(table, new_state, touched)
    assert updated.spectrum("1.2.3.4", "tcp", 22).reason == "ip_not_usable"
    assert updated.spectrum("198.51.100.4", "tcp", 22).served
    assert updated.usability.pieces["p2"] is table.usability.pieces["p2"]
    assert delta.claims == {(ipaddress.ip_address("1.2.3.4"), "tcp")}
    assert delta.cdn == {"p1"}
