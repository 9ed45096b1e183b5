"""The agent (prefixgate.edge.agent) without HAProxy or a control plane: which tracked connections to
close (the table's answer for each, looked up once per destination, object and hostname however many
connections share them), and saving the state off the feed loop (one save at a time, spaced by how long
saves take, the last one made by stop). The data plane, feed, names and store are stand-ins that record
what the agent asks of them: none of them is what is under test."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import cast

from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.domain.net import IPAddress
from prefixgate.edge.agent import AgentOptions, EdgeAgent, MapSet, _served_by
from prefixgate.edge.feed_client import FeedClient
from prefixgate.edge.state import BindingRow, DelegationRow, EdgeState, HostnameRow
from prefixgate.edge.store import StateStore
from prefixgate.edge.table import Answer, EdgeTable, Tracked, compile_table, stale_connections
from tests.unit.test_edge_table import OTHER, P, Z, _app

ip = ipaddress.ip_address


class CountingTable:
    """The real table, counting the lookups made through it."""

    def __init__(self, table: EdgeTable) -> None:
        self.table = table
        self.lookups = 0

    def spectrum(self, address: IPAddress | str, transport: str, port: int) -> Answer:
        self.lookups += 1
        return self.table.spectrum(address, transport, port)

    def hostname(self, address: IPAddress | str, name: str) -> Answer:
        self.lookups += 1
        return self.table.hostname(address, name)


def test_each_destination_is_decided_once_and_as_the_table_answers() -> None:
    rows = [
        P,
        Z,
        HostnameRow("h1", Z.id, OTHER, "shop.example.net", None),
        _app("app1", "tcp/22", "active", 0, "203.0.113.5"),
        DelegationRow("d1", P.id, ipaddress.ip_network("203.0.113.0/25"), OTHER),
        BindingRow("b1", P.id, P.cidr, SPECTRUM.id),
        BindingRow("b2", P.id, ipaddress.ip_network("203.0.113.64/26"), CDN.id),
    ]
    table = compile_table(EdgeState.of(1, rows))
    distinct = [
        Tracked(ip("203.0.113.5"), 22, "app1", None),
        Tracked(ip("203.0.113.70"), 443, "h1", "shop.example.net"),
        Tracked(ip("203.0.113.5"), 23, "app1", None),
        Tracked(ip("203.0.113.5"), 22, "app0", None),
        Tracked(ip("203.0.113.200"), 443, "h1", "shop.example.net"),
    ]
    counting = CountingTable(table)
    still_served = _served_by(cast(EdgeTable, counting))
    connections = distinct * 50  # many client sockets to each destination
    decided = [still_served(t) for t in connections]
    assert decided == [not stale_connections(table, (t,)) for t in connections]
    assert decided[:5] == [True, True, False, False, False]
    assert counting.lookups == len(distinct)


class QuietPlane:
    """A data plane that accepts every change and serves nothing."""

    restarts = 0
    running = False

    def start(self, maps: MapSet, reprogram: Callable[[], None]) -> None: ...

    def load(self, maps: MapSet) -> None: ...

    def program(self, old: MapSet, new: MapSet, keys: Mapping[str, Collection[str]] | None = None) -> None: ...

    def close_unserved(self, still_served: Callable[[Tracked], bool]) -> int:
        return 0

    def outcomes(self) -> Mapping[str, int]:
        return {}

    def stop(self) -> None: ...

    def detach(self) -> None: ...


class NoNames:
    def resolve(self, names: Iterable[str]) -> tuple[Mapping[str, IPAddress | None], bool]:
        return {}, False


class SilentFeed:
    def report(self, node: str, revision: int) -> None: ...


class SlowStore:
    """Takes `seconds` per save, and records which revisions it saved and how many saves overlapped."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.saved: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def save(self, state: EdgeState) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.seconds)
        with self._lock:
            self.in_flight -= 1
            self.saved.append(state.revision)


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _agent(store: SlowStore) -> EdgeAgent:
    """An agent saving into `store` as often as it may (save_every_s 0), never started: the tests call
    its install step directly, as its feed loop would."""
    options = AgentOptions(node="test", save_every_s=0.0)
    return EdgeAgent(options, cast(FeedClient, SilentFeed()), QuietPlane(), cast(StateStore, store), NoNames())


def test_the_state_is_saved_in_the_background_one_save_at_a_time_and_stop_saves_the_last() -> None:
    store = SlowStore(seconds=0.5)
    agent = _agent(store)
    start = time.monotonic()
    agent._install(EdgeState(1), snapshot=True)
    assert time.monotonic() - start < store.seconds  # the install did not wait for its save
    assert _wait_for(lambda: store.saved == [1], timeout=5)
    for revision in (2, 3, 4):  # within 5 x 0.5 s of the last save: nothing is saved yet
        agent._install(EdgeState(revision), snapshot=False)
    time.sleep(0.2)
    assert store.saved == [1] and store.in_flight == 0
    agent.stop()  # saves the newest state before it returns
    assert store.saved == [1, 4] and store.most_in_flight == 1


def test_a_save_in_flight_is_waited_for_then_the_newest_state_saved() -> None:
    store = SlowStore(seconds=0.5)
    agent = _agent(store)
    agent._install(EdgeState(1), snapshot=True)
    assert _wait_for(lambda: store.in_flight == 1, timeout=5)
    agent._install(EdgeState(2), snapshot=False)  # while revision 1 is being saved
    agent.stop()
    assert store.saved == [1, 2] and store.most_in_flight == 1
