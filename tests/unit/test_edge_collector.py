"""Reading a whole state with the cyclic collector paused (edge/collector.py), as StateStore.load does."""

from __future__ import annotations

import gc
import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from prefixgate.edge.collector import building_long_lived
from prefixgate.edge.state import DelegationRow, EdgeState, PrefixRow, decode_snapshot
from prefixgate.edge.store import StateStore

P = "p" * 32


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every collection that starts while the test runs; the frozen objects are
    handed back to the collector afterwards."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    yield seen
    gc.callbacks.remove(note)
    gc.unfreeze()


def _big_state() -> EdgeState:
    net = ipaddress.ip_network("2001:db8::/32")
    rows = [PrefixRow(P, "o" * 32, net, True)]
    rows += [DelegationRow(f"{i:032x}", P, ipaddress.ip_network((net[i], 128)), "b" * 32) for i in range(5000)]
    return EdgeState.of(7, rows)


def test_the_collector_is_off_inside_and_as_it_was_after() -> None:
    assert gc.isenabled()
    with building_long_lived():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with building_long_lived():
            pass
        assert not gc.isenabled()  # left off, as it was found
    finally:
        gc.enable()
        gc.unfreeze()


def test_what_was_built_is_frozen_so_no_later_collection_walks_it(collections: list[int]) -> None:
    before = gc.get_freeze_count()
    with building_long_lived():
        built = [[i] for i in range(1000)]
    assert gc.get_freeze_count() >= before + len(built)


def test_reading_a_saved_state_runs_no_collection(tmp_path: Path, collections: list[int]) -> None:
    state = _big_state()
    store = StateStore(tmp_path)
    store.save(state)
    text = store.path.read_text()
    collections.clear()
    assert decode_snapshot(json.loads(text)) == state  # without the pause: the test could fail
    assert collections, "a read this big should trigger collections when the collector is on"
    collections.clear()
    assert store.load() == state
    assert collections == []
