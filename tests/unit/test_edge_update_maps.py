"""`update_maps` (the maps brought forward over a change) route as the new table answers.

For random states and random changes, the maps made from the old maps with `update_table`'s delta must
route every probe through the HAProxy model (tests/unit/haproxy_model.py) as the new table says, report
exactly the entries that differ (so planning over only those keys gives the whole plan), and never give
a slot or block number a second meaning.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefixgate.edge.haproxy_maps import plan_changes
from prefixgate.edge.render import MAP_NAMES, MapSet, adds_only, only_adds, render_maps, update_maps
from prefixgate.edge.state import EdgeState
from prefixgate.edge.table import compile_table, update_table
from tests.unit.edge_states import evolved, states
from tests.unit.haproxy_model import Runtime, frontend
from tests.unit.test_edge_render import Resolved, _queries, expected, resolutions
from tests.unit.test_edge_update import touched_between


def _slots(maps: MapSet) -> dict[str, str]:
    return {slot: ip for ip, slot in maps.spectrum_ip.items()}


def _blocks(maps: MapSet) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for key in maps.cdn_grant:
        block, _, account = key.partition("|")
        out[block].add(account)
    return out


def _check_step(old: MapSet, new: MapSet, changes: dict[str, dict[str, str | None]]) -> None:
    for name in MAP_NAMES:
        before, after = old.entries(name), new.entries(name)
        expected_changes = {k: after.get(k) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert changes.get(name, {}) == expected_changes, name
    assert adds_only(old, changes) == only_adds(old, new)
    keys = {name: entries.keys() for name, entries in changes.items()}
    assert plan_changes(old.as_dict(), new.as_dict(), keys) == plan_changes(old.as_dict(), new.as_dict())
    old_slots, new_slots = _slots(old), _slots(new)
    assert all(old_slots[n] == new_slots[n] for n in old_slots.keys() & new_slots.keys()), "a slot changed meaning"
    old_blocks, new_blocks = _blocks(old), _blocks(new)
    assert all(old_blocks[n] == new_blocks[n] for n in old_blocks.keys() & new_blocks.keys()), "a block changed"
    assert set(new.cdn_ip.values()) <= set(new_blocks), "every CDN block has its grants"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), resolutions, st.data())
def test_updated_maps_route_as_the_new_table(old_state: EdgeState, resolved: Resolved, data: st.DataObject) -> None:
    old_table = compile_table(old_state)
    old = render_maps(old_table, resolved=resolved)
    state, table, maps = old_state, old_table, old
    for _ in range(data.draw(st.integers(1, 4))):
        new_state = data.draw(evolved(state))
        new_table, delta = update_table(table, new_state, touched_between(state, new_state))
        new, changes = update_maps(maps, table, new_table, delta, resolved=resolved)
        _check_step(maps, new, changes)
        state, table, maps = new_state, new_table, new
    rt = Runtime(maps)
    for query in _queries(state, data, 40):
        assert frontend(rt, *query) == expected(table, resolved, query), query
    assert maps.udp_apps == tuple(sorted(a.id for a in state.apps.values() if a.protocol.startswith("udp/")))
    again = render_maps(table, resolved=resolved, previous=maps)
    for name in MAP_NAMES:  # a full render keeps the numbers the updates gave: the same entries
        assert dict(again.entries(name)) == dict(maps.entries(name)), name


def test_maps_without_a_book_are_rendered_whole() -> None:
    state = EdgeState()
    table = compile_table(state)
    plain = MapSet.of({})
    new, changes = update_maps(plain, table, table, update_table(table, state, {})[1], resolved={})
    assert new == render_maps(table, resolved={}) and changes == {}
